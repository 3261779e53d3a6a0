"""``/metrics``: the API server's Prometheus metrics, under upstream's names.

What operators chart first, as kube-apiserver exposes it (text format 0.0.4):

* ``apiserver_request_total`` by verb, group, version, resource, subresource, scope,
  component and code; ``apiserver_request_duration_seconds`` (a histogram with
  upstream's buckets) for all but long-running requests (watches and streams);
* ``apiserver_current_inflight_requests`` (readOnly / mutating) and
  ``apiserver_longrunning_requests`` (open watches and streams);
* ``apiserver_storage_objects`` per resource, counted from the watch cache;
* ``process_cpu_seconds_total``, ``process_resident_memory_bytes``,
  ``process_start_time_seconds``, ``process_open_fds``.

Verbs are upstream's metric verbs: GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE,
DELETECOLLECTION, CONNECT (exec, attach, port-forward, proxy, log follow). Recording a
request is a few dictionary updates, cheap next to serving it.
"""

from __future__ import annotations

import bisect
import os
import resource
import time
from collections import defaultdict
from typing import TYPE_CHECKING

from .handlers.common import TRUE_VALUES

if TYPE_CHECKING:
    from .context import ServerContext

BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0,
           6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0)
LABELS = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope",
          "component")
CONNECT_SUBRESOURCES = frozenset(("exec", "attach", "portforward", "proxy"))
_READ_ONLY = frozenset(("GET", "LIST", "WATCH"))
_START = time.time()


def metric_verb(method: str, info, query, content_type: str = "") -> str:
    """The request's verb as upstream's metrics name it."""
    if info is None:
        return method.upper()
    if info.subresource in CONNECT_SUBRESOURCES or (
            info.subresource == "log" and query.get("follow") in TRUE_VALUES):
        return "CONNECT"
    if method == "GET":
        if info.watch_path or query.get("watch") in TRUE_VALUES:
            return "WATCH"
        return "GET" if info.name else "LIST"
    if method == "PATCH" and content_type.startswith("application/apply-patch"):
        return "APPLY"
    if method == "DELETE" and not info.name:
        return "DELETECOLLECTION"
    return method.upper()


def labels_for(method: str, info, query, content_type: str = "") -> tuple[str, ...]:
    verb = metric_verb(method, info, query, content_type)
    dry_run = "All" if query.get("dryRun") else ""
    if info is None:
        return verb, dry_run, "", "", "", "", "", "apiserver"
    scope = "resource" if info.name else ("namespace" if info.namespace else "cluster")
    return (verb, dry_run, info.group, info.version, info.resource, info.subresource, scope,
            "apiserver")


class RequestMetrics:
    def __init__(self) -> None:
        self.totals: dict[tuple, int] = defaultdict(int)
        self.durations: dict[tuple, list] = {}  # labels -> [bucket counts..., sum, count]
        self.inflight = {"readOnly": 0, "mutating": 0}
        self.longrunning: dict[tuple, int] = defaultdict(int)

    def started(self, labels: tuple) -> None:
        self.inflight["readOnly" if labels[0] in _READ_ONLY else "mutating"] += 1
        if _long_running(labels):
            self.longrunning[labels] += 1

    def finished(self, labels: tuple, code: int, seconds: float) -> None:
        self.inflight["readOnly" if labels[0] in _READ_ONLY else "mutating"] -= 1
        self.totals[labels + (str(code),)] += 1
        if _long_running(labels):
            self.longrunning[labels] -= 1
            return
        entry = self.durations.get(labels)
        if entry is None:
            entry = self.durations[labels] = [0] * (len(BUCKETS) + 2)
        entry[bisect.bisect_left(BUCKETS, seconds)] += 1
        entry[-2] += seconds
        entry[-1] += 1

    def render(self, ctx: "ServerContext") -> str:
        out: list[str] = []
        _samples(out, "apiserver_request_total", "counter",
                 "[STABLE] Counter of apiserver requests broken out for each verb, dry run "
                 "value, group, version, resource, scope, component, and HTTP response code.",
                 ((_labels(LABELS + ("code",), labels), count)
                  for labels, count in sorted(self.totals.items())))
        _family(out, "apiserver_request_duration_seconds", "histogram",
                "[STABLE] Response latency distribution in seconds for each verb, dry run "
                "value, group, version, resource, subresource, scope and component.")
        for labels, entry in sorted(self.durations.items()):
            text = _labels(LABELS, labels)
            running = 0
            for bound, count in zip(BUCKETS, entry):
                running += count
                out.append(f'apiserver_request_duration_seconds_bucket{{{text},le="{bound:g}"}} '
                           f"{running}")
            out.append(f'apiserver_request_duration_seconds_bucket{{{text},le="+Inf"}} '
                       f"{entry[-1]}")
            out.append(f"apiserver_request_duration_seconds_sum{{{text}}} {entry[-2]:.6f}")
            out.append(f"apiserver_request_duration_seconds_count{{{text}}} {entry[-1]}")
        _samples(out, "apiserver_current_inflight_requests", "gauge",
                 "[STABLE] Maximal number of currently used inflight request limit of this "
                 "apiserver per request kind in last second.",
                 ((f'request_kind="{kind}"', count)
                  for kind, count in sorted(self.inflight.items())))
        _samples(out, "apiserver_longrunning_requests", "gauge",
                 "[STABLE] Gauge of all active long-running apiserver requests broken out by "
                 "verb, group, version, resource, scope and component.",
                 ((_labels(LABELS, labels), count)
                  for labels, count in sorted(self.longrunning.items())))
        _storage_objects(out, ctx)
        _process(out)
        return "\n".join(out) + "\n"


def _long_running(labels: tuple) -> bool:
    return labels[0] in ("WATCH", "CONNECT")


def _family(out: list[str], name: str, kind: str, text: str) -> None:
    out.append(f"# HELP {name} {text}")
    out.append(f"# TYPE {name} {kind}")


def _samples(out: list[str], name: str, kind: str, text: str, rows) -> None:
    """A family and its samples; ``rows``: (label text, value) pairs."""
    _family(out, name, kind, text)
    out.extend(f"{name}{{{labels}}} {value}" for labels, value in rows)


def _labels(names: tuple, values: tuple) -> str:
    return ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _storage_objects(out: list[str], ctx: "ServerContext") -> None:
    cache = ctx.watch_cache
    if cache is None:
        return
    _family(out, "apiserver_storage_objects", "gauge",
            "[STABLE] Number of stored objects at the time of last check split by kind.")
    counted = set()
    for rt in ctx.registry.all():
        name = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
        if rt.virtual or "list" not in rt.verbs or name in counted:
            continue
        count = cache.object_count(rt.prefix)
        if count is None:
            continue
        counted.add(name)
        out.append(f'apiserver_storage_objects{{resource="{name}"}} {count}')


def _process(out: list[str]) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _family(out, "process_cpu_seconds_total", "counter",
            "Total user and system CPU time spent in seconds.")
    out.append(f"process_cpu_seconds_total {usage.ru_utime + usage.ru_stime:.2f}")
    _family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
    out.append(f"process_resident_memory_bytes {_rss_bytes()}")
    _family(out, "process_start_time_seconds", "gauge",
            "Start time of the process since unix epoch in seconds.")
    out.append(f"process_start_time_seconds {_START:.2f}")
    _family(out, "process_open_fds", "gauge", "Number of open file descriptors.")
    try:
        out.append(f"process_open_fds {len(os.listdir('/proc/self/fd'))}")
    except OSError:
        out.append("process_open_fds 0")


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
