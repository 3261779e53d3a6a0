"""Helpers that run a strategy the way the object store does, without HTTP or storage.

``create`` fills uid/creationTimestamp, then prepare_for_create, default, generic
metadata validation and the strategy's validate; ``update`` does prepare_for_update,
default and the update validations. Both return the object and its error messages.
"""

from __future__ import annotations

import copy
from typing import Callable

import pytest

from pyk8s.apiserver import validation
from pyk8s.apiserver.allocators import IPAllocator, PortAllocator
from pyk8s.apiserver.context import ServerContext
from pyk8s.apiserver.kinds import strategy_for
from pyk8s.apiserver.resources import builtin_registry
from pyk8s.store.memory import MemoryStore

CLUSTER_SCOPED = {("", "Namespace"), ("", "Node"), ("", "PersistentVolume"),
                  ("storage.k8s.io", "StorageClass"), ("networking.k8s.io", "IngressClass")}


def messages(errs) -> list[str]:
    return [f"{e.field}: {e.message()}" if e.field else e.message() for e in errs]


def run_create(group: str, kind: str, obj: dict, uid: str = "uid-1") -> tuple[dict, list[str]]:
    obj = copy.deepcopy(obj)
    strategy = strategy_for(group, kind)
    namespaced = (group, kind) not in CLUSTER_SCOPED
    meta = obj.setdefault("metadata", {})
    if namespaced:
        meta.setdefault("namespace", "default")
    meta["uid"] = uid
    meta["creationTimestamp"] = "2024-01-01T00:00:00Z"
    if strategy.tracks_generation:
        meta["generation"] = 1
    strategy.prepare_for_create(obj)
    strategy.default(obj)
    errs = validation.validate_object_meta(
        obj, namespaced=namespaced, name_rule=validation.name_rule_for(group, kind))
    errs += strategy.validate(obj)
    return obj, messages(errs)


def run_update(group: str, kind: str, new: dict, old: dict) -> tuple[dict, list[str]]:
    new = copy.deepcopy(new)
    strategy = strategy_for(group, kind)
    meta = new.setdefault("metadata", {})
    for key in ("uid", "creationTimestamp", "namespace", "generation"):
        if key in old["metadata"]:
            meta[key] = old["metadata"][key]
    if "status" in old:
        new["status"] = copy.deepcopy(old["status"])
    strategy.prepare_for_update(new, old)
    strategy.default(new)
    errs = validation.validate_object_meta_update(new, old) + strategy.validate_update(new, old)
    return new, messages(errs)


@pytest.fixture
def create() -> Callable[..., tuple[dict, list[str]]]:
    return run_create


@pytest.fixture
def update() -> Callable[..., tuple[dict, list[str]]]:
    return run_update


@pytest.fixture
async def ctx() -> ServerContext:
    store = MemoryStore()
    await store.start()
    yield ServerContext(store=store, registry=builtin_registry(),
                        cluster_ips=IPAllocator("10.96.0.0/12"), node_ports=PortAllocator())
    await store.close()
