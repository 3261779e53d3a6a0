"""Runs chosen controllers in-process against the session API server, as the controller
manager would (shared informers, event recorder, context), and polls for outcomes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager

from pyk8s.client import (
    Client,
    EventRecorder,
    NotFound,
    SharedInformerFactory,
    load_kubeconfig,
)
from pyk8s.controllers import ControllerContext
from pyk8s.controllers.base import ControllerManagerOptions


@asynccontextmanager
async def running(apiserver, *controller_classes, root_ca_file: str | None = None):
    """Yield a Client while ``controller_classes`` run; stop them cleanly afterwards."""
    config = load_kubeconfig(apiserver.kubeconfig, component="controller-test")
    async with Client(config) as client:
        factory = SharedInformerFactory(client)
        async with EventRecorder(client, reporting_controller="controller-test",
                                 reporting_instance="test") as recorder:
            ctx = ControllerContext(client=client, informers=factory, recorder=recorder,
                                    options=ControllerManagerOptions(root_ca_file=root_ca_file))
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


async def eventually(check: Callable[[], Awaitable[object]], timeout: float = 30.0):
    """Poll ``check`` until it returns something truthy (returned), failing on timeout."""
    async with asyncio.timeout(timeout):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.1)


async def gone(api, name: str, namespace: str | None = None) -> bool:
    try:
        await api.get(name, namespace=namespace)
    except NotFound:
        return True
    return False


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
