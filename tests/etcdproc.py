"""Starts a throwaway etcd (Debian's etcd-server) on loopback for tests.

Each instance gets free client and peer ports and its own data directory, so tests that
need a fresh revision counter (the store contract suite) can each have their own.
:class:`EtcdCluster` starts several members that form one cluster, for fault tests that
SIGKILL a member and restart it on the same ports and data directory. With ``tls``
(:class:`EtcdTLS`) clients must speak TLS and present a certificate signed by its CA;
health is then read from a plain-HTTP metrics listener.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from serverproc import free_port

QUOTA_BYTES = 256 * 1024 * 1024


@dataclass
class EtcdTLS:
    """etcd's serving certificate and the CA its clients' certificates must chain to."""

    cert_file: Path
    key_file: Path
    trusted_ca_file: Path


@dataclass
class EtcdProcess:
    data_dir: Path
    client_port: int = 0
    peer_port: int = 0
    proc: subprocess.Popen | None = None
    name: str = "default"
    initial_cluster: str = ""  # NAME=PEER_URL,... of every member (default: this one alone)
    tls: EtcdTLS | None = None
    metrics_port: int = 0

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.endpoint}"

    def start(self, timeout: float = 20.0) -> "EtcdProcess":
        self.launch()
        self.wait_healthy(timeout)
        return self

    def launch(self) -> None:
        """Starts the process (a member of a cluster is healthy only once a quorum runs)."""
        self.client_port = self.client_port or free_port()
        self.peer_port = self.peer_port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        peer = self.peer_url
        secure = []
        if self.tls:
            self.metrics_port = self.metrics_port or free_port()
            secure = ["--cert-file", str(self.tls.cert_file), "--key-file", str(self.tls.key_file),
                      "--client-cert-auth", "--trusted-ca-file", str(self.tls.trusted_ca_file),
                      "--listen-metrics-urls", f"http://127.0.0.1:{self.metrics_port}"]
        log = open(self.data_dir.parent / f"{self.data_dir.name}-etcd.log", "ab")
        self.proc = subprocess.Popen(
            ["etcd", "--name", self.name, "--data-dir", str(self.data_dir),
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", self.initial_cluster or f"{self.name}={peer}",
             "--initial-cluster-state", "new",
             "--quota-backend-bytes", str(QUOTA_BYTES), "--heartbeat-interval", "20",
             "--election-timeout", "200", "--snapshot-count", "10000", *secure],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_healthy(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"etcd exited early (code {self.proc.returncode})")
            if self._healthy():
                return
            time.sleep(0.02)
        raise RuntimeError("etcd did not become healthy")

    def _healthy(self) -> bool:
        try:
            port = self.metrics_port if self.tls else self.client_port
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /health HTTP/1.0\r\n\r\n")
                return b'"health":"true"' in s.recv(4096)
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash: the data directory stays for a restart."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@dataclass
class EtcdCluster:
    """``size`` members on loopback ports forming one etcd cluster."""

    base_dir: Path
    size: int = 3
    members: list[EtcdProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Every member's client URL, comma-separated (what --etcd-servers takes)."""
        return ",".join(m.url for m in self.members)

    def start(self, timeout: float = 30.0) -> EtcdCluster:
        self.members = [EtcdProcess(self.base_dir / f"m{i}", free_port(), free_port(),
                                    name=f"m{i}") for i in range(self.size)]
        initial = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        for member in self.members:
            member.initial_cluster = initial
            member.launch()
        for member in self.members:
            member.wait_healthy(timeout)
        return self

    def stop(self) -> None:
        for member in self.members:
            member.stop()
