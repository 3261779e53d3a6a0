"""kube-proxy's health state, metrics exposition and their two HTTP servers."""

from __future__ import annotations

import aiohttp
import pytest

from pyk8s.proxy.health import ProxyHealth, Servers, go_time, health_app, metrics_app, split_address
from pyk8s.proxy.metrics import Counter, Histogram, ProxyMetrics


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_go_time_format():
    assert go_time(1_700_000_000.5) == "2023-11-14 22:13:20.5 +0000 UTC"
    assert go_time(1_700_000_000) == "2023-11-14 22:13:20 +0000 UTC"


def test_health_goes_stale_only_when_a_queued_change_waits_too_long():
    clock = Clock()
    health = ProxyHealth(timeout=60, clock=clock)
    assert health.report(with_node=True)[0] == 200  # starting up
    health.queued_update()
    clock.now += 59
    assert health.healthy()
    clock.now += 2
    status, body = health.report(with_node=True)
    assert status == 503
    assert body == {"lastUpdated": "0001-01-01 00:00:00 +0000 UTC",
                    "currentTime": go_time(clock.now),
                    "nodeEligible": True}
    health.updated()
    status, body = health.report(with_node=True)
    assert status == 200 and body["lastUpdated"] == body["currentTime"]
    synced = clock.now
    clock.now += 3600  # nothing queued: an idle proxier stays healthy
    assert health.report(with_node=False)[0] == 200
    health.queued_update()
    clock.now += 61
    status, body = health.report(with_node=False)
    assert (status, body["lastUpdated"]) == (503, go_time(synced))


@pytest.mark.parametrize("node", [
    {"metadata": {"name": "n", "deletionTimestamp": "2024-01-01T00:00:00Z"}},
    {"metadata": {"name": "n"},
     "spec": {"taints": [{"key": "ToBeDeletedByClusterAutoscaler", "effect": "NoSchedule"}]}},
])
def test_node_being_deleted_fails_healthz_but_not_livez(node):
    health = ProxyHealth(timeout=60, clock=Clock())
    health.sync_node(node)
    status, body = health.report(with_node=True)
    assert (status, body["nodeEligible"]) == (503, False)
    status, body = health.report(with_node=False)
    assert status == 200 and "nodeEligible" not in body
    health.sync_node({"metadata": {"name": "n"}})
    assert health.report(with_node=True)[0] == 200


def test_histogram_buckets_are_cumulative_with_upstream_bounds():
    metrics = ProxyMetrics()
    for seconds in (0.0005, 0.003, 0.003, 20.0):
        metrics.sync_duration.observe(seconds)
    lines = metrics.sync_duration.render()
    assert lines[0] == ("# HELP kubeproxy_sync_proxy_rules_duration_seconds [ALPHA] "
                        "SyncProxyRules latency in seconds")
    assert lines[1] == "# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram"
    buckets = [line for line in lines if "_bucket" in line]
    assert len(buckets) == 16  # 15 exponential bounds from 1 ms, then +Inf
    assert buckets[0] == 'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.001"} 1'
    assert buckets[2] == 'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.004"} 3'
    assert buckets[14] == 'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="16.384"} 3'
    assert buckets[15] == 'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="+Inf"} 4'
    assert lines[-1] == "kubeproxy_sync_proxy_rules_duration_seconds_count 4"


def test_labelled_counter_and_exposition_order():
    counter = Counter("x_total", "X", ["code"])
    counter.inc("503")
    counter.inc("200", by=2)
    assert counter.render()[2:] == ['x_total{code="200"} 2', 'x_total{code="503"} 1']
    text = ProxyMetrics().exposition()
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert names == sorted(names)
    assert "kubeproxy_sync_proxy_rules_last_timestamp_seconds 0\n" in text
    assert Histogram("h", "H", [1]).render()[-2] == "h_sum 0"


def test_split_address():
    assert split_address("0.0.0.0:10256") == ("0.0.0.0", 10256)
    assert split_address("[::1]:10249") == ("::1", 10249)
    assert split_address(":10249") == ("0.0.0.0", 10249)
    with pytest.raises(ValueError):
        split_address("10249")


async def test_servers_answer_as_upstream():
    health, metrics = ProxyHealth(timeout=60), ProxyMetrics()
    metrics.sync_full_duration.observe(0.2)
    servers = Servers()
    await servers.start("healthz", health_app(health, metrics), "127.0.0.1:0")
    await servers.start("metrics", metrics_app(metrics), "127.0.0.1:0")
    try:
        healthz = "http://{}:{}".format(*servers.bound["healthz"])
        metrics_url = "http://{}:{}".format(*servers.bound["metrics"])
        async with aiohttp.ClientSession() as http:
            async with http.get(healthz + "/healthz") as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"].startswith("application/json")
                assert resp.headers["X-Content-Type-Options"] == "nosniff"
                assert (await resp.json())["nodeEligible"] is True
            health.sync_node({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}})
            async with http.get(healthz + "/healthz") as resp:
                assert resp.status == 503
            async with http.get(healthz + "/livez") as resp:
                assert resp.status == 200
            async with http.get(metrics_url + "/metrics") as resp:
                assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                text = await resp.text()
            async with http.get(metrics_url + "/proxyMode") as resp:
                assert await resp.text() == "iptables"
        assert 'kubeproxy_proxy_healthz_total{code="200"} 1' in text
        assert 'kubeproxy_proxy_healthz_total{code="503"} 1' in text
        assert 'kubeproxy_proxy_livez_total{code="200"} 1' in text
        assert "kubeproxy_sync_full_proxy_rules_duration_seconds_count 1" in text
    finally:
        await servers.stop()


async def test_a_taken_port_is_logged_not_fatal(caplog):
    first, second = Servers(), Servers()
    await first.start("healthz", health_app(ProxyHealth(60), ProxyMetrics()), "127.0.0.1:0")
    try:
        taken = "{}:{}".format(*first.bound["healthz"])
        await second.start("healthz", health_app(ProxyHealth(60), ProxyMetrics()), taken)
        assert "healthz" not in second.bound
        assert "could not listen" in caplog.text
        await second.start("metrics", metrics_app(ProxyMetrics()), "")  # '' disables
        assert second.bound == {}
    finally:
        await first.stop()
        await second.stop()
