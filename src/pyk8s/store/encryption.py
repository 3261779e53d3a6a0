"""Encryption at rest: a Store that encrypts the values of chosen resources.

``--encryption-provider-config`` names an EncryptionConfiguration; :func:`wrap_store`
puts an :class:`EncryptingStore` around the backend so that everything above it (the
watch cache, the REST handlers) sees plaintext while the database holds, for each
configured resource, values written by the first provider of its rule. Reads accept
any configured provider, so keys can be rotated: put the new key first, keep the old
one after it, restart, and rewrite the objects (a rewrite of an unchanged object must
still write when :meth:`EncryptingStore.stale` says its stored form is not the first
provider's; that is how upstream's GuaranteedUpdate behaves too).

Which keys belong to which resource follows upstream's etcd layout: a built-in
resource lives under ``/registry/<storage segment>/`` (``secrets``, ``minions`` for
nodes...), any other under ``/registry/<group>/<resource>/`` (custom resources).
An explicit resource beats ``*.group``, which beats ``*.*``; keys no rule covers are
stored as they are.
"""

from __future__ import annotations

from typing import AsyncIterator, Mapping

from .encryptionconfig import ResourceRule, load, parse_group_resource
from .interface import ConflictError, Event, KeyValue, ListResult, Store, StoreError
from .valuetransform import Identity, PrefixChain, TransformError, chain

#: Keys no rule covers are stored as they are, but must not hold encrypted values.
UNCOVERED = Identity()


class StorageTransformError(StoreError):
    """A stored value could not be decrypted with any configured provider."""


def builtin_segments() -> dict[tuple[str, str], str]:
    """(group, resource) -> store segment of the resources pyk8s serves and stores."""
    from ..apiserver.resources import builtin_registry

    return {(rt.group, rt.plural): rt.storage_name for rt in builtin_registry().all()
            if not rt.virtual and rt.storage_group is None}


class KeyRules:
    """Maps a storage key to the transformer of the resource it belongs to."""

    def __init__(self, rules: list[ResourceRule],
                 segments: Mapping[tuple[str, str], str]) -> None:
        providers: dict[tuple[str, str], list] = {}
        for rule in rules:
            for name in rule.resources:
                providers.setdefault(parse_group_resource(name), []).extend(rule.providers)
        chains = {gr: chain(specs) for gr, specs in providers.items()}
        by_prefix: dict[str, PrefixChain] = {}
        for (group, resource), transformer in chains.items():  # explicit resources first
            if "*" not in (group, resource):
                by_prefix[_prefix(group, resource, segments)] = transformer
        for (group, resource), transformer in chains.items():
            if resource == "*" and group != "*":
                for (g, r), segment in segments.items():
                    if g == group:
                        by_prefix.setdefault(f"/registry/{segment}/", transformer)
                if group:
                    by_prefix.setdefault(f"/registry/{group}/", transformer)
        # Longest prefix first: /registry/services/specs/ before a /registry/services/ rule.
        self._prefixes = sorted(by_prefix.items(), key=lambda item: -len(item[0]))
        self._default = chains.get(("*", "*"))

    def transformer(self, key: str) -> PrefixChain | None:
        for prefix, transformer in self._prefixes:
            if key.startswith(prefix):
                return transformer
        return self._default


def _prefix(group: str, resource: str, segments: Mapping[tuple[str, str], str]) -> str:
    segment = segments.get((group, resource))
    if segment is None:
        segment = f"{group}/{resource}" if group else resource
    return f"/registry/{segment}/"


class EncryptingStore(Store):
    """Delegates to ``inner``, transforming values on their way in and out."""

    def __init__(self, inner: Store, rules: KeyRules) -> None:
        self.inner = inner
        self.rules = rules

    # -- transforms ------------------------------------------------------------------

    def _seal(self, key: str, value: bytes) -> bytes:
        transformer = self.rules.transformer(key)
        return value if transformer is None else transformer.to_storage(value, key.encode())

    def _open(self, key: str, value: bytes) -> tuple[bytes, bool]:
        transformer = self.rules.transformer(key) or UNCOVERED
        try:
            return transformer.from_storage(value, key.encode())
        except TransformError as exc:
            raise StorageTransformError(f"unable to transform key {key!r}: {exc}") from None

    def _plain(self, kv: KeyValue | None) -> KeyValue | None:
        if kv is None:
            return None
        value, _ = self._open(kv.key, kv.value)
        return KeyValue(kv.key, value, kv.create_revision, kv.mod_revision)

    def _conflict(self, err: ConflictError) -> ConflictError:
        return ConflictError(err.args[0], self._plain(err.current))

    async def stale(self, kv: KeyValue) -> bool:
        """Whether the stored form of ``kv`` (at its mod_revision) was not written by the
        first provider and key of its rule, so an unchanged update must still write it."""
        raw = await self.inner.get(kv.key)
        if raw is None or raw.mod_revision != kv.mod_revision:
            return False
        return self._open(raw.key, raw.value)[1]

    # -- the Store contract ------------------------------------------------------------

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def current_revision(self) -> int:
        return await self.inner.current_revision()

    @property
    def compact_revision(self) -> int:
        return self.inner.compact_revision

    async def create(self, key: str, value: bytes) -> int:
        return await self.inner.create(key, self._seal(key, value))

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        return self._plain(await self.inner.get(key, revision))

    async def list(
        self, prefix: str, *, revision: int = 0, start_after: str = "", limit: int = 0
    ) -> ListResult:
        result = await self.inner.list(prefix, revision=revision, start_after=start_after,
                                       limit=limit)
        return ListResult([self._plain(kv) for kv in result.items], result.revision,
                          result.remaining)

    async def count(self, prefix: str) -> int:
        return await self.inner.count(prefix)

    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        try:
            return await self.inner.update(key, self._seal(key, value), expected_revision)
        except ConflictError as err:
            raise self._conflict(err) from None

    async def delete(self, key: str, expected_revision: int = 0) -> tuple[int, KeyValue]:
        try:
            revision, kv = await self.inner.delete(key, expected_revision)
        except ConflictError as err:
            raise self._conflict(err) from None
        return revision, self._plain(kv)

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[list[Event]]:
        # The inner watch starts now (start_revision 0 means "after the current revision").
        return self._plain_events(self.inner.watch(prefix, start_revision))

    async def _plain_events(self, events: AsyncIterator[list[Event]]) -> AsyncIterator[list[Event]]:
        try:
            async for batch in events:
                yield [Event(e.type, self._plain(e.kv), self._plain(e.prev)) for e in batch]
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    async def compact(self, revision: int) -> None:
        await self.inner.compact(revision)


def wrap_store(store: Store, config_path: str,
               segments: Mapping[tuple[str, str], str] | None = None) -> Store:
    """``store`` encrypting as the EncryptionConfiguration at ``config_path`` says.

    ``segments`` maps (group, resource) to its store segment; the built-in resources by
    default. Raises EncryptionConfigError for a missing or invalid file.
    """
    rules = load(config_path)
    return EncryptingStore(store, KeyRules(rules, builtin_segments() if segments is None
                                           else segments))
