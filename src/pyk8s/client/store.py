"""The informer's local cache: objects by ``namespace/name`` key, plus secondary indexes.

client-go's ``cache.Indexer`` (threadSafeStore) for asyncio: all access happens on one event
loop, so no locks are needed as long as no method awaits. Indexers map an object to the
index values it is filed under (``namespace``, a pod's ``spec.nodeName``, owner uids, a
label's value...). Stored objects are shared with every reader and must never be mutated:
copy, then write through the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .meta import meta_namespace_key

IndexFunc = Callable[[dict], Iterable[str]]


def namespace_index(obj: dict) -> list[str]:
    namespace = (obj.get("metadata") or {}).get("namespace")
    return [namespace] if namespace else []


def node_name_index(obj: dict) -> list[str]:
    """Pods by ``spec.nodeName`` (unbound pods are filed under no node)."""
    node = (obj.get("spec") or {}).get("nodeName")
    return [node] if node else []


def owner_uid_index(obj: dict) -> list[str]:
    return [ref["uid"] for ref in (obj.get("metadata") or {}).get("ownerReferences") or ()
            if ref.get("uid")]


def label_index(label: str) -> IndexFunc:
    """An index on the value of one label."""
    def index(obj: dict) -> list[str]:
        value = ((obj.get("metadata") or {}).get("labels") or {}).get(label)
        return [value] if value is not None else []
    return index


NAMESPACE = "namespace"


class Store:
    """Objects by key with indexes kept in step on every write."""

    def __init__(self, indexers: dict[str, IndexFunc] | None = None, *,
                 key_func: Callable[[dict], str] = meta_namespace_key) -> None:
        self.key_func = key_func
        self._items: dict[str, dict] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE: namespace_index}
        self._indices: dict[str, dict[str, set[str]]] = {NAMESPACE: {}}
        self.add_indexers(indexers or {})

    def add_indexers(self, indexers: dict[str, IndexFunc]) -> None:
        """Add indexes (building them over the current contents)."""
        for name, func in indexers.items():
            if name in self._indexers:
                raise ValueError(f"indexer {name!r} already exists")
            self._indexers[name] = func
            self._indices[name] = {}
            for key, obj in self._items.items():
                self._file(name, key, obj)

    def indexer_names(self) -> list[str]:
        return list(self._indexers)

    def _file(self, index: str, key: str, obj: dict) -> None:
        for value in self._indexers[index](obj):
            self._indices[index].setdefault(value, set()).add(key)

    def _unfile(self, index: str, key: str, obj: dict) -> None:
        buckets = self._indices[index]
        for value in self._indexers[index](obj):
            keys = buckets.get(value)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del buckets[value]

    def _put(self, key: str, obj: dict) -> dict | None:
        old = self._items.get(key)
        for index in self._indexers:
            if old is not None:
                self._unfile(index, key, old)
            self._file(index, key, obj)
        self._items[key] = obj
        return old

    def add(self, obj: dict) -> dict | None:
        """Insert or replace; returns the previous object, if any."""
        return self._put(self.key_func(obj), obj)

    update = add

    def delete(self, obj: dict) -> dict | None:
        return self.delete_key(self.key_func(obj))

    def delete_key(self, key: str) -> dict | None:
        old = self._items.pop(key, None)
        if old is not None:
            for index in self._indexers:
                self._unfile(index, key, old)
        return old

    def replace(self, objs: Iterable[dict]) -> None:
        """Swap the whole contents (a relist)."""
        self._items = {}
        self._indices = {name: {} for name in self._indexers}
        for obj in objs:
            self.add(obj)

    def get(self, key: str) -> dict | None:
        """The object at ``namespace/name`` (or ``name`` for cluster-scoped kinds)."""
        return self._items.get(key)

    def get_by_name(self, name: str, namespace: str | None = None) -> dict | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def list(self) -> list[dict]:
        return list(self._items.values())

    def list_keys(self) -> list[str]:
        return list(self._items)

    def index_keys(self, index: str, value: str) -> list[str]:
        return sorted(self._indices[index].get(value, ()))

    def by_index(self, index: str, value: str) -> list[dict]:
        """Objects filed under ``value`` in ``index`` (KeyError for an unknown index)."""
        return [self._items[k] for k in self.index_keys(index, value)]

    def index_values(self, index: str) -> list[str]:
        return sorted(self._indices[index])
