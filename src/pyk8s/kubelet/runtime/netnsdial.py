"""TCP connections from inside a pod's network namespace: how port-forward reaches a pod.

Upstream, ``kubectl port-forward`` ends in CRI's PortForward, where containerd dials
``localhost:PORT`` inside the sandbox's network namespace, so a server a pod binds to its
own loopback is reachable too, and nothing depends on routes to the pod's IP. The kubelet
does the same dial itself: a thread of its own joins the namespace of the sandbox's
process (``/proc/PID/ns/net``, with ``setns(2)``), connects, and returns to the kubelet's
namespace; a socket stays in the namespace it was made in. Every dial gets a new thread
(never one from a pool), so a thread that could not switch back dies with its dial.
The bytes then flow through the kubelet's own event loop, as for any socket.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000
DIAL_TIMEOUT = 10.0


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _connect_inside(netns: str, port: int) -> socket.socket:
    """In the calling thread: ``localhost:port`` (IPv4, then IPv6) inside ``netns``."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    target = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
        try:
            errors = []
            for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.settimeout(DIAL_TIMEOUT)
                try:
                    sock.connect((host, port))
                except OSError as err:
                    sock.close()
                    errors.append(err)
                    continue
                sock.settimeout(None)
                return sock
            raise ConnectionError(f"failed to connect to localhost:{port} inside namespace "
                                  f"{netns}, IPv4: {errors[0]} IPv6 {errors[1]}")
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


async def dial(netns: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to ``localhost:port`` in the network namespace ``netns`` (a path such
    as ``/proc/PID/ns/net``); ConnectionError when nothing answers there."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[socket.socket] = loop.create_future()

    def deliver(result: socket.socket | None, error: BaseException | None) -> None:
        if done.cancelled():
            if result is not None:
                result.close()
        elif error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    def work() -> None:
        try:
            sock = _connect_inside(netns, port)
        except OSError as err:  # ConnectionError included
            if not isinstance(err, ConnectionError):
                err = ConnectionError(f"port-forward to {netns}: {err}")
            loop.call_soon_threadsafe(deliver, None, err)
        else:
            loop.call_soon_threadsafe(deliver, sock, None)

    threading.Thread(target=work, name=f"dial localhost:{port}", daemon=True).start()
    return await asyncio.open_connection(sock=await done)
