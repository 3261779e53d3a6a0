"""Real kubectl against RBAC: a permissions matrix, escalation, aggregation, can-i --list.

Users are impersonated by the admin (``--as``), as upstream's e2e tests do; every
permission is checked both with ``kubectl auth can-i`` and with a real request.
"""

from __future__ import annotations

import time

import pytest

from kubectl_cli import kubectl, ns  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e


def can_i(kubectl, user: str, *args: str) -> bool:
    out = kubectl("auth", "can-i", *args, "--as", user, check=False)
    assert out.stdout.strip() in ("yes", "no"), out
    return out.stdout.strip() == "yes"


def eventually(check, timeout: float = 5.0):
    """RBAC reads the watch cache: a binding takes effect within moments of its write."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


@pytest.fixture
def bound(kubectl, ns):
    """view/edit/admin bound in the test namespace to users of the same name."""
    for role in ("view", "edit", "admin"):
        kubectl("create", "rolebinding", f"{role}-binding", "-n", ns, f"--clusterrole={role}",
                f"--user={role}-user")
    assert eventually(lambda: can_i(kubectl, "admin-user", "get", "pods", "-n", ns))
    return ns


MATRIX = [
    # (verb, resource, view, edit, admin, cluster-admin)
    ("get", "pods", True, True, True, True),
    ("list", "configmaps", True, True, True, True),
    ("get", "secrets", False, True, True, True),
    ("create", "pods", False, True, True, True),
    ("delete", "deployments.apps", False, True, True, True),
    ("create", "roles.rbac.authorization.k8s.io", False, False, True, True),
    ("create", "rolebindings.rbac.authorization.k8s.io", False, False, True, True),
    ("create", "resourcequotas", False, False, False, True),
    ("list", "nodes", False, False, False, True),
]


def test_permission_matrix_can_i(kubectl, bound):
    kubectl("create", "clusterrolebinding", f"root-{bound}", "--clusterrole=cluster-admin",
            f"--user=root-{bound}")
    assert eventually(lambda: can_i(kubectl, f"root-{bound}", "list", "nodes"))
    users = ["view-user", "edit-user", "admin-user", f"root-{bound}"]
    for verb, resource, *expected in MATRIX:
        for user, allowed in zip(users, expected):
            where = () if resource == "nodes" else ("-n", bound)
            assert can_i(kubectl, user, verb, resource, *where) is allowed, (verb, resource, user)
    assert not can_i(kubectl, "admin-user", "get", "pods", "-n", "default")
    assert not can_i(kubectl, "nobody", "get", "pods", "-n", bound)
    kubectl("delete", "clusterrolebinding", f"root-{bound}")


def test_real_requests_follow_the_roles(kubectl, bound):
    ns = bound
    kubectl("create", "configmap", "cm", "-n", ns, "--from-literal=a=b")
    assert kubectl("get", "configmap", "cm", "-n", ns, "--as", "view-user").lines
    out = kubectl.fails("delete", "configmap", "cm", "-n", ns, "--as", "view-user")
    assert out.stderr.strip() == (
        'Error from server (Forbidden): configmaps "cm" is forbidden: User "view-user" cannot '
        f'delete resource "configmaps" in API group "" in the namespace "{ns}"')
    out = kubectl.fails("get", "secrets", "-n", ns, "--as", "view-user")
    assert out.stderr.strip() == (
        'Error from server (Forbidden): secrets is forbidden: User "view-user" cannot list '
        f'resource "secrets" in API group "" in the namespace "{ns}"')
    kubectl("create", "configmap", "cm2", "-n", ns, "--as", "edit-user")
    kubectl("delete", "configmap", "cm2", "-n", ns, "--as", "edit-user")
    out = kubectl.fails("create", "role", "r", "-n", ns, "--verb=get", "--resource=pods",
                        "--as", "edit-user")
    assert "cannot create resource \"roles\" in API group \"rbac.authorization.k8s.io\"" \
        in out.stderr
    kubectl("create", "role", "r", "-n", ns, "--verb=get", "--resource=pods", "--as", "admin-user")
    out = kubectl.fails("get", "pods", "-n", "default", "--as", "alice")
    assert out.stderr.strip() == (
        'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource '
        '"pods" in API group "" in the namespace "default"')
    out = kubectl.fails("get", "nodes", "--as", "admin-user")
    assert out.stderr.strip() == (
        'Error from server (Forbidden): nodes is forbidden: User "admin-user" cannot list '
        'resource "nodes" in API group "" at the cluster scope')


def test_service_account_permissions(kubectl, ns):
    sa = f"system:serviceaccount:{ns}:default"
    assert not can_i(kubectl, sa, "list", "pods", "-n", ns)
    out = kubectl.fails("get", "pods", "-n", ns, "--as", sa)
    assert f'User "{sa}" cannot list resource "pods"' in out.stderr
    kubectl("create", "rolebinding", "sa-view", "-n", ns, "--clusterrole=view",
            f"--serviceaccount={ns}:default")
    assert eventually(lambda: can_i(kubectl, sa, "list", "pods", "-n", ns))
    assert kubectl("get", "pods", "-n", ns, "--as", sa).returncode == 0
    assert not can_i(kubectl, sa, "create", "pods", "-n", ns)
    assert not can_i(kubectl, f"system:serviceaccount:{ns}:other", "list", "pods", "-n", ns)
    who = kubectl("auth", "whoami", "--as", sa, "-o", "jsonpath={.status.userInfo.groups}")
    assert who.stdout == ('["system:serviceaccounts","system:serviceaccounts:' + ns +
                          '","system:authenticated"]')


def test_impersonation_needs_permission(kubectl, bound):
    who = kubectl("auth", "whoami", "--as", "bob", "--as-group", "devs",
                  "-o", "jsonpath={.status.userInfo}")
    assert who.stdout == '{"groups":["devs","system:authenticated"],"username":"bob"}'
    assert not can_i(kubectl, "edit-user", "impersonate", "users")
    assert not can_i(kubectl, "edit-user", "impersonate", "groups")
    assert can_i(kubectl, "edit-user", "impersonate", "serviceaccounts", "-n", bound)


def test_escalation_refused(kubectl, bound):
    ns = bound
    out = kubectl.fails("create", "role", "too-much", "-n", ns, "--verb=get,list",
                        "--resource=nodes,pods", "--as", "admin-user")
    assert out.stderr.strip() == (
        'Error from server (Forbidden): roles.rbac.authorization.k8s.io "too-much" is '
        'forbidden: user "admin-user" (groups=["system:authenticated"]) is attempting to grant '
        'RBAC permissions not currently held:\n'
        '{APIGroups:[""], Resources:["nodes"], Verbs:["get" "list"]}')
    out = kubectl.fails("create", "rolebinding", "root", "-n", ns,
                        "--clusterrole=cluster-admin", "--user=admin-user", "--as", "admin-user")
    assert "is attempting to grant RBAC permissions not currently held" in out.stderr
    kubectl("create", "rolebinding", "ok", "-n", ns, "--clusterrole=view", "--user=x",
            "--as", "admin-user")


def test_aggregation_into_view_edit_admin(kubectl, ns):
    name = f"widgets-{ns}"
    kubectl("apply", "-f", "-", input=f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {name}
  labels:
    rbac.authorization.k8s.io/aggregate-to-view: "true"
rules:
- apiGroups: ["example.com"]
  resources: ["{name}"]
  verbs: ["get", "list"]
""")
    for role in ("view", "edit", "admin"):
        assert eventually(lambda role=role: name in kubectl(
            "get", "clusterrole", role, "-o", "jsonpath={.rules[*].resources}").stdout), role
    kubectl("label", "clusterrole", name, "rbac.authorization.k8s.io/aggregate-to-view-")
    assert eventually(lambda: name not in kubectl(
        "get", "clusterrole", "view", "-o", "jsonpath={.rules[*].resources}").stdout)
    kubectl("delete", "clusterrole", name)


def test_can_i_list(kubectl, bound):
    out = kubectl("auth", "can-i", "--list", "-n", bound, "--as", "view-user")
    table = out.table()
    assert table[0] == ["Resources", "Non-Resource URLs", "Resource Names", "Verbs"]
    rows = {row[0]: row[-1] for row in table[1:]}
    assert rows["pods"] == "[get list watch]"
    assert rows["selfsubjectaccessreviews.authorization.k8s.io"] == "[create]"
    assert "secrets" not in rows
    assert "[/api/*]" in out.stdout and "[/healthz]" in out.stdout
    assert "[*]" in kubectl("auth", "can-i", "--list").stdout


def test_default_policy_is_served(kubectl):
    roles = kubectl("get", "clusterroles", "-o", "name").stdout
    for name in ("cluster-admin", "admin", "edit", "view", "system:node",
                 "system:controller:deployment-controller", "system:kube-scheduler"):
        assert f"clusterrole.rbac.authorization.k8s.io/{name}\n" in roles
    subjects = kubectl("get", "clusterrolebinding", "system:basic-user",
                       "-o", "jsonpath={.subjects[*].name}").stdout
    assert subjects == "system:authenticated"
