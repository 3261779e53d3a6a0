"""Fake node and pod addresses: per-index ranges and host-local style allocation."""

from __future__ import annotations

import pytest

from pyk8s.hollow.ipam import (
    AddressesExhausted,
    PodIPAM,
    fallback_pod_cidr,
    fallback_subnet_count,
    node_ip,
)


@pytest.mark.parametrize("index, ip", [(0, "10.255.0.1"), (254, "10.255.0.255"),
                                       (255, "10.255.1.0"), (999, "10.255.3.232")])
def test_node_ip(index, ip):
    assert node_ip("10.255.0.0/16", index) == ip


def test_node_ip_out_of_range():
    with pytest.raises(ValueError):
        node_ip("10.255.0.0/30", 2)


@pytest.mark.parametrize("base, mask, index, cidr", [
    ("10.244.0.0/16", 24, 0, "10.244.0.0/24"),
    ("10.244.0.0/16", 24, 255, "10.244.255.0/24"),
    ("10.64.0.0/10", 24, 999, "10.67.231.0/24"),
    ("10.244.0.0/16", 26, 5, "10.244.1.64/26"),
])
def test_fallback_cidr(base, mask, index, cidr):
    assert fallback_pod_cidr(base, mask, index) == cidr


def test_fallback_limits():
    assert fallback_subnet_count("10.244.0.0/16", 24) == 256
    with pytest.raises(ValueError):
        fallback_pod_cidr("10.244.0.0/16", 24, 256)
    with pytest.raises(ValueError):
        fallback_subnet_count("10.244.0.0/16", 8)


def test_allocation_skips_network_gateway_and_broadcast():
    ipam = PodIPAM()
    cidr = "10.1.0.0/29"  # .0 network, .1 gateway, .7 broadcast: .2-.6 usable
    ips = [ipam.allocate(cidr, f"uid{i}") for i in range(5)]
    assert ips == [f"10.1.0.{i}" for i in range(2, 7)]
    with pytest.raises(AddressesExhausted):
        ipam.allocate(cidr, "one-too-many")


def test_allocation_is_stable_and_does_not_reuse_at_once():
    ipam = PodIPAM()
    cidr = "10.1.0.0/24"
    a = ipam.allocate(cidr, "a")
    assert ipam.allocate(cidr, "a") == a == "10.1.0.2"
    ipam.release("a")
    assert ipam.ip_of("a") is None
    assert ipam.allocate(cidr, "b") == "10.1.0.3"  # walks on, as host-local
    assert ipam.in_use(cidr) == 1


def test_reserve_after_restart():
    ipam = PodIPAM()
    cidr = "10.1.0.0/24"
    assert ipam.reserve(cidr, "old", "10.1.0.2")
    assert ipam.reserve(cidr, "old", "10.1.0.2")  # idempotent
    assert not ipam.reserve(cidr, "other", "10.1.0.2")  # held by someone else
    assert not ipam.reserve(cidr, "elsewhere", "192.168.0.9")  # not ours to track
    assert ipam.allocate(cidr, "new") == "10.1.0.3"
    ipam.release("old")
    assert ipam.in_use(cidr) == 1
