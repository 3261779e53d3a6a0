"""Endpoints subsets: upstream's RepackSubsets grouping, per-pod named ports, readiness,
publishNotReadyAddresses, terminating pods, truncation, trigger times."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from pyk8s.controllers.endpoints import desired_subsets, repack_subsets, truncate
from pyk8s.controllers.util.endpoints import TriggerTimeTracker, format_rfc3339nano


def addr(ip: str, uid: str = "") -> dict:
    return {"ip": ip, "targetRef": {"kind": "Pod", "uid": uid or ip}}


def port(n: int, name: str = "") -> dict:
    return {"port": n, "protocol": "TCP", **({"name": name} if name else {})}


CASES = [
    ("one address one port",
     [{"addresses": [addr("10.0.0.1")], "ports": [port(80)]}],
     [{"addresses": [addr("10.0.0.1")], "ports": [port(80)]}]),
    ("same ports merge addresses",
     [{"addresses": [addr("10.0.0.2")], "ports": [port(80)]},
      {"addresses": [addr("10.0.0.1")], "ports": [port(80)]}],
     [{"addresses": [addr("10.0.0.1"), addr("10.0.0.2")], "ports": [port(80)]}]),
    ("same addresses merge ports",
     [{"addresses": [addr("10.0.0.1")], "ports": [port(80, "a")]},
      {"addresses": [addr("10.0.0.1")], "ports": [port(443, "b")]}],
     [{"addresses": [addr("10.0.0.1")], "ports": [port(443, "b"), port(80, "a")]}]),
    ("different port sets split",
     [{"addresses": [addr("10.0.0.1")], "ports": [port(80, "a")]},
      {"addresses": [addr("10.0.0.1")], "ports": [port(443, "b")]},
      {"addresses": [addr("10.0.0.2")], "ports": [port(80, "a")]}],
     [{"addresses": [addr("10.0.0.1")], "ports": [port(443, "b")]},
      {"addresses": [addr("10.0.0.1"), addr("10.0.0.2")], "ports": [port(80, "a")]}]),
    ("not ready wins over ready for the same port",
     [{"addresses": [addr("10.0.0.1")], "ports": [port(80)]},
      {"notReadyAddresses": [addr("10.0.0.1")], "ports": [port(80)]}],
     [{"notReadyAddresses": [addr("10.0.0.1")], "ports": [port(80)]}]),
    ("ready and not ready share a subset",
     [{"addresses": [addr("10.0.0.1")], "ports": [port(80)]},
      {"notReadyAddresses": [addr("10.0.0.2")], "ports": [port(80)]}],
     [{"addresses": [addr("10.0.0.1")], "notReadyAddresses": [addr("10.0.0.2")],
       "ports": [port(80)]}]),
    ("same ip different pods stay apart",
     [{"addresses": [addr("10.0.0.1", "a")], "ports": [port(80)]},
      {"addresses": [addr("10.0.0.1", "b")], "ports": [port(80)]}],
     [{"addresses": [addr("10.0.0.1", "a"), addr("10.0.0.1", "b")], "ports": [port(80)]}]),
    ("portless subsets kept",
     [{"addresses": [addr("10.0.0.1")]}], [{"addresses": [addr("10.0.0.1")]}]),
    ("nothing", [], []),
]


@pytest.mark.parametrize("subsets,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_repack(subsets, expected):
    assert norm(repack_subsets(subsets)) == norm(expected)
    assert repack_subsets(list(reversed(subsets))) == repack_subsets(subsets)


def norm(subsets: list[dict]) -> list[dict]:
    """Order-insensitive form: ports and subsets sorted canonically."""
    out = [{**s, "ports": sorted(s["ports"], key=orjson.dumps)} if "ports" in s else s
           for s in subsets]
    return sorted(out, key=lambda s: orjson.dumps(s, option=orjson.OPT_SORT_KEYS))


def pod(name: str, ip: str | None, *, ready: bool = True, labels=None, deleting=False,
        phase="Running", ports=None) -> dict:
    meta = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "labels": labels or {}}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    status = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False",
         "lastTransitionTime": "2024-01-01T00:00:05Z"}]}
    if ip:
        status["podIP"] = ip
    return {"metadata": meta, "spec": {"nodeName": "n1", "containers": [
        {"name": "c", "ports": ports or [{"name": "http", "containerPort": 8080}]}]},
        "status": status}


def service(ports, **spec) -> dict:
    return {"metadata": {"name": "svc", "namespace": "ns",
                         "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"selector": {"app": "x"}, "clusterIP": "10.96.0.10", "ports": ports,
                     **spec}}


HTTP = [{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}]


def test_named_target_port_resolves_per_pod_and_readiness_splits():
    pods = [pod("a", "10.1.0.1"),
            pod("b", "10.1.0.2", ports=[{"name": "http", "containerPort": 9090}]),
            pod("c", "10.1.0.3", ready=False),
            pod("d", "10.1.0.4", ports=[{"name": "other", "containerPort": 1}]),
            pod("e", None), pod("f", "10.1.0.6", deleting=True),
            pod("g", "10.1.0.7", phase="Succeeded")]
    subsets = desired_subsets(service(HTTP), pods)
    by_port = {s["ports"][0]["port"]: s for s in subsets}
    assert set(by_port) == {8080, 9090}
    assert [a["ip"] for a in by_port[8080]["addresses"]] == ["10.1.0.1"]
    assert [a["ip"] for a in by_port[8080]["notReadyAddresses"]] == ["10.1.0.3"]
    assert [a["ip"] for a in by_port[9090]["addresses"]] == ["10.1.0.2"]
    first = by_port[8080]["addresses"][0]
    assert first == {"ip": "10.1.0.1", "nodeName": "n1", "targetRef": {
        "kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"}}
    assert by_port[8080]["ports"] == [{"port": 8080, "protocol": "TCP", "name": "web"}]


def test_publish_not_ready_includes_unready_and_terminating():
    pods = [pod("c", "10.1.0.3", ready=False), pod("f", "10.1.0.6", deleting=True)]
    subsets = desired_subsets(service(HTTP, publishNotReadyAddresses=True), pods)
    assert [a["ip"] for a in subsets[0]["addresses"]] == ["10.1.0.3", "10.1.0.6"]
    assert "notReadyAddresses" not in subsets[0]


def test_headless_without_ports_lists_addresses():
    subsets = desired_subsets(service([], clusterIP="None"), [pod("a", "10.1.0.1")])
    assert subsets == [{"addresses": [{"ip": "10.1.0.1", "nodeName": "n1", "targetRef": {
        "kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"}}]}]
    assert desired_subsets(service([]), [pod("a", "10.1.0.1")]) == []


def test_truncate_keeps_ready_first_and_proportions():
    subsets = [{"addresses": [addr(f"10.0.0.{i}") for i in range(6)],
                "notReadyAddresses": [addr(f"10.0.1.{i}") for i in range(6)]},
               {"addresses": [addr(f"10.0.2.{i}") for i in range(2)],
                "notReadyAddresses": [addr(f"10.0.3.{i}") for i in range(2)]}]
    assert truncate(subsets, capacity=10)
    assert sum(len(s.get("addresses", [])) for s in subsets) == 8
    assert sum(len(s.get("notReadyAddresses", [])) for s in subsets) == 2
    assert not truncate(subsets, capacity=10)


def test_trigger_time_tracker():
    tracker = TriggerTimeTracker()
    svc = service(HTTP)
    first = tracker.compute("ns/svc", svc, [pod("a", "10.1.0.1")])
    assert format_rfc3339nano(first) == "2024-01-01T00:00:00Z"  # the Service's creation
    assert tracker.compute("ns/svc", svc, [pod("a", "10.1.0.1")]) is None
    later = pod("a", "10.1.0.1", ready=False)
    later["status"]["conditions"][0]["lastTransitionTime"] = "2024-01-01T00:01:00Z"
    assert format_rfc3339nano(tracker.compute("ns/svc", svc, [later])) == \
        "2024-01-01T00:01:00Z"
    assert format_rfc3339nano(datetime(2024, 1, 1, 0, 0, 0, 120000, tzinfo=UTC)) == \
        "2024-01-01T00:00:00.12Z"
