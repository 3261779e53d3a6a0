"""Strategies of the built-in kinds: defaults and validation as upstream does them.

One module per kind (or family of kinds); :func:`strategy_for` maps a kind to its
strategy and falls back to the generic :class:`~pyk8s.apiserver.strategy.Strategy`.
"""

from __future__ import annotations

from ..strategy import Strategy

_STRATEGIES: dict[tuple[str, str], Strategy] = {}


def register(group: str, kind: str):
    """Class decorator: make the decorated Strategy the one for ``group``/``kind``."""

    def wrap(cls: type[Strategy]) -> type[Strategy]:
        _STRATEGIES[(group, kind)] = cls()
        return cls

    return wrap


def strategy_for(group: str, kind: str) -> Strategy:
    _load_all()
    return _STRATEGIES.get((group, kind)) or Strategy()


_loaded = False


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
