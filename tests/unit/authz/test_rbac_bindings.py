"""Binding resolution: who gets which rules where, and the authorizer's answers."""

from __future__ import annotations

from pyk8s.apiserver.authz import ALLOW, NO_OPINION, Attributes
from pyk8s.apiserver.authz.rbac import RBACAuthorizer, RBACIndex
from pyk8s.apiserver.user import UserInfo

READ_PODS = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
NODES = [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]


def meta(name, ns=None):
    return {"name": name, **({"namespace": ns} if ns else {})}


def binding(name, kind, role, subjects, ns=None):
    return {"metadata": meta(name, ns), "roleRef": {"kind": kind, "name": role,
                                                     "apiGroup": "rbac.authorization.k8s.io"},
            "subjects": subjects}


def index() -> RBACIndex:
    return RBACIndex.build(
        roles=[{"metadata": meta("pod-reader", "a"), "rules": READ_PODS}],
        cluster_roles=[{"metadata": meta("reader"), "rules": READ_PODS},
                       {"metadata": meta("node-reader"), "rules": NODES}],
        role_bindings=[
            binding("rb1", "Role", "pod-reader", [{"kind": "User", "name": "alice"}], "a"),
            binding("rb2", "ClusterRole", "reader", [{"kind": "Group", "name": "devs"}], "b"),
            binding("rb3", "ClusterRole", "reader",
                    [{"kind": "ServiceAccount", "name": "default"}], "c"),
            binding("rb4", "ClusterRole", "reader",
                    [{"kind": "ServiceAccount", "name": "builder", "namespace": "ci"}], "d"),
            binding("rb5", "Role", "gone", [{"kind": "User", "name": "carol"}], "a"),
        ],
        cluster_role_bindings=[
            binding("crb", "ClusterRole", "node-reader", [{"kind": "User", "name": "bob"}]),
            binding("crb2", "Role", "pod-reader", [{"kind": "User", "name": "mallory"}]),
        ])


def attrs(user, verb="list", resource="pods", ns="a", name=""):
    return Attributes(user=user, verb=verb, resource_request=True, namespace=ns,
                      resource=resource, name=name)


async def check(user, **kw) -> str:
    return (await RBACAuthorizer(index).authorize(attrs(user, **kw))).verdict


async def test_role_binding_grants_only_in_its_namespace():
    alice = UserInfo("alice", groups=("system:authenticated",))
    assert await check(alice) == ALLOW
    assert await check(alice, ns="b") == NO_OPINION
    assert await check(alice, verb="delete") == NO_OPINION
    assert await check(alice, ns="") == NO_OPINION


async def test_cluster_role_via_role_binding_and_groups():
    dev = UserInfo("dan", groups=("devs",))
    assert await check(dev, ns="b") == ALLOW
    assert await check(dev, ns="a") == NO_OPINION


async def test_cluster_role_binding_grants_everywhere():
    bob = UserInfo("bob")
    assert await check(bob, resource="nodes", verb="get", ns="") == ALLOW
    assert await check(bob, resource="nodes", verb="get", ns="zzz") == ALLOW
    assert await check(bob) == NO_OPINION


async def test_service_account_subjects():
    assert await check(UserInfo("system:serviceaccount:c:default"), ns="c") == ALLOW
    assert await check(UserInfo("system:serviceaccount:x:default"), ns="c") == NO_OPINION
    assert await check(UserInfo("system:serviceaccount:ci:builder"), ns="d") == ALLOW


async def test_cluster_role_binding_to_a_role_grants_nothing():
    assert await check(UserInfo("mallory")) == NO_OPINION


async def test_missing_role_is_reported_in_the_reason():
    decision = await RBACAuthorizer(index).authorize(attrs(UserInfo("carol")))
    assert decision.verdict == NO_OPINION
    assert decision.reason == 'RBAC: role.rbac.authorization.k8s.io "gone" not found'


async def test_allow_reason_names_the_binding():
    decision = await RBACAuthorizer(index).authorize(attrs(UserInfo("alice")))
    assert decision.reason == \
        'RBAC: allowed by RoleBinding "rb1/a" of Role "pod-reader" to User "alice"'


def test_rules_for_merges_cluster_and_namespace_grants():
    rules, errs = index().rules_for(UserInfo("bob", groups=("devs",)), "b")
    assert rules == NODES + READ_PODS and errs == []
    rules, errs = index().rules_for(UserInfo("bob", groups=("devs",)), "")
    assert rules == NODES
