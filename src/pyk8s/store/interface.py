"""The backend-neutral store contract, in the spirit of etcd's key-value model.

Everything above the backends (the API server, its watch cache) speaks only this
interface: keys are strings, values are bytes, and every write is stamped with a
global, monotonically increasing revision that becomes the object's
resourceVersion. Backends (``memory://``, ``sqlite://``, later ``etcd://``) are
chosen by URL in :mod:`pyk8s.store.factory`; the contract suite in
``tests/unit/store`` is the executable specification of this module.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import AsyncIterator, Literal


class StoreError(Exception):
    """Root of the storage sentinels; the API layer maps each to a Status."""


class KeyExistsError(StoreError):
    """create() of a key that already holds a live value."""


class KeyNotFoundError(StoreError):
    """update() or delete() of a key that holds no live value."""


class ConflictError(StoreError):
    """Compare-and-swap failed: the key's current revision is not the expected one."""

    def __init__(self, key: str, current: "KeyValue | None") -> None:
        super().__init__(key)
        self.current = current


class CompactedError(StoreError):
    """The requested revision is older than the compaction point."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"requested revision {requested} is compacted (at {compacted})")
        self.requested = requested
        self.compacted = compacted


class FutureRevisionError(StoreError):
    """The requested revision is newer than anything the store has written."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"requested revision {requested} is newer than current {current}")
        self.requested = requested
        self.current = current


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One live value: ``mod_revision`` is its resourceVersion."""

    key: str
    value: bytes
    create_revision: int
    mod_revision: int


@dataclass(frozen=True, slots=True)
class Event:
    """A change in the log. For DELETE, ``kv.mod_revision`` is the deletion's revision
    and ``kv.value`` the last value the key held (what watchers report as DELETED)."""

    type: Literal["PUT", "DELETE"]
    kv: KeyValue
    prev: KeyValue | None = None


@dataclass(frozen=True, slots=True)
class ListResult:
    """A page of a prefix listing taken at ``revision``; ``remaining`` counts keys after it."""

    items: list[KeyValue]
    revision: int
    remaining: int = 0


class Store(abc.ABC):
    """A revisioned key-value store. All methods are coroutines safe to call from the
    event loop; blocking I/O happens inside the backend."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Open files or connections; called once before any other call."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Flush and release resources; pending watches end."""

    @abc.abstractmethod
    async def current_revision(self) -> int:
        """The revision of the latest write (0 for an empty store)."""

    @property
    @abc.abstractmethod
    def compact_revision(self) -> int:
        """Revisions at or below this one are no longer readable."""

    @abc.abstractmethod
    async def create(self, key: str, value: bytes) -> int:
        """Store ``value`` under ``key`` if it holds no live value; return the new revision.
        Raises KeyExistsError."""

    @abc.abstractmethod
    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        """The value of ``key`` at ``revision`` (0 = latest), or None."""

    @abc.abstractmethod
    async def list(
        self, prefix: str, *, revision: int = 0, start_after: str = "", limit: int = 0
    ) -> ListResult:
        """Live values under ``prefix`` at ``revision`` (0 = latest) in key order, starting
        after ``start_after``; at most ``limit`` items when limit > 0.
        Raises CompactedError or FutureRevisionError for unreadable revisions."""

    @abc.abstractmethod
    async def count(self, prefix: str) -> int:
        """Number of live keys under ``prefix`` now."""

    @abc.abstractmethod
    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        """Replace the value of ``key`` if its mod_revision equals ``expected_revision``;
        return the new revision. Raises KeyNotFoundError or ConflictError."""

    @abc.abstractmethod
    async def delete(self, key: str, expected_revision: int = 0) -> tuple[int, KeyValue]:
        """Delete ``key`` (guarded by ``expected_revision`` unless 0); return the deletion's
        revision and the value deleted. Raises KeyNotFoundError or ConflictError."""

    @abc.abstractmethod
    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[list[Event]]:
        """Batches of events under ``prefix`` with revision >= ``start_revision``, in
        revision order, until the consumer stops iterating or the store closes.
        Raises CompactedError (at the first iteration) when start_revision is compacted."""

    @abc.abstractmethod
    async def compact(self, revision: int) -> None:
        """Forget history at or below ``revision`` (live values stay readable)."""

    async def stale(self, kv: KeyValue) -> bool:
        """Whether ``kv``, read from this store, is stored in an outdated form (say, under
        a rotated encryption key), so that rewriting it unchanged must still write.
        Plain backends store values as given: never."""
        return False
