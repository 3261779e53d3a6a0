"""Go's ``time.ParseDuration`` syntax for flags that kube-apiserver takes as durations.

``--event-ttl 1h0m0s`` or ``--etcd-compaction-interval 5m`` should mean here what they
mean to kube-apiserver, so such flags parse Go's form: an optional sign, then one or
more decimal numbers each with a unit (``ns``, ``us``/``µs``, ``ms``, ``s``, ``m``,
``h``); a bare ``0`` is zero.
"""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
          "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration string; ValueError with Go's message otherwise."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    total, pos = 0.0, 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if not match:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not body or pos != len(body):
        raise ValueError(f'time: invalid duration "{text}"')
    return -total if text.startswith("-") else total
