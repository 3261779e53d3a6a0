"""Escalation prevention: no granting of permissions one does not hold."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pyk8s.apiserver import errors
from pyk8s.apiserver.admission import AdmissionRequest
from pyk8s.apiserver.authz import Chain, MastersAuthorizer
from pyk8s.apiserver.authz.escalation import RBAC_KEY, RBACEscalation
from pyk8s.apiserver.authz.rbac import RBACAuthorizer, RBACIndex
from pyk8s.apiserver.resources import builtin_registry
from pyk8s.apiserver.user import UserInfo

REG = builtin_registry()
G = "rbac.authorization.k8s.io"
PODS_RW = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "create"]}
ESCALATE = {"apiGroups": [G], "resources": ["roles"], "verbs": ["escalate"]}
BIND = {"apiGroups": [G], "resources": ["clusterroles"], "verbs": ["bind"],
        "resourceNames": ["powerful"]}


def ctx():
    idx = RBACIndex.build(
        roles=[],
        cluster_roles=[{"metadata": {"name": "pods"}, "rules": [PODS_RW]},
                       {"metadata": {"name": "esc"}, "rules": [ESCALATE]},
                       {"metadata": {"name": "binder"}, "rules": [BIND]},
                       {"metadata": {"name": "powerful"}, "rules": [
                           {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}],
        role_bindings=[
            {"metadata": {"name": "b", "namespace": "x"},
             "roleRef": {"kind": "ClusterRole", "name": "pods"},
             "subjects": [{"kind": "User", "name": "u"}, {"kind": "User", "name": "e"},
                          {"kind": "User", "name": "k"}]},
            {"metadata": {"name": "c", "namespace": "x"},
             "roleRef": {"kind": "ClusterRole", "name": "esc"},
             "subjects": [{"kind": "User", "name": "e"}]},
            {"metadata": {"name": "d", "namespace": "x"},
             "roleRef": {"kind": "ClusterRole", "name": "binder"},
             "subjects": [{"kind": "User", "name": "k"}]}],
        cluster_role_bindings=[])
    rbac = RBACAuthorizer(lambda: idx)
    return SimpleNamespace(config={RBAC_KEY: rbac}, authorizer=Chain([MastersAuthorizer(), rbac]))


def role(rules):
    return {"metadata": {"name": "r", "namespace": "x"}, "rules": rules}


def request(plural, obj, user, old=None):
    rt = REG.get(G, "v1", plural)
    ns = "x" if rt.namespaced else None
    return AdmissionRequest("UPDATE" if old else "CREATE", rt, ns, obj["metadata"]["name"], user,
                            obj, old)


async def test_role_within_held_rules_is_allowed():
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    await RBACEscalation().validate(ctx(), request("roles", role(rules), UserInfo("u")))


async def test_role_beyond_held_rules_is_refused_with_upstream_message():
    rules = [{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get", "delete"]}]
    user = UserInfo("u", groups=("system:authenticated",))
    with pytest.raises(errors.APIError) as err:
        await RBACEscalation().validate(ctx(), request("roles", role(rules), user))
    assert err.value.code == 403
    assert err.value.message == (
        'roles.rbac.authorization.k8s.io "r" is forbidden: user "u" '
        '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently '
        'held:\n{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}\n'
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}')


async def test_escalate_verb_and_masters_bypass():
    rules = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    await RBACEscalation().validate(ctx(), request("roles", role(rules), UserInfo("e")))
    await RBACEscalation().validate(ctx(), request("roles", role(rules), UserInfo(
        "admin", groups=("system:masters",))))


async def test_unchanged_rules_on_update_are_not_checked():
    rules = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    obj = role(rules)
    await RBACEscalation().validate(ctx(), request("roles", obj, UserInfo("u"), old=obj))


def rb(role_name):
    return {"metadata": {"name": "rb", "namespace": "x"},
            "roleRef": {"apiGroup": G, "kind": "ClusterRole", "name": role_name},
            "subjects": [{"kind": "User", "name": "v"}]}


async def test_binding_needs_the_rules_or_bind():
    await RBACEscalation().validate(ctx(), request("rolebindings", rb("pods"), UserInfo("u")))
    with pytest.raises(errors.APIError) as err:
        await RBACEscalation().validate(ctx(), request("rolebindings", rb("powerful"),
                                                       UserInfo("u")))
    assert "is attempting to grant RBAC permissions not currently held" in err.value.message
    await RBACEscalation().validate(ctx(), request("rolebindings", rb("powerful"), UserInfo("k")))


async def test_binding_to_missing_role_is_not_found():
    with pytest.raises(errors.APIError) as err:
        await RBACEscalation().validate(ctx(), request("rolebindings", rb("nope"), UserInfo("u")))
    assert err.value.code == 404
