"""Building blocks of the default RBAC policy: rule and object constructors.

The bootstrap policy (cluster-wide roles, controller roles, namespace roles) is
written with these, so each role reads as upstream's policy.go does: verbs, groups,
resources, and the labels and annotations every default object carries.
"""

from __future__ import annotations

READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete", "deletecollection")
READ_WRITE = READ + WRITE
READ_UPDATE = READ + ("update", "patch")

AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
API_VERSION = "rbac.authorization.k8s.io/v1"
GROUP = "rbac.authorization.k8s.io"


def rule(verbs, groups, resources, names=()) -> dict:
    """A resource rule; ``verbs``/``groups``/``resources`` take a string or a sequence.
    Lists are sorted as upstream's RuleOrDie does."""
    out = {"apiGroups": sorted(_seq(groups)), "resources": sorted(_seq(resources)),
           "verbs": sorted(_seq(verbs))}
    if names:
        out["resourceNames"] = sorted(_seq(names))
    return out


def urls(verbs, paths) -> dict:
    return {"nonResourceURLs": sorted(_seq(paths)), "verbs": sorted(_seq(verbs))}


def events_rule() -> dict:
    """What every component that records events needs (eventsRule upstream)."""
    return rule(("create", "update", "patch"), ("", "events.k8s.io"), "events")


def _seq(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _meta(name: str, labels: dict | None = None, namespace: str | None = None) -> dict:
    meta = {"name": name, "labels": {**(labels or {}), **BOOTSTRAP_LABELS},
            "annotations": {AUTOUPDATE: "true"}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def cluster_role(name: str, rules: list[dict], labels: dict | None = None,
                 aggregate_from: str | None = None) -> dict:
    obj = {"apiVersion": API_VERSION, "kind": "ClusterRole", "metadata": _meta(name, labels),
           "rules": rules}
    if aggregate_from:
        obj["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{aggregate_from}": "true"}}]}
        obj["rules"] = []
    return obj


def role(namespace: str, name: str, rules: list[dict]) -> dict:
    return {"apiVersion": API_VERSION, "kind": "Role", "metadata": _meta(name, None, namespace),
            "rules": rules}


def user(name: str) -> dict:
    return {"apiGroup": GROUP, "kind": "User", "name": name}


def group(name: str) -> dict:
    return {"apiGroup": GROUP, "kind": "Group", "name": name}


def service_account(namespace: str, name: str) -> dict:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def cluster_binding(role_name: str, *subjects: dict, name: str | None = None) -> dict:
    return {"apiVersion": API_VERSION, "kind": "ClusterRoleBinding",
            "metadata": _meta(name or role_name),
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role_name},
            "subjects": list(subjects)}


def role_binding(namespace: str, role_name: str, *subjects: dict,
                 name: str | None = None) -> dict:
    return {"apiVersion": API_VERSION, "kind": "RoleBinding",
            "metadata": _meta(name or role_name, None, namespace),
            "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": role_name},
            "subjects": list(subjects)}
