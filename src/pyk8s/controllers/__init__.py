"""The controllers of ``pyk8s controller-manager``, one module per controller.

Each controller registers itself by name with :func:`register`; the controller
manager imports every module of this package, then starts the controllers that
``--controllers`` selects (``*`` = all enabled by default, ``name`` enables one,
``-name`` disables one), as kube-controller-manager does.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import Controller, ControllerContext

_REGISTRY: dict[str, tuple[type[Controller], bool]] = {}


def register(name: str, *, default: bool = True):
    """Class decorator: make ``cls`` the controller called ``name``."""

    def wrap(cls: type[Controller]) -> type[Controller]:
        cls.name = name
        _REGISTRY[name] = (cls, default)
        return cls

    return wrap


def load_all() -> dict[str, tuple[type[Controller], bool]]:
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")
    return dict(_REGISTRY)


def select(spec: str) -> list[type[Controller]]:
    """The controllers a ``--controllers`` value names, in registration order."""
    known = load_all()
    items = [s.strip() for s in spec.split(",") if s.strip()] or ["*"]
    for item in items:
        name = item.lstrip("-")
        if name != "*" and name not in known:
            raise ValueError(f'"{name}" is not in the list of known controllers: '
                             + ", ".join(sorted(known)))
    chosen = []
    for name, (cls, default) in known.items():
        if f"-{name}" in items:
            continue
        if name in items or ("*" in items and default):
            chosen.append(cls)
    return chosen


__all__ = ["Controller", "ControllerContext", "register", "select", "load_all"]
