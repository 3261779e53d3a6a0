"""A server context over the in-memory store, for authenticators that read objects."""

from __future__ import annotations

import orjson
import pytest

from pyk8s.apiserver.allocators import IPAllocator, PortAllocator
from pyk8s.apiserver.context import ServerContext
from pyk8s.apiserver.resources import builtin_registry
from pyk8s.store.memory import MemoryStore


class Objects:
    """Puts core/v1 objects straight into the store, as the API would have stored them."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    async def put(self, plural: str, namespace: str, name: str, uid: str, **fields) -> dict:
        rt = self.ctx.registry.get("", "v1", plural)
        meta = {"name": name, "uid": uid, **fields.pop("metadata", {})}
        if rt.namespaced:
            meta["namespace"] = namespace
        obj = {"apiVersion": "v1", "kind": rt.kind, "metadata": meta, **fields}
        await self.ctx.store.create(rt.key(namespace, name), orjson.dumps(obj))
        return obj

    async def remove(self, plural: str, namespace: str, name: str) -> None:
        rt = self.ctx.registry.get("", "v1", plural)
        await self.ctx.store.delete(rt.key(namespace, name))


@pytest.fixture
async def ctx():
    store = MemoryStore()
    await store.start()
    context = ServerContext(store=store, registry=builtin_registry(),
                            cluster_ips=IPAllocator("10.96.0.0/12"),
                            node_ports=PortAllocator(30000, 32767))
    yield context
    await store.close()


@pytest.fixture
def objects(ctx) -> Objects:
    return Objects(ctx)
