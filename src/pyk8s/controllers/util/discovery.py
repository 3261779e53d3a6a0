"""Every resource the server serves, fresh from aggregated discovery, for generic controllers.

The namespace controller deletes "everything namespaced that can be deleted" and the garbage
collector watches "everything that can be listed, watched and deleted", custom resources
included; both need the whole served set, not one resource by name, and both must notice a
CRD that appeared a moment ago. So this asks /api and /apis directly (one request each, the
``apidiscovery.k8s.io/v2`` form) instead of going through the client's lookup cache, keeps
each group's preferred (first listed) version as client-go's ``ServerPreferredResources``
does, reports groups the server marks ``Stale`` as failed (upstream's
``ErrGroupDiscoveryFailed``), and maps every served (apiVersion, kind) so owner references
in any served version resolve, as the REST mapper does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ...client import Client, ResourceAPI
from ...client.discovery import AGGREGATED, Resource


@dataclass
class ServedResources:
    """One discovery pass: preferred resources, all of them by kind, and failed groups."""

    preferred: list[Resource] = field(default_factory=list)
    by_kind: dict[tuple[str, str], Resource] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def lookup(self, api_version: str, kind: str) -> Resource | None:
        return self.by_kind.get((api_version, kind))


def _resource(group: str, version: str, doc: dict) -> Resource:
    kind = (doc.get("responseKind") or {}).get("kind", "")
    return Resource(group=group, version=version, plural=doc["resource"], kind=kind,
                    namespaced=doc.get("scope") == "Namespaced",
                    verbs=frozenset(doc.get("verbs") or ()),
                    subresources=frozenset(s["subresource"]
                                           for s in doc.get("subresources") or ()))


def parse(docs: Iterable[dict]) -> ServedResources:
    """The served set described by APIGroupDiscoveryList documents (pure; for tests too)."""
    out = ServedResources()
    for doc in docs:
        for item in doc.get("items") or ():
            group = (item.get("metadata") or {}).get("name") or ""
            preferred_taken = False
            for ver in item.get("versions") or ():
                version = ver["version"]
                if ver.get("freshness") == "Stale":
                    out.failed.append(f"{group}/{version}" if group else version)
                    continue
                resources = [_resource(group, version, r) for r in ver.get("resources") or ()]
                for res in resources:
                    out.by_kind.setdefault((res.api_version, res.kind), res)
                if not preferred_taken:
                    out.preferred += resources
                    preferred_taken = True
    return out


async def discover(client: Client) -> ServedResources:
    """Ask the server what it serves now (raises the client's errors on failure)."""
    docs = [await client.request("GET", path, accept=AGGREGATED) for path in ("/api", "/apis")]
    return parse(docs)


def supporting(resources: Iterable[Resource], *verbs: str) -> list[Resource]:
    """The resources that support every one of ``verbs``."""
    wanted = set(verbs)
    return [r for r in resources if wanted <= r.verbs]


def resource_api(client: Client, res: Resource) -> ResourceAPI:
    """A ResourceAPI bound to an already discovered Resource (no lookup by name)."""
    async def resolve() -> Resource:
        return res

    return ResourceAPI(client, resolve)
