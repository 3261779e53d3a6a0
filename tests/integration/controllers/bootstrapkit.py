"""Test kit for the certificate and bootstrap-token controllers against the session API server:
run controllers with chosen ControllerManagerOptions, make bootstrap token Secrets, and open a
client that authenticates with a bootstrap token or a client certificate (trusting only the
cluster CA, as a joining kubelet does)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import ssl
import string
from datetime import UTC, datetime, timedelta

from pyk8s.client import (
    ApiError,
    Client,
    Config,
    EventRecorder,
    SharedInformerFactory,
    load_kubeconfig,
)
from pyk8s.controllers import ControllerContext
from pyk8s.controllers.base import ControllerManagerOptions

ALPHABET = string.ascii_lowercase + string.digits


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_seconds(seconds: float) -> str:
    return rfc3339(datetime.now(UTC) + timedelta(seconds=seconds))


@contextlib.asynccontextmanager
async def running(apiserver, *controller_classes, **options):
    """Yield an admin Client while the controllers run with these options."""
    config = load_kubeconfig(apiserver.kubeconfig, component="controller-test")
    async with Client(config) as client:
        factory = SharedInformerFactory(client)
        async with EventRecorder(client, reporting_controller="controller-test",
                                 reporting_instance="test") as recorder:
            ctx = ControllerContext(client=client, informers=factory, recorder=recorder,
                                    options=ControllerManagerOptions(**options))
            controllers = [cls(ctx) for cls in controller_classes]
            factory.start()
            stop = asyncio.Event()
            try:
                assert await factory.wait_for_sync(30)
                tasks = [asyncio.create_task(c.run(stop)) for c in controllers]
                try:
                    yield client
                finally:
                    stop.set()
                    await asyncio.gather(*tasks)
            finally:
                await factory.stop()


async def create_token(client: Client, *, expiration: str | None = None,
                       signing: bool = False, authentication: bool = False,
                       extra: dict[str, str] | None = None) -> tuple[str, str]:
    """A new bootstrap token Secret in kube-system; answers (id, secret)."""
    token_id = "".join(secrets.choice(ALPHABET) for _ in range(6))
    token_secret = "".join(secrets.choice(ALPHABET) for _ in range(16))
    data = {"token-id": token_id, "token-secret": token_secret,
            "usage-bootstrap-signing": "true" if signing else "false",
            "usage-bootstrap-authentication": "true" if authentication else "false",
            **({"expiration": expiration} if expiration else {}), **(extra or {})}
    await client.api("v1", "Secret").create({
        "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
        "type": "bootstrap.kubernetes.io/token",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}},
        namespace="kube-system")
    return token_id, token_secret


async def delete_token(client: Client, token_id: str) -> None:
    with contextlib.suppress(ApiError):
        await client.api("v1", "Secret").delete(f"bootstrap-token-{token_id}",
                                                namespace="kube-system")


def ca_context(apiserver) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(apiserver.data_dir / "pki" / "ca.crt"))


def token_client(apiserver, token: str) -> Client:
    return Client(Config(server=apiserver.url, ssl_context=ca_context(apiserver),
                         token=lambda: token))


def cert_client(apiserver, cert_file: str, key_file: str) -> Client:
    context = ca_context(apiserver)
    context.load_cert_chain(cert_file, key_file)
    return Client(Config(server=apiserver.url, ssl_context=context))
