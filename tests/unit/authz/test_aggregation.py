"""ClusterRole aggregation and the bootstrap policy's reconciliation."""

from __future__ import annotations

from pyk8s.apiserver.authz.aggregation import aggregated_rules, pending
from pyk8s.apiserver.authz.reconcile import default_objects, merge

A = {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]}
B = {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}


def cr(name, labels=None, rules=None, selector=None):
    obj = {"metadata": {"name": name, "labels": labels or {}}, "rules": rules or []}
    if selector:
        obj["aggregationRule"] = {"clusterRoleSelectors": [selector]}
    return obj


def test_aggregates_matching_roles_in_name_order_without_duplicates():
    view = cr("view", selector={"matchLabels": {"agg": "view"}})
    roles = [view, cr("z", {"agg": "view"}, [A]), cr("b", {"agg": "view"}, [B, A]),
             cr("other", {"agg": "edit"}, [{"verbs": ["*"]}])]
    assert aggregated_rules(view, roles) == [B, A]


def test_match_expressions_and_pending_only_changed():
    sel = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["x", "y"]}]}
    agg = cr("agg", selector=sel, rules=[A])
    roles = [agg, cr("a", {"tier": "y"}, [A])]
    assert pending(roles) == []
    roles.append(cr("b", {"tier": "x"}, [B]))
    assert pending(roles) == [("agg", [A, B])]


def test_chained_aggregation_edit_into_admin():
    admin = cr("admin", selector={"matchLabels": {"to-admin": "true"}})
    edit = cr("edit", {"to-admin": "true"}, [A], selector={"matchLabels": {"to-edit": "true"}})
    assert aggregated_rules(admin, [admin, edit]) == [A]


def test_defaults_hold_the_upstream_names():
    names = {(plural, o["metadata"]["name"]) for plural, o in default_objects()}
    for name in ("cluster-admin", "admin", "edit", "view", "system:basic-user",
                 "system:discovery", "system:public-info-viewer", "system:node",
                 "system:kube-scheduler", "system:kube-controller-manager",
                 "system:controller:deployment-controller", "system:auth-delegator"):
        assert ("clusterroles", name) in names
    assert ("clusterrolebindings", "system:controller:namespace-controller") in names
    binding = next(o for p, o in default_objects()
                   if p == "clusterrolebindings" and o["metadata"]["name"] == "cluster-admin")
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                    "name": "system:masters"}]


def test_merge_adds_missing_rules_and_subjects_only():
    wanted = {"metadata": {"name": "r", "labels": {"l": "1"}}, "rules": [A, B]}
    existing = {"metadata": {"name": "r", "labels": {"mine": "x"}},
                "rules": [A, {"verbs": ["create"], "apiGroups": ["x"], "resources": ["y"]}]}
    merged = merge(existing, wanted)
    assert merged["rules"][-1] == B and len(merged["rules"]) == 3
    assert merged["metadata"]["labels"] == {"mine": "x", "l": "1"}
    assert merge(merged, wanted) is None
    b_wanted = {"metadata": {"name": "b"}, "subjects": [{"kind": "Group", "name": "g"}]}
    b = {"metadata": {"name": "b"}, "subjects": [{"kind": "User", "name": "u"}]}
    assert merge(b, b_wanted)["subjects"] == [{"kind": "User", "name": "u"},
                                              {"kind": "Group", "name": "g"}]
