"""Node authorizer: kubelets reach only what their own pods use."""

from __future__ import annotations

import pytest

from pyk8s.apiserver.authz import ALLOW, NO_OPINION, Attributes
from pyk8s.apiserver.authz.node import NodeAuthorizer, NodeGraph
from pyk8s.apiserver.user import UserInfo

NODE1 = UserInfo("system:node:n1", groups=("system:nodes", "system:authenticated"))
FAKE = UserInfo("system:node:n1", groups=("system:authenticated",))

POD = {"metadata": {"name": "web", "namespace": "a"},
       "spec": {"nodeName": "n1", "serviceAccountName": "runner",
                "imagePullSecrets": [{"name": "pull"}],
                "volumes": [{"name": "v", "secret": {"secretName": "vol-secret"}},
                            {"name": "c", "configMap": {"name": "cfg"}},
                            {"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
                            {"name": "p", "projected": {"sources": [
                                {"configMap": {"name": "proj"}}]}}],
                "containers": [{"name": "c", "env": [
                    {"name": "E", "valueFrom": {"secretKeyRef": {"name": "env-secret",
                                                                 "key": "k"}}}],
                    "envFrom": [{"configMapRef": {"name": "env-cfg"}}]}]}}
OTHER = {"metadata": {"name": "db", "namespace": "a"},
         "spec": {"nodeName": "n2", "volumes": [{"name": "v", "secret": {"secretName": "db"}}],
                  "containers": [{"name": "c"}]}}
PVC = {"metadata": {"name": "data", "namespace": "a"}, "spec": {"volumeName": "pv-1"}}


def authorizer() -> NodeAuthorizer:
    graph = NodeGraph([POD, OTHER], lambda ns, name: PVC if (ns, name) == ("a", "data") else None)
    return NodeAuthorizer(lambda: graph)


def req(verb, resource, name="", ns="a", group="", sub="", user=NODE1) -> Attributes:
    return Attributes(user=user, verb=verb, resource_request=True, namespace=ns, api_group=group,
                      resource=resource, subresource=sub, name=name)


@pytest.mark.parametrize("attrs,verdict", [
    (req("get", "secrets", "vol-secret"), ALLOW),
    (req("get", "secrets", "pull"), ALLOW),
    (req("get", "secrets", "env-secret"), ALLOW),
    (req("watch", "secrets", "vol-secret"), ALLOW),
    (req("get", "secrets", "db"), NO_OPINION),
    (req("list", "secrets"), NO_OPINION),
    (req("get", "secrets", "vol-secret", ns="b"), NO_OPINION),
    (req("update", "secrets", "vol-secret"), NO_OPINION),
    (req("get", "configmaps", "cfg"), ALLOW),
    (req("get", "configmaps", "proj"), ALLOW),
    (req("get", "configmaps", "env-cfg"), ALLOW),
    (req("get", "configmaps", "other"), NO_OPINION),
    (req("get", "persistentvolumeclaims", "data"), ALLOW),
    (req("get", "persistentvolumes", "pv-1", ns=""), ALLOW),
    (req("get", "persistentvolumes", "pv-2", ns=""), NO_OPINION),
    (req("create", "serviceaccounts", "runner", sub="token"), ALLOW),
    (req("create", "serviceaccounts", "default", sub="token"), NO_OPINION),
    (req("get", "nodes", "n2", ns=""), ALLOW),
    (req("list", "pods", ns=""), ALLOW),
    (req("get", "services", "s"), ALLOW),
    (req("patch", "nodes", "n1", ns=""), ALLOW),
    (req("patch", "nodes", "n1", ns="", sub="status"), ALLOW),
    (req("patch", "nodes", "n2", ns=""), NO_OPINION),
    (req("update", "nodes", "n2", ns="", sub="status"), NO_OPINION),
    (req("update", "pods", "web", sub="status"), ALLOW),
    (req("patch", "pods", "db", sub="status"), NO_OPINION),
    (req("update", "leases", "n1", ns="kube-node-lease", group="coordination.k8s.io"), ALLOW),
    (req("create", "leases", ns="kube-node-lease", group="coordination.k8s.io"), ALLOW),
    (req("update", "leases", "n2", ns="kube-node-lease", group="coordination.k8s.io"),
     NO_OPINION),
    (req("create", "events"), ALLOW),
    (req("create", "certificatesigningrequests", ns="", group="certificates.k8s.io"), ALLOW),
    (req("delete", "deployments", "x", group="apps"), NO_OPINION),
    (req("get", "secrets", "vol-secret", user=FAKE), NO_OPINION),
    (req("get", "nodes", "n1", ns="", user=UserInfo("alice")), NO_OPINION),
])
async def test_node_authorizer(attrs, verdict):
    assert (await authorizer().authorize(attrs)).verdict == verdict


async def test_no_relationship_reason():
    decision = await authorizer().authorize(req("get", "secrets", "db"))
    assert decision.reason == "no relationship found between node 'n1' and this object"
