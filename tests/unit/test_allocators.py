"""Service cluster IP and node port allocators: requested values, ranges, exhaustion, release."""

from __future__ import annotations

import ipaddress

import pytest

from pyk8s.apiserver.allocators import AllocationError, IPAllocator, PortAllocator


def test_ip_defaults_and_first_address_kept_for_kubernetes_service():
    alloc = IPAllocator()
    assert alloc.cidr == "10.96.0.0/12"
    assert alloc.family == "IPv4"
    assert alloc.first == "10.96.0.1"
    got = {alloc.allocate() for _ in range(50)}
    assert "10.96.0.1" not in got
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12") for ip in got)
    assert alloc.allocate("10.96.0.1") == "10.96.0.1"


def test_ip_dynamic_allocation_prefers_upper_band():
    alloc = IPAllocator("10.96.0.0/12")
    first = int(ipaddress.ip_address("10.96.0.1"))
    for _ in range(20):
        assert int(ipaddress.ip_address(alloc.allocate())) - first >= 256


@pytest.mark.parametrize(
    "ip, reason, message",
    [
        ("10.0.0.1", "range", "the provided IP (10.0.0.1) is not in the valid range. The range of "
                              "valid IPs is 10.96.0.0/12"),
        ("10.96.0.0", "range", "the provided IP (10.96.0.0) is not in the valid range. The range "
                               "of valid IPs is 10.96.0.0/12"),
        ("10.111.255.255", "range", "the provided IP (10.111.255.255) is not in the valid range. "
                                    "The range of valid IPs is 10.96.0.0/12"),
        ("fd00::1", "range", "the provided IP (fd00::1) is not in the valid range. The range of "
                             "valid IPs is 10.96.0.0/12"),
    ],
)
def test_ip_out_of_range(ip, reason, message):
    with pytest.raises(AllocationError) as err:
        IPAllocator().allocate(ip)
    assert err.value.reason == reason
    assert str(err.value) == message


def test_ip_taken_release_and_mark_used():
    alloc = IPAllocator()
    assert alloc.allocate("10.96.0.10") == "10.96.0.10"
    with pytest.raises(AllocationError, match="^provided IP is already allocated$"):
        alloc.allocate("10.96.0.10")
    alloc.release("10.96.0.10")
    assert not alloc.is_allocated("10.96.0.10")
    alloc.mark_used("10.96.0.10")
    assert alloc.is_allocated("10.96.0.10")
    alloc.mark_used("192.168.0.1")  # out of range: ignored
    alloc.release("192.168.0.1")


def test_ip_same_owner_may_ask_again():
    alloc = IPAllocator()
    alloc.allocate("10.96.0.10", owner="uid-1")
    assert alloc.allocate("10.96.0.10", owner="uid-1") == "10.96.0.10"
    with pytest.raises(AllocationError):
        alloc.allocate("10.96.0.10", owner="uid-2")


def test_ip_range_full():
    alloc = IPAllocator("10.0.0.0/29")  # 6 usable addresses, the first kept back
    got = {alloc.allocate() for _ in range(5)}
    assert got == {f"10.0.0.{i}" for i in range(2, 7)}
    with pytest.raises(AllocationError, match="^range is full$") as err:
        alloc.allocate()
    assert err.value.reason == "full"
    alloc.release("10.0.0.4")
    assert alloc.allocate() == "10.0.0.4"


def test_ipv6_range():
    alloc = IPAllocator("fd00:10:96::/112")
    assert alloc.family == "IPv6"
    assert alloc.first == "fd00:10:96::1"
    assert ipaddress.ip_address(alloc.allocate()) in ipaddress.ip_network("fd00:10:96::/112")


def test_port_allocator():
    ports = PortAllocator()
    assert ports.range == "30000-32767"
    assert ports.allocate(30080) == 30080
    with pytest.raises(AllocationError, match="^provided port is already allocated$"):
        ports.allocate(30080)
    with pytest.raises(AllocationError) as err:
        ports.allocate(80)
    assert str(err.value) == ("provided port is not in the valid range. The range of valid ports "
                              "is 30000-32767")
    dynamic = {ports.allocate() for _ in range(100)}
    assert all(30000 + 86 <= p <= 32767 for p in dynamic)
    ports.release(30080)
    assert not ports.is_allocated(30080)
    ports.mark_used(30080)
    assert ports.is_allocated(30080)


def test_port_range_full_falls_back_to_lower_band():
    ports = PortAllocator(30000, 30019)
    got = [ports.allocate() for _ in range(20)]
    assert sorted(got) == list(range(30000, 30020))
    with pytest.raises(AllocationError, match="^range is full$"):
        ports.allocate()


def test_port_invalid_range():
    with pytest.raises(ValueError):
        PortAllocator(32767, 30000)
