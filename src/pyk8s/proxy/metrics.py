"""kube-proxy's Prometheus metrics: upstream's names, help texts and histogram buckets.

Dashboards and alerts written for kube-proxy read ``kubeproxy_sync_proxy_rules_*``
from ``:10249/metrics``; the proxier updates the same series here (pkg/proxy/metrics in
v1.32, iptables mode). The three tiny metric types and the text exposition format
(version 0.0.4) are written out rather than pulled in from prometheus_client: kube-proxy
needs a dozen series, and keeping them as plain attributes of one object lets each
Proxier (and each test) own its registry. Help texts carry component-base's
``[ALPHA]`` stability prefix as upstream's output does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def exponential_buckets(start: float, factor: float, count: int) -> list[float]:
    return [start * factor ** i for i in range(count)]


def linear_buckets(start: float, width: float, count: int) -> list[float]:
    return [start + width * i for i in range(count)]


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    pairs = [f'{n}="{v}"' for n, v in zip(names, values)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


class _Metric:
    kind = ""

    def __init__(self, name: str, help: str, labels: Iterable[str] = ()) -> None:
        self.name = name
        self.help = help
        self.label_names = tuple(labels)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} [ALPHA] {self.help}", f"# TYPE {self.name} {self.kind}"]


class Gauge(_Metric):
    """A value that goes up and down; one per combination of label values."""

    kind = "gauge"

    def __init__(self, name: str, help: str, labels: Iterable[str] = ()) -> None:
        super().__init__(name, help, labels)
        self.values: dict[tuple[str, ...], float] = {} if self.label_names else {(): 0.0}

    def set(self, value: float, *labels: str) -> None:
        self.values[labels] = float(value)

    def get(self, *labels: str) -> float:
        return self.values.get(labels, 0.0)

    def render(self) -> list[str]:
        return [*self.header(), *(f"{self.name}{_labels(self.label_names, k)} {_number(v)}"
                                  for k, v in sorted(self.values.items()))]


class Counter(Gauge):
    """A value that only goes up."""

    kind = "counter"

    def inc(self, *labels: str, by: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + by


class Histogram(_Metric):
    """Observations counted into cumulative ``le`` buckets, with ``_sum`` and ``_count``."""

    kind = "histogram"

    def __init__(self, name: str, help: str, buckets: Iterable[float]) -> None:
        super().__init__(name, help)
        self.buckets = sorted(buckets)
        self.counts = [0] * len(self.buckets)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
                break
        self.sum += value
        self.count += 1

    def render(self) -> list[str]:
        lines, cumulative = self.header(), 0
        for bound, count in zip(self.buckets, self.counts):
            cumulative += count
            lines.append(f'{self.name}_bucket{{le="{_number(bound)}"}} {cumulative}')
        lines += [f'{self.name}_bucket{{le="+Inf"}} {self.count}',
                  f"{self.name}_sum {_number(self.sum)}", f"{self.name}_count {self.count}"]
        return lines


SYNC_BUCKETS = exponential_buckets(0.001, 2, 15)  # 1 ms .. 16.384 s
#: 0.25 s, 0.5 s, then every second to 59 s, every 5 s to 115 s, every 30 s to 5 min.
PROGRAMMING_BUCKETS = [*linear_buckets(0.25, 0.25, 2), *linear_buckets(1, 1, 59),
                       *linear_buckets(60, 5, 12), *linear_buckets(120, 30, 7)]


class ProxyMetrics:
    """The series kube-proxy's iptables mode registers."""

    def __init__(self) -> None:
        p = "kubeproxy_"
        self.sync_duration = Histogram(p + "sync_proxy_rules_duration_seconds",
                                       "SyncProxyRules latency in seconds", SYNC_BUCKETS)
        self.sync_full_duration = Histogram(
            p + "sync_full_proxy_rules_duration_seconds",
            "SyncProxyRules latency in seconds for full resyncs", SYNC_BUCKETS)
        self.sync_partial_duration = Histogram(
            p + "sync_partial_proxy_rules_duration_seconds",
            "SyncProxyRules latency in seconds for partial resyncs", SYNC_BUCKETS)
        self.last_sync_timestamp = Gauge(p + "sync_proxy_rules_last_timestamp_seconds",
                                         "The last time proxy rules were successfully synced")
        self.last_queued_timestamp = Gauge(p + "sync_proxy_rules_last_queued_timestamp_seconds",
                                           "The last time a sync of proxy rules was queued")
        self.network_programming = Histogram(p + "network_programming_duration_seconds",
                                             "In Cluster Network Programming Latency in seconds",
                                             PROGRAMMING_BUCKETS)
        self.endpoint_changes_pending = Gauge(p + "sync_proxy_rules_endpoint_changes_pending",
                                              "Pending proxy rules Endpoint changes")
        self.endpoint_changes_total = Counter(p + "sync_proxy_rules_endpoint_changes_total",
                                              "Cumulative proxy rules Endpoint changes")
        self.service_changes_pending = Gauge(p + "sync_proxy_rules_service_changes_pending",
                                             "Pending proxy rules Service changes")
        self.service_changes_total = Counter(p + "sync_proxy_rules_service_changes_total",
                                             "Cumulative proxy rules Service changes")
        self.restore_failures = Counter(p + "sync_proxy_rules_iptables_restore_failures_total",
                                        "Cumulative proxy iptables restore failures")
        self.partial_restore_failures = Counter(
            p + "sync_proxy_rules_iptables_partial_restore_failures_total",
            "Cumulative proxy iptables partial restore failures")
        self.iptables_rules = Gauge(p + "sync_proxy_rules_iptables_total",
                                    "Total number of iptables rules owned by kube-proxy",
                                    ["table"])
        self.iptables_rules_last = Gauge(
            p + "sync_proxy_rules_iptables_last",
            "Number of iptables rules written by kube-proxy in last sync", ["table"])
        self.no_local_endpoints = Gauge(
            p + "sync_proxy_rules_no_local_endpoints_total",
            "Number of services with a Local traffic policy and no endpoints",
            ["traffic_policy"])
        self.healthz_total = Counter(p + "proxy_healthz_total",
                                     "Cumulative proxy healthz HTTP status", ["code"])
        self.livez_total = Counter(p + "proxy_livez_total",
                                   "Cumulative proxy livez HTTP status", ["code"])

    def exposition(self) -> str:
        """Every series in the Prometheus text format, sorted by name as upstream's."""
        metrics = sorted((m for m in vars(self).values() if isinstance(m, _Metric)),
                         key=lambda m: m.name)
        return "".join(line + "\n" for m in metrics for line in m.render())
