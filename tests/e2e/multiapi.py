"""Helpers for tests that run several ``pyk8s apiserver`` processes on one etcd.

Every server after the first gets a copy of the first one's ``pki/`` (one CA, one admin
certificate, one ServiceAccount key), so one HTTPS client speaks to all of them.
"""

from __future__ import annotations

import json
import shutil
import ssl
from pathlib import Path

import aiohttp
from serverproc import ServerProcess, free_port


def start_server(base: Path, name: str, etcd_url: str, advertise: str,
                 pki_from: Path | None = None) -> ServerProcess:
    """A server on 127.0.0.1 that publishes ``advertise`` (TEST-NET addresses are only
    written into the kubernetes Endpoints, never contacted)."""
    srv = ServerProcess(base / name, free_port())
    if pki_from is not None and not (srv.data_dir / "pki").exists():
        srv.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(pki_from, srv.data_dir / "pki")
    return srv.start("--etcd-servers", etcd_url, "--advertise-address", advertise)


class Client:
    """An admin HTTPS client for any server of the cluster."""

    def __init__(self, pki: Path) -> None:
        self.ssl = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.ssl.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.ssl),
            timeout=aiohttp.ClientTimeout(total=60))

    async def close(self) -> None:
        await self.session.close()

    async def call(self, server: ServerProcess, method: str, path: str,
                   body: dict | None = None) -> tuple[int, dict]:
        async with self.session.request(method, server.url + path, json=body) as resp:
            return resp.status, json.loads(await resp.read() or b"{}")

    async def ok(self, server: ServerProcess, method: str, path: str,
                 body: dict | None = None) -> dict:
        status, obj = await self.call(server, method, path, body)
        assert status < 300, (status, obj)
        return obj
