"""The RBAC authorizer: Roles, ClusterRoles and their bindings decide who may do what.

ClusterRoleBindings grant their ClusterRole everywhere; RoleBindings grant a Role
or a ClusterRole inside their own namespace. The four kinds are read from the
watch cache into an index by subject, rebuilt only when one of them changes, so
judging a request costs a dictionary lookup and a scan of the user's own rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..user import UserInfo
from . import ALLOW, NO_OPINION, Attributes, Decision
from .cachewatch import ChangeFlag
from .rules import rule_allows

GROUP = "rbac.authorization.k8s.io"
SA_PREFIX = "system:serviceaccount:"
RBAC_RESOURCES = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")


@dataclass
class Grant:
    """One binding that applies to a subject: where it comes from and what it refers to."""

    binding_kind: str  # RoleBinding / ClusterRoleBinding
    binding_name: str
    binding_namespace: str
    role_kind: str  # Role / ClusterRole
    role_name: str
    subject: dict


@dataclass
class RBACIndex:
    """Roles by name and bindings by subject, at one moment of the cache."""

    cluster_roles: dict[str, list[dict]] = field(default_factory=dict)
    roles: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    # subject key -> grants; the namespace "" holds ClusterRoleBindings
    grants: dict[str, dict[tuple[str, str], list[Grant]]] = field(default_factory=dict)

    @classmethod
    def build(cls, roles: list[dict], cluster_roles: list[dict], role_bindings: list[dict],
              cluster_role_bindings: list[dict]) -> "RBACIndex":
        index = cls()
        for obj in cluster_roles:
            index.cluster_roles[obj["metadata"]["name"]] = obj.get("rules") or []
        for obj in roles:
            meta = obj["metadata"]
            index.roles[(meta.get("namespace", ""), meta["name"])] = obj.get("rules") or []
        for obj in cluster_role_bindings:
            index._add_binding("ClusterRoleBinding", "", obj)
        for obj in role_bindings:
            index._add_binding("RoleBinding", obj["metadata"].get("namespace", ""), obj)
        return index

    def _add_binding(self, kind: str, namespace: str, obj: dict) -> None:
        ref = obj.get("roleRef") or {}
        for subject in obj.get("subjects") or ():
            key = subject_key(subject, namespace)
            if key is None:
                continue
            grant = Grant(kind, obj["metadata"]["name"], namespace, ref.get("kind", ""),
                          ref.get("name", ""), subject)
            self.grants.setdefault(namespace, {}).setdefault(key, []).append(grant)

    def grants_for(self, user: UserInfo, namespace: str) -> list[Grant]:
        """ClusterRoleBindings first, then the RoleBindings of ``namespace``."""
        out: list[Grant] = []
        for ns in ("", namespace) if namespace else ("",):
            by_subject = self.grants.get(ns)
            if not by_subject:
                continue
            out += by_subject.get(("User", user.name), ())
            for group in user.groups:
                out += by_subject.get(("Group", group), ())
        return out

    def rules_of(self, grant: Grant) -> list[dict] | None:
        """The rules a grant refers to; None when the role does not exist."""
        if grant.role_kind == "ClusterRole":
            return self.cluster_roles.get(grant.role_name)
        if grant.role_kind == "Role" and grant.binding_kind == "RoleBinding":
            return self.roles.get((grant.binding_namespace, grant.role_name))
        return None

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[dict], list[str]]:
        """Every rule the user holds in ``namespace`` ("" = cluster-wide only), and the
        errors met resolving them (bindings to missing roles)."""
        rules: list[dict] = []
        errors: list[str] = []
        for grant in self.grants_for(user, namespace):
            found = self.rules_of(grant)
            if found is None:
                errors.append(_missing_role(grant))
            else:
                rules += found
        return rules, errors


def subject_key(subject: dict, namespace: str) -> tuple[str, str] | None:
    """The (kind, name) a subject matches users by; a ServiceAccount is its username."""
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return ("User", name)
    if kind == "Group":
        return ("Group", name)
    if kind == "ServiceAccount":
        sa_namespace = subject.get("namespace") or namespace
        if not sa_namespace:
            return None
        return ("User", f"{SA_PREFIX}{sa_namespace}:{name}")
    return None


def _missing_role(grant: Grant) -> str:
    kind = "clusterrole" if grant.role_kind == "ClusterRole" else "role"
    return f'{kind}.{GROUP} "{grant.role_name}" not found'


def _describe(grant: Grant) -> str:
    """``ClusterRoleBinding "x" of ClusterRole "y" to Group "z"`` (upstream's allow reason)."""
    where = f'RoleBinding "{grant.binding_name}/{grant.binding_namespace}"' \
        if grant.binding_kind == "RoleBinding" else f'ClusterRoleBinding "{grant.binding_name}"'
    subject = grant.subject
    who = subject.get("name", "")
    if subject.get("kind") == "ServiceAccount" and subject.get("namespace"):
        who = f'{who}/{subject["namespace"]}'
    return f'RBAC: allowed by {where} of {grant.role_kind} "{grant.role_name}" to ' \
           f'{subject.get("kind")} "{who}"'


class RBACAuthorizer:
    """Judges requests against the index that ``source`` builds (see :func:`cache_source`)."""

    def __init__(self, source: Callable[[], RBACIndex]) -> None:
        self._source = source

    @property
    def index(self) -> RBACIndex:
        return self._source()

    async def authorize(self, attrs: Attributes) -> Decision:
        index = self._source()
        errors = []
        for grant in index.grants_for(attrs.user, attrs.namespace):
            rules = index.rules_of(grant)
            if rules is None:
                errors.append(_missing_role(grant))
                continue
            for rule in rules:
                if rule_allows(attrs, rule):
                    return Decision(ALLOW, _describe(grant))
        if not errors:
            return Decision(NO_OPINION)
        joined = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        return Decision(NO_OPINION, f"RBAC: {joined}")

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[dict], list[str]]:
        return self._source().rules_for(user, namespace)


class CacheIndex:
    """Keeps an :class:`RBACIndex` current with the watch cache, rebuilt after changes."""

    def __init__(self, ctx) -> None:
        self._ctx = ctx
        self._index = RBACIndex()
        self._flag: ChangeFlag | None = None

    def _prefix(self, plural: str) -> str:
        return self._ctx.registry.get(GROUP, "v1", plural).prefix

    def __call__(self) -> RBACIndex:
        cache = self._ctx.watch_cache
        if cache is None:
            return self._index
        if self._flag is None:
            self._flag = ChangeFlag(cache, [self._prefix(p) for p in RBAC_RESOURCES])
        if self._flag.changed():
            lists = [cache.snapshot(self._prefix(p), self._prefix(p))[0] for p in RBAC_RESOURCES]
            self._index = RBACIndex.build(*lists)
        return self._index
