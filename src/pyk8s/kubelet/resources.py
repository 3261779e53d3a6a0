"""Resource quantities as the kubelet needs them: parsing, and CPU/memory to cgroup numbers.

The kubelet turns a container's ``resources`` into Linux cgroup settings
(``kuberuntime_container_linux.go``): requests.cpu becomes ``cpu.shares`` (1024 per
core, at least 2), limits.cpu becomes a CFS quota over a 100 ms period, limits.memory
the memory limit in bytes. Downward API ``resourceFieldRef`` also reads quantities,
divided by a divisor and rounded up. Kept here, small and pure, because a component
must not import the API server's own quantity code.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

_SUFFIXES = {
    "": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")

MIN_SHARES = 2
SHARES_PER_CPU = 1024
CFS_PERIOD_US = 100_000
MIN_QUOTA_US = 1000


def parse_quantity(value: object) -> Decimal:
    """A resource.Quantity string (``100m``, ``64Mi``, ``1e3``) or number as a Decimal."""
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    match = _QUANTITY.match(str(value).strip())
    if not match or match.group(2) not in _SUFFIXES:
        raise ValueError(f"invalid quantity {value!r}")
    return Decimal(match.group(1)) * _SUFFIXES[match.group(2)]


def cpu_shares(request: object | None, limit: object | None) -> int:
    """cpu.shares for a CPU request (the limit stands in when no request is given)."""
    value = request if request is not None else limit
    if value is None:
        return MIN_SHARES
    milli = parse_quantity(value) * 1000
    return max(MIN_SHARES, int(milli * SHARES_PER_CPU / 1000))


def cpu_quota(limit: object | None) -> tuple[int, int]:
    """(quota, period) in microseconds for a CPU limit; (0, 0) without one."""
    if limit is None:
        return 0, 0
    milli = parse_quantity(limit) * 1000
    quota = int(milli * CFS_PERIOD_US / 1000)
    return max(MIN_QUOTA_US, quota), CFS_PERIOD_US


def memory_bytes(limit: object | None) -> int:
    return int(parse_quantity(limit)) if limit is not None else 0


def divided(value: object, divisor: object | None) -> str:
    """A downward-API resource value: ``value / divisor`` rounded up, as a string."""
    quotient = parse_quantity(value) / parse_quantity(divisor or "1")
    return str(math.ceil(quotient))
