"""The periodic repair of the stored Service ranges against the stored Services."""

from __future__ import annotations

import json

import pytest

from pyk8s.apiserver.rangerepair import SERVICES, RangeRepair
from pyk8s.apiserver.rangestore import StoredIPAllocator, StoredPortAllocator
from pyk8s.store.memory import MemoryStore


@pytest.fixture
async def store():
    s = MemoryStore()
    await s.start()
    yield s
    await s.close()


async def add_service(store, name: str, ip: str, node_port: int | None = None) -> None:
    ports = [{"port": 80, "nodePort": node_port}] if node_port else [{"port": 80}]
    svc = {"metadata": {"name": name, "namespace": "ns"},
           "spec": {"clusterIP": ip, "clusterIPs": [ip], "ports": ports}}
    await store.create(f"{SERVICES}ns/{name}", json.dumps(svc).encode())


async def fresh(store) -> tuple[StoredIPAllocator, StoredPortAllocator]:
    """Allocators of another server: what is stored, nothing remembered."""
    ips, ports = StoredIPAllocator(store, "10.96.0.0/24"), StoredPortAllocator(store)
    await ips.publish()
    await ports.publish()
    return ips, ports


async def test_values_in_use_but_unallocated_are_set_at_once(store):
    ips, ports = await fresh(store)
    await add_service(store, "lost", "10.96.0.50", 30080)  # written around the allocators
    await RangeRepair(store, ips, ports).repair_once()
    ips, ports = await fresh(store)
    assert ips.is_allocated("10.96.0.50") and ports.is_allocated(30080)


async def test_leaked_values_are_released_after_three_rounds(store):
    ips, ports = await fresh(store)
    await add_service(store, "kept", "10.96.0.10", 30010)
    leaked_ip = await ips.reserve("10.96.0.77")
    leaked_port = await ports.reserve(30077)
    repair = RangeRepair(store, ips, ports)
    for _ in range(2):
        await repair.repair_once()
        check, check_ports = await fresh(store)
        assert check.is_allocated(leaked_ip) and check_ports.is_allocated(leaked_port)
    await repair.repair_once()
    check, check_ports = await fresh(store)
    assert not check.is_allocated(leaked_ip) and not check_ports.is_allocated(leaked_port)
    assert check.is_allocated("10.96.0.10") and check_ports.is_allocated(30010)


async def test_a_value_taken_again_resets_its_leak_count(store):
    ips, ports = await fresh(store)
    ip = await ips.reserve("10.96.0.88")
    repair = RangeRepair(store, ips, ports)
    await repair.repair_once()
    await repair.repair_once()
    await add_service(store, "late", ip)  # its Service was just slow to be stored
    await repair.repair_once()
    await repair.repair_once()
    await repair.repair_once()
    check, _ = await fresh(store)
    assert check.is_allocated(ip)
