"""CIDR allocation for nodes: distinct subnets, round robin, occupy/release, exhaustion."""

from __future__ import annotations

import pytest

from pyk8s.controllers.nodeipam import CIDRRangeFull, CIDRSet


def test_allocates_distinct_subnets_in_order():
    cidrs = CIDRSet("10.244.0.0/16", 24)
    assert [cidrs.allocate_next() for _ in range(3)] == \
        ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]


def test_occupied_subnets_are_skipped_and_released_ones_reused_later():
    cidrs = CIDRSet("10.244.0.0/22", 24)
    cidrs.occupy("10.244.1.0/24")
    assert cidrs.allocate_next() == "10.244.0.0/24"
    assert cidrs.allocate_next() == "10.244.2.0/24"
    cidrs.release("10.244.0.0/24")
    assert cidrs.allocate_next() == "10.244.3.0/24"  # round robin: not the freed one first
    assert cidrs.allocate_next() == "10.244.0.0/24"
    with pytest.raises(CIDRRangeFull):
        cidrs.allocate_next()


@pytest.mark.parametrize("cidr", ["10.245.0.0/24", "10.244.0.0/25", "fd00::/120"])
def test_foreign_cidrs_are_refused(cidr):
    with pytest.raises(ValueError):
        CIDRSet("10.244.0.0/16", 24).occupy(cidr)


def test_ipv6_and_bad_mask():
    cidrs = CIDRSet("fd00:10::/56", 64)
    assert cidrs.allocate_next() == "fd00:10::/64"
    assert cidrs.allocate_next() == "fd00:10:0:1::/64"
    with pytest.raises(ValueError):
        CIDRSet("10.244.0.0/16", 8)
