"""Plugins by name: the one place a profile's plugin names are turned into objects.

A factory takes the plugin's args (from ``pluginConfig``, already defaulted) and the
framework Handle (snapshot, listers, client) and answers the plugin. Out-of-tree plugins
are added by merging another Registry into the in-tree one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Factory = Callable[[dict, Any], Any]


class Registry(dict[str, Factory]):
    def register(self, name: str, factory: Factory) -> None:
        if name in self:
            raise ValueError(f"a plugin named {name!r} already exists")
        self[name] = factory

    def merged(self, other: Registry) -> Registry:
        out = Registry(self)
        for name, factory in other.items():
            out.register(name, factory)
        return out
