"""Kinds as data: every served resource is one :class:`ResourceType` in a registry.

The generic REST handlers, discovery, OpenAPI and printing all read these records;
what differs between kinds (defaults, validation, selectable fields, allocation)
lives in the kind's :class:`~pyk8s.apiserver.strategy.Strategy`, not in handlers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .strategy import Strategy

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

# Subresource name -> (verbs, response kind override or None for the parent's kind).
SUBRESOURCE_SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, str, str] | None]] = {
    "status": (("get", "patch", "update"), None),
    "ephemeralcontainers": (("get", "patch", "update"), None),
    # the response kind is the parent's with "ProxyOptions" (PodProxyOptions, ...)
    "proxy": (("create", "delete", "get", "patch", "update"), ("", "v1", "{kind}ProxyOptions")),
    "scale": (("get", "patch", "update"), ("autoscaling", "v1", "Scale")),
    "binding": (("create",), ("", "v1", "Binding")),
    "eviction": (("create",), ("policy", "v1", "Eviction")),
    "approval": (("get", "patch", "update"), None),
    "finalize": (("update",), None),
    "token": (("create",), ("authentication.k8s.io", "v1", "TokenRequest")),
    "log": (("get",), None),
    "exec": (("create", "get"), ("", "v1", "PodExecOptions")),
    "attach": (("create", "get"), ("", "v1", "PodAttachOptions")),
    "portforward": (("create", "get"), ("", "v1", "PodPortForwardOptions")),
}


@dataclass
class ResourceType:
    """One served resource (a REST collection) and everything generic code needs of it."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    storage_name: str  # key segment in the store: /registry/<storage_name>/...
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    strategy: "Strategy | None" = None
    singular: str = ""
    # Resources that share storage with another (events.k8s.io/v1 events share core
    # events): the group of the resource whose form is stored.
    storage_group: str | None = None
    extra: dict = field(default_factory=dict)
    #: Computed, create-only resources (TokenReview, SubjectAccessReview...): never stored.
    virtual: bool = False

    def __post_init__(self) -> None:
        if not self.singular:
            self.singular = self.kind.lower()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def qualified(self) -> str:
        """``plural.group`` as errors name it (``pods``, ``deployments.apps``)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def prefix(self) -> str:
        """The store prefix of the whole collection, with a trailing slash."""
        return f"/registry/{self.storage_name}/"

    def key(self, namespace: str | None, name: str) -> str:
        if self.namespaced:
            return f"{self.prefix}{namespace}/{name}"
        return f"{self.prefix}{name}"

    def namespace_prefix(self, namespace: str | None) -> str:
        if self.namespaced and namespace:
            return f"{self.prefix}{namespace}/"
        return self.prefix


class Registry:
    """Lookup of served resources by group/version/plural, kind, and storage prefix."""

    def __init__(self) -> None:
        self._by_path: dict[tuple[str, str, str], ResourceType] = {}
        self._by_kind: dict[tuple[str, str, str], ResourceType] = {}
        self._order: list[ResourceType] = []

    def add(self, rt: ResourceType) -> None:
        self._by_path[(rt.group, rt.version, rt.plural)] = rt
        self._by_kind[(rt.group, rt.version, rt.kind)] = rt
        self._order.append(rt)

    def remove(self, rt: ResourceType) -> None:
        self._by_path.pop((rt.group, rt.version, rt.plural), None)
        self._by_kind.pop((rt.group, rt.version, rt.kind), None)
        self._order.remove(rt)

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((group, version, kind))

    def all(self) -> list[ResourceType]:
        return list(self._order)

    def group_versions(self) -> dict[str, list[str]]:
        """group -> versions served, in registration order (core group is "")."""
        out: dict[str, list[str]] = {}
        for rt in self._order:
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self._order if rt.group == group and rt.version == version]

    def storage_prefixes(self) -> dict[str, list[ResourceType]]:
        """store prefix -> resources stored there (more than one when storage is shared)."""
        out: dict[str, list[ResourceType]] = {}
        for rt in self._order:
            out.setdefault(rt.prefix, []).append(rt)
        return out
