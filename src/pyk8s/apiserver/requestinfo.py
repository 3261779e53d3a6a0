"""Parses resource URLs into what a request is about (upstream's RequestInfo).

``/api/v1/namespaces/ns/pods/name/status`` and ``/apis/apps/v1/deployments`` alike
become a :class:`RequestInfo`; the legacy ``/watch/`` path prefix is folded into a
watch flag. Namespaces are a resource whose names sit where other resources'
namespace segment does, hence the special cases.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RequestInfo:
    group: str
    version: str
    resource: str
    namespace: str | None = None
    name: str | None = None
    subresource: str = ""
    watch_path: bool = False


def parse_resource_path(path: str) -> RequestInfo | None:
    """None when the path is not a resource path (discovery, health, ...)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "api":
        if len(parts) < 3:
            return None
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis":
        if len(parts) < 4:
            return None
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    watch = False
    if rest and rest[0] == "watch":
        watch, rest = True, rest[1:]
        if not rest:
            return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in (
            "status", "finalize")):
        namespace, rest = rest[1], rest[2:]
    info = RequestInfo(group, version, rest[0], namespace, watch_path=watch)
    if len(rest) >= 2:
        info.name = rest[1]
    if len(rest) >= 3:
        # what follows a proxy subresource is the path asked of the backend
        info.subresource = "proxy" if rest[2] == "proxy" else "/".join(rest[2:])
    if info.resource == "namespaces" and namespace is None and info.name:
        info.namespace = None
    return info
