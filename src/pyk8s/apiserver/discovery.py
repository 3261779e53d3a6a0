"""API discovery: what groups, versions and resources this server serves.

Both forms client-go understands are built from the registry: the aggregated
``apidiscovery.k8s.io/v2`` documents it asks for first (one request for /api, one
for /apis) and the legacy APIVersions / APIGroupList / APIResourceList it falls
back to. Which form is answered depends only on the Accept header, and /api and
/apis always answer alike, as client-go requires.
"""

from __future__ import annotations

import hashlib

from .registry import SUBRESOURCE_SHAPES, Registry, ResourceType

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str | None) -> str | None:
    """The aggregated content type to answer with, or None for the legacy form."""
    for part in (accept or "").split(","):
        params = dict(
            p.strip().split("=", 1) for p in part.split(";")[1:] if "=" in p
        )
        if params.get("g") == "apidiscovery.k8s.io" and params.get("as") == "APIGroupDiscoveryList":
            return AGGREGATED_V2 if params.get("v") == "v2" else AGGREGATED_V2BETA1
    return None


def _subresource_kind(rt: ResourceType, sub: str) -> tuple[str, str, str]:
    override = SUBRESOURCE_SHAPES.get(sub, ((), None))[1]
    if override is None:
        return rt.group, rt.version, rt.kind
    group, version, kind = override
    return group, version, kind.format(kind=rt.kind)


def _storage_hash(rt: ResourceType) -> str:
    digest = hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).digest()
    import base64

    return base64.b64encode(digest[:8]).decode()


def _aggregated_resource(rt: ResourceType) -> dict:
    out: dict = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": sorted(rt.verbs),
    }
    if rt.short_names:
        out["shortNames"] = list(rt.short_names)
    if rt.categories:
        out["categories"] = list(rt.categories)
    subs = []
    for sub in rt.subresources:
        group, version, kind = _subresource_kind(rt, sub)
        subs.append({
            "subresource": sub,
            "responseKind": {"group": group, "version": version, "kind": kind},
            "verbs": sorted(SUBRESOURCE_SHAPES[sub][0]),
        })
    if subs:
        out["subresources"] = subs
    return out


def aggregated(registry: Registry, core: bool) -> dict:
    """APIGroupDiscoveryList for /api (core=True) or /apis."""
    items = []
    for group, versions in registry.group_versions().items():
        if (group == "") != core:
            continue
        item = {"metadata": {"name": group} if group else {"creationTimestamp": None},
                "versions": []}
        for version in versions:
            resources = [_aggregated_resource(rt) for rt in registry.in_group_version(group, version)]
            resources.sort(key=lambda r: r["resource"])
            item["versions"].append({"version": version, "resources": resources,
                                     "freshness": "Current"})
        items.append(item)
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {}, "items": items}


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def _group(group: str, versions: list[str]) -> dict:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list(registry: Registry) -> dict:
    groups = [_group(g, vs) for g, vs in registry.group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, group: str) -> dict | None:
    versions = registry.group_versions().get(group)
    if not versions or not group:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}


def resource_list(registry: Registry, group: str, version: str) -> dict | None:
    rts = registry.in_group_version(group, version)
    if not rts:
        return None
    resources = []
    for rt in rts:
        entry = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                 "kind": rt.kind, "verbs": sorted(rt.verbs)}
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        entry["storageVersionHash"] = _storage_hash(rt)
        resources.append(entry)
        for sub in rt.subresources:
            g, v, k = _subresource_kind(rt, sub)
            sub_entry = {"name": f"{rt.plural}/{sub}", "singularName": "",
                         "namespaced": rt.namespaced, "kind": k,
                         "verbs": sorted(SUBRESOURCE_SHAPES[sub][0])}
            if (g, v) != (rt.group, rt.version):
                sub_entry["group"], sub_entry["version"] = g, v
            resources.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}
