"""RBAC bindings: the role they grant and, in the wide columns, who receives it.

Roles and ClusterRoles have no dedicated printer upstream (``kubectl get roles`` shows NAME and
CREATED AT), so only the two binding kinds are here. Subjects are split as ``rbac.SubjectsStrings``
splits them: users, groups, and service accounts as ``namespace/name``.
"""

from __future__ import annotations

import datetime

from .base import Printer, age_column, age_of, column, dig, name_column, name_of
from .descriptions import doc


def subjects(binding: dict) -> tuple[str, str, str]:
    """Users, groups and service accounts of a binding, each joined by ``", "``."""
    users, groups, service_accounts = [], [], []
    for subject in binding.get("subjects") or []:
        if not isinstance(subject, dict):
            continue
        kind, name = subject.get("kind"), str(subject.get("name") or "")
        if kind == "ServiceAccount":
            service_accounts.append(f"{subject.get('namespace') or ''}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
    return ", ".join(users), ", ".join(groups), ", ".join(service_accounts)


def _binding_cells(binding: dict, now: datetime.datetime) -> list:
    kind = dig(binding, "roleRef", "kind", default="")
    role_ref = f"{kind}/{dig(binding, 'roleRef', 'name', default='')}"
    return [name_of(binding), role_ref, age_of(binding, now), *subjects(binding)]


def _binding_printer(go_type: str, noun: str) -> Printer:
    return Printer(
        [
            name_column(),
            column("Role", "string", doc(f"rbac/v1beta1.{go_type}.roleRef")),
            age_column(),
            column("Users", "string", f"Users in the {noun}", priority=1),
            column("Groups", "string", f"Groups in the {noun}", priority=1),
            column("ServiceAccounts", "string", f"ServiceAccounts in the {noun}", priority=1),
        ],
        _binding_cells,
    )


ROLE_BINDING = _binding_printer("RoleBinding", "roleBinding")
CLUSTER_ROLE_BINDING = _binding_printer("ClusterRoleBinding", "clusterRoleBinding")

PRINTERS = {
    ("rbac.authorization.k8s.io", "RoleBinding"): ROLE_BINDING,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): CLUSTER_ROLE_BINDING,
}
