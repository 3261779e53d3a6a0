"""Which resources the server serves, from aggregated discovery, cached.

client-go's memcached discovery client in small: one request each to /api and /apis asking
for ``apidiscovery.k8s.io/v2`` APIGroupDiscoveryList, indexed by (group, version, kind) and
(group, version, plural). A miss refreshes the cache (at most once per ``min_refresh``
seconds) before giving up, so a just-created CRD resolves without restarting the process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from .errors import ResourceNotServed, status_body

log = logging.getLogger(__name__)

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


@dataclass(frozen=True)
class Resource:
    """One served resource: enough to build its URLs."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    verbs: frozenset[str] = frozenset()
    subresources: frozenset[str] = frozenset()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, *, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name:
            base += f"/{quote(name, safe='')}"
        if subresource:
            base += f"/{subresource}"
        return base


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _resources(doc: dict) -> list[Resource]:
    out = []
    for item in doc.get("items") or []:
        group = (item.get("metadata") or {}).get("name") or ""
        for ver in item.get("versions") or []:
            for res in ver.get("resources") or []:
                kind = (res.get("responseKind") or {}).get("kind", "")
                out.append(Resource(
                    group=group, version=ver["version"], plural=res["resource"], kind=kind,
                    namespaced=res.get("scope") == "Namespaced",
                    verbs=frozenset(res.get("verbs") or ()),
                    subresources=frozenset(s["subresource"]
                                           for s in res.get("subresources") or ())))
    return out


class Discovery:
    """A cache of served resources, filled by ``fetch(path, accept)``."""

    def __init__(self, fetch: Callable[[str, str], Awaitable[dict]], *,
                 min_refresh: float = 1.0) -> None:
        self._fetch = fetch
        self._by_kind: dict[tuple[str, str, str], Resource] = {}
        self._by_plural: dict[tuple[str, str, str], Resource] = {}
        self._loaded_at: float | None = None
        self.min_refresh = min_refresh

    async def refresh(self) -> None:
        resources = []
        for path in ("/api", "/apis"):
            resources += _resources(await self._fetch(path, AGGREGATED))
        self._by_kind = {(r.group, r.version, r.kind): r for r in resources}
        self._by_plural = {(r.group, r.version, r.plural): r for r in resources}
        self._loaded_at = time.monotonic()
        log.debug("discovery: %d resources", len(resources))

    async def _lookup(self, table: str, key: tuple[str, str, str]) -> Resource:
        found = getattr(self, table).get(key)
        if found is None and self._may_refresh():
            await self.refresh()
            found = getattr(self, table).get(key)
        if found is None:
            what = "/".join(p for p in key if p)
            raise ResourceNotServed(status_body(404, f"the server does not serve {what}",
                                                "NotFound"))
        return found

    def _may_refresh(self) -> bool:
        return (self._loaded_at is None
                or time.monotonic() - self._loaded_at >= self.min_refresh)

    async def by_kind(self, api_version: str, kind: str) -> Resource:
        group, version = split_api_version(api_version)
        return await self._lookup("_by_kind", (group, version, kind))

    async def by_plural(self, group: str, version: str, plural: str) -> Resource:
        return await self._lookup("_by_plural", (group, version, plural))

    def invalidate(self) -> None:
        """Forget when the cache was loaded so the next miss refreshes at once."""
        self._loaded_at = None
