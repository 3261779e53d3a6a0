"""Rule matching and covering tables (RuleAllows and Covers upstream)."""

from __future__ import annotations

import pytest

from pyk8s.apiserver.authz import Attributes
from pyk8s.apiserver.authz.rules import compact, compact_string, rule_allows, uncovered
from pyk8s.apiserver.user import UserInfo

U = UserInfo("u")


def res(verb, resource, group="", sub="", name="", ns="x") -> Attributes:
    return Attributes(user=U, verb=verb, resource_request=True, namespace=ns, api_group=group,
                      resource=resource, subresource=sub, name=name)


def url(verb, path) -> Attributes:
    return Attributes(user=U, verb=verb, resource_request=False, path=path)


PODS = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}


@pytest.mark.parametrize("rule,attrs,allowed", [
    (PODS, res("get", "pods"), True),
    (PODS, res("delete", "pods"), False),
    (PODS, res("get", "pods", group="apps"), False),
    (PODS, res("get", "pods", sub="log"), False),
    (PODS, res("get", "services"), False),
    ({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
     res("get", "pods", sub="log"), True),
    ({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}, res("get", "pods"), False),
    ({"apiGroups": ["*"], "resources": ["*/scale"], "verbs": ["get"]},
     res("get", "deployments", group="apps", sub="scale"), True),
    ({"apiGroups": ["*"], "resources": ["*/scale"], "verbs": ["get"]},
     res("get", "deployments", group="apps"), False),
    ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
     res("escalate", "roles", group="rbac.authorization.k8s.io"), True),
    ({"apiGroups": [""], "resources": ["*"], "verbs": ["get"]},
     res("get", "pods", sub="status"), True),
    ({"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"], "verbs": ["get"]},
     res("get", "configmaps", name="a"), True),
    ({"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"], "verbs": ["get"]},
     res("get", "configmaps", name="b"), False),
    ({"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"], "verbs": ["list"]},
     res("list", "configmaps"), False),
    ({"nonResourceURLs": ["/healthz"], "verbs": ["get"]}, url("get", "/healthz"), True),
    ({"nonResourceURLs": ["/healthz"], "verbs": ["get"]}, url("get", "/healthz/etcd"), False),
    ({"nonResourceURLs": ["/apis/*"], "verbs": ["get"]}, url("get", "/apis/apps/v1"), True),
    ({"nonResourceURLs": ["/apis/*"], "verbs": ["get"]}, url("get", "/api"), False),
    ({"nonResourceURLs": ["*"], "verbs": ["*"]}, url("post", "/anything"), True),
    (PODS, url("get", "/api"), False),
    ({"nonResourceURLs": ["*"], "verbs": ["*"]}, res("get", "pods"), False),
])
def test_rule_allows(rule, attrs, allowed):
    assert rule_allows(attrs, rule) is allowed


def test_covers_exact_star_and_subresource_wildcards():
    owner = [{"apiGroups": [""], "resources": ["pods", "*/status"], "verbs": ["get", "list"]},
             {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["*"]},
             {"nonResourceURLs": ["/metrics/*"], "verbs": ["get"]}]
    assert uncovered(owner, [{"apiGroups": [""], "resources": ["pods", "pods/status"],
                              "verbs": ["get"]}]) == []
    assert uncovered(owner, [{"apiGroups": ["apps"], "resources": ["deployments/scale"],
                              "verbs": ["patch"], "resourceNames": ["d"]}]) == []
    assert uncovered(owner, [{"nonResourceURLs": ["/metrics/slis"], "verbs": ["get"]}]) == []
    missing = uncovered(owner, [{"apiGroups": [""], "resources": ["pods", "secrets"],
                                 "verbs": ["get", "delete"]}])
    assert [compact_string(r) for r in compact(missing)] == [
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}',
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}']


def test_resource_names_in_owner_do_not_cover_all_names():
    owner = [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"],
              "verbs": ["get"]}]
    assert uncovered(owner, [{"apiGroups": [""], "resources": ["configmaps"],
                              "resourceNames": ["a"], "verbs": ["get"]}]) == []
    assert uncovered(owner, [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}])


def test_wildcard_verb_is_only_covered_by_wildcard():
    owner = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "create"]}]
    assert uncovered(owner, [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}])
