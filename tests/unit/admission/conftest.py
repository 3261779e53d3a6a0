"""A server context over the in-memory store with the default admission chain, and
an ObjectStore to write through it as the API would."""

from __future__ import annotations

import pytest

from pyk8s.apiserver import errors
from pyk8s.apiserver.allocators import IPAllocator, PortAllocator
from pyk8s.apiserver.context import ServerContext
from pyk8s.apiserver.objects import ObjectStore
from pyk8s.apiserver.resources import builtin_registry
from pyk8s.store.memory import MemoryStore


class API:
    """create/update/delete by resource name, as a user of the API would."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.objects = ObjectStore(ctx)

    def rt(self, plural: str, group: str = ""):
        return next(rt for rt in self.ctx.registry.all()
                    if rt.group == group and rt.plural == plural)

    async def create(self, plural: str, obj: dict, namespace: str | None = None,
                     group: str = "", **kw):
        return await self.objects.create(self.rt(plural, group), obj, namespace, **kw)

    async def update(self, plural: str, namespace: str | None, name: str, mutate,
                     group: str = "", **kw):
        return await self.objects.update(self.rt(plural, group), namespace, name, mutate, **kw)

    async def delete(self, plural: str, namespace: str | None, name: str, group: str = "",
                     **kw):
        return await self.objects.delete(self.rt(plural, group), namespace, name, **kw)

    async def get(self, plural: str, namespace: str | None, name: str, group: str = ""):
        return await self.objects.get(self.rt(plural, group), namespace, name)

    async def namespace(self, name: str, labels: dict | None = None, sa: bool = True) -> None:
        await self.create("namespaces", {"metadata": {"name": name, "labels": labels or {}}})
        if sa:
            await self.create("serviceaccounts", {"metadata": {"name": "default"}}, name)

    async def refused(self, coro) -> errors.APIError:
        try:
            await coro
        except errors.APIError as err:
            return err
        raise AssertionError("the write should have been refused")


def pod(name: str = "p", **spec) -> dict:
    return {"metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": "nginx"}], **spec}}


@pytest.fixture
async def ctx() -> ServerContext:
    store = MemoryStore()
    await store.start()
    yield ServerContext(store=store, registry=builtin_registry(),
                        cluster_ips=IPAllocator("10.96.0.0/12"), node_ports=PortAllocator())
    await store.close()


@pytest.fixture
async def api(ctx) -> API:
    api = API(ctx)
    await api.namespace("default")
    return api
