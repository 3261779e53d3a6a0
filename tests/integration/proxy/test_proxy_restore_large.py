"""A large restore (1,000 Services) into real iptables, inside a namespace of the test's own.

The first restore declares enough chains to take the nft path that lists each table
first (``-S``) to keep iptables-nft-restore linear; the partial sync after it does not.
The test checks that every chain and rule lands, that the partial sync changes only what
it names, and that stale chains go away.
"""

from __future__ import annotations

import re
import subprocess
import uuid

import pytest

from pyk8s.proxy.iptables import LIST_FIRST_CHAINS, Iptables
from pyk8s.proxy.rules import ProxyConfig, RuleCache, compute

COUNT = 1000


def objects(count: int) -> tuple[list[dict], list[dict]]:
    services, slices = [], []
    for i in range(count):
        name = f"svc-{i}"
        services.append({"metadata": {"namespace": "big", "name": name}, "spec": {
            "type": "NodePort", "clusterIP": f"10.96.{i // 256}.{i % 256}",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                       "nodePort": 30000 + i}]}})
        slices.append({"metadata": {"namespace": "big", "name": f"{name}-x",
                                    "labels": {"kubernetes.io/service-name": name}},
                       "addressType": "IPv4",
                       "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                       "endpoints": [{"addresses": [f"10.244.{i // 128}.{i % 128 * 2 + j}"]}
                                     for j in (0, 1)]})
    return services, slices


@pytest.fixture
def iptables():
    netns = f"pyk8s-kprestore-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        yield Iptables(prefix=["nsenter", f"--net=/run/netns/{netns}"])
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=True)


def saved(iptables: Iptables) -> str:
    return subprocess.run([*iptables.prefix, "iptables-save", "-t", "nat"], check=True,
                          capture_output=True, text=True).stdout


async def test_large_restore_and_partial_sync(iptables):
    assert await iptables.nft_backend()
    services, slices = objects(COUNT)
    cfg, cache = ProxyConfig(node_name="node-0"), RuleCache()
    full = compute(services, slices, cfg, cache=cache)
    assert full.text.count("\n:") > LIST_FIRST_CHAINS
    await iptables.restore(full.text)
    nat = saved(iptables)
    assert set(re.findall(r"^:(KUBE-\S+) ", nat, re.MULTILINE)) >= full.nat_chains
    assert len(re.findall(r"^-A KUBE-SEP-", nat, re.MULTILINE)) == 2 * 2 * COUNT
    assert len(re.findall(r"^-A KUBE-SERVICES ", nat, re.MULTILINE)) == COUNT + 1

    gone = dict(slices[0], endpoints=slices[0]["endpoints"][:1])
    part = compute(services, [gone, *slices[1:]], cfg, existing_nat_chains=full.nat_chains,
                   changed={("big", "svc-0")}, cache=cache)
    await iptables.restore(part.text)
    after = saved(iptables)
    stale = sorted(full.nat_chains - part.nat_chains)
    assert len(stale) == 1 and stale[0].startswith("KUBE-SEP-")
    assert f":{stale[0]} " not in after
    assert len(re.findall(r"^-A KUBE-SEP-", after, re.MULTILINE)) == 2 * (2 * COUNT - 1)
    assert "-j DNAT --to-destination 10.244.0.0:8080" in after
    assert "--to-destination 10.244.0.1:8080" not in after
