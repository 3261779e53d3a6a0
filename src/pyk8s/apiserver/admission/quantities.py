"""Resource lists as exact decimals, and quantities printed the way upstream prints them.

LimitRanger and ResourceQuota compare, add and report quantities; their messages
show apimachinery's canonical form (``500m``, ``1Gi``, ``2``), which this module
reproduces: binary suffixes for quantities written with one, decimal otherwise.
"""

from __future__ import annotations

from decimal import Decimal

from ..kinds.quantity import parse_quantity

_BINARY = (("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10))
_DECIMAL = (("E", 18), ("P", 15), ("T", 12), ("G", 9), ("M", 6), ("k", 3))


class Quantity:
    """A value with the format (binary or decimal SI) it prints in."""

    __slots__ = ("value", "binary")

    def __init__(self, value: Decimal, binary: bool = False) -> None:
        self.value = value
        self.binary = binary

    @classmethod
    def parse(cls, text: object) -> "Quantity | None":
        value = parse_quantity(text)
        if value is None:
            return None
        return cls(value, isinstance(text, str) and text.strip().endswith("i"))

    def __add__(self, other: "Quantity") -> "Quantity":
        return Quantity(self.value + other.value, self.binary)

    def __sub__(self, other: "Quantity") -> "Quantity":
        return Quantity(self.value - other.value, self.binary)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"

    def __str__(self) -> str:
        return format_quantity(self.value, self.binary)


def format_quantity(value: Decimal, binary: bool = False) -> str:
    """resource.Quantity.String(): the canonical form of ``value``."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value != value.to_integral_value():
        for suffix, scale in (("m", 3), ("u", 6), ("n", 9)):
            scaled = value * (Decimal(10) ** scale)
            if scaled == scaled.to_integral_value() or suffix == "n":
                return f"{sign}{int(scaled.to_integral_value(rounding='ROUND_CEILING'))}{suffix}"
    number = int(value)
    if binary and number % 1024 == 0:
        for suffix, power in _BINARY:
            if number % (1 << power) == 0:
                return f"{sign}{number >> power}{suffix}"
    for suffix, power in _DECIMAL:
        if number % (10 ** power) == 0:
            return f"{sign}{number // 10 ** power}{suffix}"
    return f"{sign}{number}"


ResourceList = dict[str, Quantity]


def parse_list(raw: object) -> ResourceList:
    """A ResourceList from its JSON form (invalid entries are skipped: validation's job)."""
    out: ResourceList = {}
    for name, text in (raw or {}).items() if isinstance(raw, dict) else ():
        q = Quantity.parse(text)
        if q is not None:
            out[name] = q
    return out


def add(a: ResourceList, b: ResourceList) -> ResourceList:
    out = dict(a)
    for name, q in b.items():
        out[name] = out[name] + q if name in out else q
    return out


def subtract(a: ResourceList, b: ResourceList) -> ResourceList:
    out = dict(a)
    for name, q in b.items():
        out[name] = out[name] - q if name in out else Quantity(-q.value, q.binary)
    return out


def pretty(rl: ResourceList) -> str:
    """quota's prettyPrint: ``name=value`` pairs in name order, comma separated."""
    return ",".join(f"{name}={rl[name]}" for name in sorted(rl))


def to_json(rl: ResourceList) -> dict[str, str]:
    return {name: str(q) for name, q in sorted(rl.items())}
