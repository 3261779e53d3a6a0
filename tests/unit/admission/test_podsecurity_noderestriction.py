"""PodSecurity levels and messages; NodeRestriction for node identities."""

from __future__ import annotations

from conftest import pod

from pyk8s.apiserver.admission.podsecurity.checks import failures, forbidden_detail
from pyk8s.apiserver.user import UserInfo

ENFORCE = "pod-security.kubernetes.io/enforce"
WARN = "pod-security.kubernetes.io/warn"
NODE = UserInfo("system:node:n1", groups=("system:nodes", "system:authenticated"))


def detail(level: str, spec: dict, meta: dict | None = None) -> str:
    return forbidden_detail(failures(level, meta or {}, spec))


def test_restricted_messages():
    spec = pod("x", containers=[{"name": "c", "image": "i"}])["spec"]
    assert detail("restricted", spec) == (
        'allowPrivilegeEscalation != false (container "c" must set '
        'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container '
        '"c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or '
        'container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or '
        'container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
        '"Localhost")')
    assert detail("baseline", spec) == ""
    good = {"securityContext": {"runAsNonRoot": True,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "image": "i", "securityContext": {
                "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}
    assert detail("restricted", good) == ""


def test_baseline_messages():
    spec = {"hostNetwork": True, "hostPID": True,
            "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
            "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
            "containers": [
                {"name": "a", "image": "i", "ports": [{"containerPort": 80, "hostPort": 80}],
                 "securityContext": {"privileged": True, "capabilities": {"add": ["NET_ADMIN"]},
                                     "procMount": "Unmasked"}},
                {"name": "b", "image": "i", "securityContext": {
                    "seccompProfile": {"type": "Unconfined"},
                    "seLinuxOptions": {"type": "spc_t"}}}]}
    assert detail("baseline", spec) == (
        'non-default capabilities (container "a" must not include "NET_ADMIN" in '
        'securityContext.capabilities.add), host namespaces (hostNetwork=true, hostPID=true), '
        'hostPath volumes (volume "h"), hostPort (container "a" uses hostPort 80), privileged '
        '(container "a" must not set securityContext.privileged=true), procMount (container "a" '
        'must not set securityContext.procMount to "Unmasked"), seLinuxOptions (container "b" '
        'set forbidden securityContext.seLinuxOptions: type "spc_t"), seccompProfile (container '
        '"b" must not set securityContext.seccompProfile.type to "Unconfined"), forbidden '
        "sysctls (kernel.msgmax)")
    assert "restricted volume types (volume \"h\" uses restricted volume type \"hostPath\")" in \
        detail("restricted", spec)


async def test_enforce_and_warn(api):
    await api.namespace("locked", {ENFORCE: "baseline", WARN: "restricted"})
    result = await api.create("pods", pod(), "locked")
    assert result.warnings[-1].startswith(
        'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false')
    err = await api.refused(api.create("pods", pod("x", hostNetwork=True), "locked"))
    assert (err.code, err.message) == (
        403, 'pods "x" is forbidden: violates PodSecurity "baseline:latest": host namespaces '
             "(hostNetwork=true)")
    deployment = {"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": pod("", hostPID=True)["spec"]}}}
    result = await api.create("deployments", deployment, "locked", group="apps")
    assert any(w.startswith('would violate PodSecurity "restricted:latest": ')
               and "host namespaces (hostPID=true)" in w for w in result.warnings)

    def tighten(ns: dict) -> dict:
        ns["metadata"]["labels"][ENFORCE] = "restricted"
        return ns

    result = await api.update("namespaces", None, "locked", tighten)
    assert result.warnings == (
        'existing pods in namespace "locked" violate the new PodSecurity enforce level '
        '"restricted:latest"',
        "p: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, "
        "seccompProfile")
    err = await api.refused(api.create("namespaces", {"metadata": {
        "name": "bad", "labels": {ENFORCE: "strict"}}}))
    assert err.code == 422 and "must be one of privileged, baseline, restricted" in err.message


async def test_node_restriction(api):
    node = (await api.create("nodes", {"metadata": {"name": "n1"}})).object
    await api.create("nodes", {"metadata": {"name": "n2"}})
    err = await api.refused(api.update("nodes", None, "n2", lambda n: n, user=NODE))
    assert err.message == 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'

    def relabel(n: dict) -> dict:
        n["metadata"]["labels"] = {"node-role.kubernetes.io/control-plane": "",
                                   "topology.kubernetes.io/zone": "z"}
        return n

    err = await api.refused(api.update("nodes", None, "n1", relabel, user=NODE))
    assert err.message == ('nodes "n1" is forbidden: node "n1" is not allowed to modify labels: '
                           "node-role.kubernetes.io/control-plane")

    def taint(n: dict) -> dict:
        n["spec"] = {"taints": [{"key": "k", "effect": "NoSchedule"}]}
        return n

    err = await api.refused(api.update("nodes", None, "n1", taint, user=NODE))
    assert err.message == 'nodes "n1" is forbidden: node "n1" is not allowed to modify taints'
    err = await api.refused(api.create("pods", pod(nodeName="n1"), "default", user=NODE))
    assert err.message == ('pods "p" is forbidden: pod does not have '
                           '"kubernetes.io/config.mirror" annotation, node "n1" can only create '
                           "mirror pods")
    mirror = pod("mirror", nodeName="n1")
    mirror["metadata"].update(annotations={"kubernetes.io/config.mirror": "x"}, ownerReferences=[
        {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": node["metadata"]["uid"],
         "controller": True}])
    await api.create("pods", mirror, "default", user=NODE)
    await api.create("pods", pod("other", nodeName="n2"), "default")
    err = await api.refused(api.delete("pods", "default", "other", user=NODE))
    assert err.message == ('pods "other" is forbidden: node "n1" can only delete pods with '
                           "spec.nodeName set to itself")
    await api.create("namespaces", {"metadata": {"name": "kube-node-lease"}})
    await api.create("leases", {"metadata": {"name": "n1"}}, "kube-node-lease",
                     group="coordination.k8s.io", user=NODE)
    err = await api.refused(api.create("leases", {"metadata": {"name": "n2"}}, "kube-node-lease",
                                       group="coordination.k8s.io", user=NODE))
    assert err.message == ('leases.coordination.k8s.io "n2" is forbidden: can only access node '
                           "lease with the same name as the requesting node")
