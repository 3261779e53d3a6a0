"""Revisioned key-value storage behind one small interface (see interface.py)."""

from .factory import open_store
from .interface import (
    CompactedError,
    ConflictError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    Store,
    StoreError,
)

__all__ = [
    "CompactedError",
    "ConflictError",
    "Event",
    "FutureRevisionError",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyValue",
    "ListResult",
    "Store",
    "StoreError",
    "open_store",
]
