"""Port-forward's dial into a network namespace, against a namespace this test makes.

A fresh namespace (only its loopback up) stands for a pod's: a Python echo server runs in
it on 127.0.0.1 through ``nsenter --net``; the dial reaches it, a closed port fails with
containerd's wording, and the test's thread never leaves its namespace. The namespace is
deleted afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys

import pytest

from pyk8s.kubelet.runtime import netnsdial

ECHO = """
import socket, sys
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
print(server.getsockname()[1], flush=True)
while True:
    conn, _ = server.accept()
    while data := conn.recv(4096):
        conn.sendall(data)
    conn.close()
"""


@pytest.fixture
def netns():
    name = f"pyk8s-dial-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True,
                       capture_output=True)
        yield f"/run/netns/{name}"
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


@pytest.fixture
def echo_port(netns):
    proc = subprocess.Popen(["nsenter", f"--net={netns}", sys.executable, "-c", ECHO],
                            stdout=subprocess.PIPE, text=True)
    try:
        yield int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()


async def test_dial_reaches_the_namespace_loopback(netns, echo_port):
    own = os.readlink("/proc/thread-self/ns/net")
    reader, writer = await netnsdial.dial(netns, echo_port)
    try:
        writer.write(b"through the namespace\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.readline(), 10) == b"through the namespace\n"
    finally:
        writer.close()
        await writer.wait_closed()
    assert os.readlink("/proc/thread-self/ns/net") == own


async def test_closed_port_is_a_connection_error(netns, echo_port):
    with pytest.raises(ConnectionError, match=f"failed to connect to localhost:{echo_port + 1} "
                                              f"inside namespace {netns}, IPv4: .*refused"):
        await netnsdial.dial(netns, echo_port + 1)
