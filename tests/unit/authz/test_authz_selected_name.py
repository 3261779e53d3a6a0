"""A list or watch pinned to one name by fieldSelector is judged as that name's request
(upstream's RequestInfo), so kubelets may watch the single objects their pods use."""

from __future__ import annotations

import pytest

from pyk8s.apiserver.authz import ALLOW, NO_OPINION, attributes_for
from pyk8s.apiserver.authz.node import NodeAuthorizer, NodeGraph
from pyk8s.apiserver.requestinfo import parse_resource_path
from pyk8s.apiserver.user import UserInfo

NODE1 = UserInfo("system:node:n1", groups=("system:nodes", "system:authenticated"))
POD = {"metadata": {"name": "web", "namespace": "a"},
       "spec": {"nodeName": "n1", "containers": [{"name": "c"}],
                "volumes": [{"name": "v", "configMap": {"name": "cfg"}}]}}


def attrs(path: str, query: dict):
    return attributes_for("GET", path, parse_resource_path(path), query, NODE1)


@pytest.mark.parametrize("query,name", [
    ({"fieldSelector": "metadata.name=cfg"}, "cfg"),
    ({"fieldSelector": "metadata.name=cfg", "watch": "true"}, "cfg"),
    ({"fieldSelector": "metadata.name==cfg,metadata.namespace=a"}, "cfg"),
    ({"fieldSelector": "metadata.name!=cfg"}, ""),
    ({"fieldSelector": "metadata.name=.."}, ""),
    ({"fieldSelector": "bogus"}, ""),
    ({}, ""),
])
def test_name_from_field_selector(query, name):
    assert attrs("/api/v1/namespaces/a/configmaps", query).name == name


async def test_node_may_list_and_watch_only_referenced_objects_by_name():
    graph = NodeGraph([POD], lambda ns, name: None)
    node = NodeAuthorizer(lambda: graph)
    path = "/api/v1/namespaces/a/configmaps"
    for watch in ({}, {"watch": "1"}):
        allowed = await node.authorize(attrs(path, {"fieldSelector": "metadata.name=cfg",
                                                    **watch}))
        assert allowed.verdict == ALLOW
        other = await node.authorize(attrs(path, {"fieldSelector": "metadata.name=x", **watch}))
        assert other.verdict == NO_OPINION
        everything = await node.authorize(attrs(path, watch))
        assert everything.verdict == NO_OPINION
