"""Chooses a store backend from a datastore URL, as kine chooses by scheme."""

from __future__ import annotations

from urllib.parse import urlparse

from .interface import Store


def open_store(url: str) -> Store:
    """``memory://`` or ``sqlite:///abs/path/state.db`` (later ``etcd://host:2379``)."""
    scheme = urlparse(url).scheme
    if scheme == "memory":
        from .memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite":
        from .sqlite import SQLiteStore

        path = url[len("sqlite://") :]
        return SQLiteStore(path)
    raise ValueError(f"unsupported datastore endpoint {url!r} (use sqlite:///PATH or memory://)")
