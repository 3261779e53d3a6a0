"""Writes the default RBAC policy at start, as kube-apiserver's rbac/bootstrap-roles hook.

Missing objects are created. Existing ones whose autoupdate annotation is not
"false" get back what the defaults hold and they lack: rules (unless the role is
aggregated, when the aggregation controller owns its rules), selectors of an
aggregationRule, labels, annotations and binding subjects. Nothing is removed,
so an administrator's additions survive restarts.
"""

from __future__ import annotations

import copy
import logging

from .. import errors
from ..user import SYSTEM_APISERVER
from .bootstrappolicy import cluster_role_bindings, cluster_roles
from .controllerpolicy import (controller_role_bindings, controller_roles, namespace_role_bindings,
                               namespace_roles)
from .policydata import AUTOUPDATE, GROUP
from .rules import uncovered

log = logging.getLogger(__name__)


def default_objects() -> list[tuple[str, dict]]:
    """(plural, object) for every default, roles before the bindings that refer to them."""
    return ([("clusterroles", o) for o in cluster_roles() + controller_roles()]
            + [("clusterrolebindings", o) for o in cluster_role_bindings()
               + controller_role_bindings()]
            + [("roles", o) for o in namespace_roles()]
            + [("rolebindings", o) for o in namespace_role_bindings()])


def merge(existing: dict, wanted: dict) -> dict | None:
    """``existing`` with what ``wanted`` adds, or None when nothing is missing."""
    meta, changed = existing.setdefault("metadata", {}), False
    for field in ("labels", "annotations"):
        have = meta.setdefault(field, {})
        for key, value in wanted["metadata"].get(field, {}).items():
            if key not in have:
                have[key], changed = value, True
    if "aggregationRule" in wanted:
        have = existing.setdefault("aggregationRule", {}).setdefault("clusterRoleSelectors", [])
        for selector in wanted["aggregationRule"]["clusterRoleSelectors"]:
            if selector not in have:
                have.append(selector)
                changed = True
    elif "rules" in wanted:
        rules = existing.setdefault("rules", [])
        for rule in wanted["rules"]:
            if uncovered(rules, [rule]):
                rules.append(rule)
                changed = True
    if "subjects" in wanted:
        subjects = existing.setdefault("subjects", [])
        for subject in wanted["subjects"]:
            if not any(_same_subject(subject, s) for s in subjects):
                subjects.append(subject)
                changed = True
    return existing if changed else None


def _same_subject(a: dict, b: dict) -> bool:
    return all(a.get(k, "") == b.get(k, "") for k in ("kind", "name", "namespace"))


async def reconcile(ctx, objects) -> None:
    for plural, wanted in default_objects():
        rt = ctx.registry.get(GROUP, "v1", plural)
        namespace = wanted["metadata"].get("namespace")
        name = wanted["metadata"]["name"]

        def mutate(current: dict, wanted=wanted) -> dict:
            if (current["metadata"].get("annotations") or {}).get(AUTOUPDATE) == "false":
                return current
            return merge(current, wanted) or current

        try:
            await objects.update(rt, namespace, name, mutate, user=SYSTEM_APISERVER,
                                 create_if_missing=lambda wanted=wanted: copy.deepcopy(wanted),
                                 manager="kube-apiserver")
        except errors.APIError as err:
            log.warning("could not reconcile %s %s: %s", plural, name, err)

