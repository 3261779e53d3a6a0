"""Tells the authorizers when the objects they index have changed in the watch cache.

The RBAC index and the node graph are rebuilt from cache snapshots, but only after
a change of the resources they read: a subscription per storage prefix whose filter
records the change and never queues an event, so keeping watch costs nothing.
"""

from __future__ import annotations


class ChangeFlag:
    """``changed()`` is True once after any write under the given prefixes."""

    def __init__(self, cache, prefixes: list[str]) -> None:
        self._cache = cache
        self._prefixes = prefixes
        self._subs: dict[str, object] = {}
        self._dirty = True

    def _mark(self, _event) -> bool:
        self._dirty = True
        return False

    def _resubscribe(self) -> None:
        for prefix in self._prefixes:
            sub = self._subs.get(prefix)
            if sub is not None and sub.queue.empty():
                continue
            if sub is not None:  # the cache relisted and ended every subscription
                self._cache.unsubscribe(prefix, sub)
            found = self._cache.subscribe(prefix, self._cache.revision, self._mark)
            self._subs[prefix] = found[0] if found else None
            self._dirty = True

    def changed(self) -> bool:
        self._resubscribe()
        dirty, self._dirty = self._dirty, False
        return dirty
