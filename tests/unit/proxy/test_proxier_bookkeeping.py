"""The proxier's bookkeeping around syncs: which changes force a full sync, and the
metrics and health a sync leaves behind (the iptables runner is a fake; the informers
are fed their watch events directly, never started)."""

from __future__ import annotations

import pytest

from pyk8s.client import Client
from pyk8s.client.config import Config
from pyk8s.proxy.iptables import IptablesError
from pyk8s.proxy.proxier import Proxier
from pyk8s.proxy.rules import ProxyConfig


class FakeIptables:
    def __init__(self) -> None:
        self.restores: list[str] = []
        self.fail = False

    async def set_sysctls(self) -> None:
        pass

    async def chains(self, table: str) -> set[str]:
        return set()

    async def ensure_jumps(self) -> int:
        return 0

    async def restore(self, text: str) -> None:
        if self.fail:
            raise IptablesError("iptables-restore exited 1: boom")
        self.restores.append(text)


def node(labels: dict, rv: str, address: str = "192.168.1.10", **meta) -> dict:
    return {"metadata": {"name": "node-a", "labels": labels, "resourceVersion": rv, **meta},
            "status": {"addresses": [{"type": "InternalIP", "address": address}]}}


@pytest.fixture
async def proxier():
    async with Client(Config(server="https://127.0.0.1:9")) as client:
        yield Proxier(client, ProxyConfig(node_name="node-a"), FakeIptables())


async def test_node_heartbeats_do_not_force_full_syncs(proxier):
    proxier.nodes._on_event("ADDED", node({"zone": "a"}, "1"))
    await proxier.sync(full=False)  # the first sync is full anyway
    assert proxier.metrics.sync_full_duration.count == 1
    proxier.nodes._on_event("MODIFIED", node({"zone": "a"}, "2"))  # status only
    await proxier.sync(full=False)
    assert proxier.metrics.sync_partial_duration.count == 1
    proxier.nodes._on_event("MODIFIED", node({"zone": "b"}, "3"))
    await proxier.sync(full=False)
    assert proxier.metrics.sync_full_duration.count == 2
    proxier.nodes._on_event("MODIFIED", node({"zone": "b"}, "4", address="192.168.1.11"))
    await proxier.sync(full=False)
    assert proxier.metrics.sync_full_duration.count == 3
    assert proxier.metrics.sync_duration.count == 4


async def test_sync_metrics_and_health(proxier):
    svc = {"metadata": {"namespace": "ns", "name": "web", "resourceVersion": "5"},
           "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80, "protocol": "TCP"}]}}
    slice_ = {"metadata": {"namespace": "ns", "name": "web-x", "resourceVersion": "6",
                           "labels": {"kubernetes.io/service-name": "web"},
                           "annotations": {"endpoints.kubernetes.io/last-change-trigger-time":
                                           "2024-01-01T00:00:00Z"}},
              "addressType": "IPv4", "ports": [{"port": 8080, "protocol": "TCP"}],
              "endpoints": [{"addresses": ["10.244.0.5"]}]}
    proxier.services._on_event("ADDED", svc)
    proxier.slices._on_event("ADDED", slice_)
    m = proxier.metrics
    assert (m.service_changes_pending.get(), m.endpoint_changes_pending.get()) == (1, 1)
    assert m.last_queued_timestamp.get() > 0
    assert proxier.health.oldest_queued is not None
    await proxier.sync(full=True)
    assert (m.service_changes_pending.get(), m.endpoint_changes_pending.get()) == (0, 0)
    assert (m.service_changes_total.get(), m.endpoint_changes_total.get()) == (1, 1)
    assert m.last_sync_timestamp.get() >= m.last_queued_timestamp.get()
    assert m.iptables_rules.get("nat") == proxier.last.nat_rules > 0
    assert m.network_programming.count == 1  # from the slice's trigger time
    assert proxier.health.oldest_queued is None and proxier.health.healthy()

    proxier.slices._on_event("MODIFIED", dict(slice_, metadata={**slice_["metadata"],
                                                                "resourceVersion": "7"}))
    proxier.runner.fail = True
    with pytest.raises(IptablesError):
        await proxier.sync(full=False)
    assert m.restore_failures.get() == 1 and m.partial_restore_failures.get() == 1
    assert m.sync_duration.count == 1  # only successful syncs are timed
