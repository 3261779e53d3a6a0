"""NamespaceLifecycle, ServiceAccount, Priority, DefaultTolerationSeconds through the
object store, as a create through the API runs them."""

from __future__ import annotations

from conftest import pod

from pyk8s.apiserver.admission.priority import ensure_builtin_priority_classes


async def test_namespace_lifecycle(api):
    err = await api.refused(api.create("configmaps", {"metadata": {"name": "c"}}, "nope"))
    assert (err.code, err.message) == (404, 'namespaces "nope" not found')
    await api.namespace("doomed")
    await api.update("namespaces", None, "doomed", lambda ns: {
        **ns, "spec": {"finalizers": ["kubernetes"]}})
    await api.delete("namespaces", None, "doomed")
    err = await api.refused(api.create("configmaps", {"metadata": {"name": "c"}}, "doomed"))
    assert (err.code, err.message) == (403, 'configmaps "c" is forbidden: unable to create new '
                                             "content in namespace doomed because it is being "
                                             "terminated")
    assert err.details["causes"][0]["reason"] == "NamespaceTerminating"
    err = await api.refused(api.delete("namespaces", None, "default"))
    assert (err.code, err.message) == (
        403, 'namespaces "default" is forbidden: this namespace may not be deleted')


async def test_service_account_token_volume(api):
    created = (await api.create("pods", pod(initContainers=[{"name": "i", "image": "x"}]),
                                "default")).object
    spec = created["spec"]
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    volume = spec["volumes"][-1]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == 21
    assert volume["projected"] == {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt",
                                                              "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}
    mount = {"name": volume["name"], "readOnly": True,
             "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
    assert spec["containers"][0]["volumeMounts"] == [mount]
    assert spec["initContainers"][0]["volumeMounts"] == [mount]

    opted_out = (await api.create("pods", pod("q", automountServiceAccountToken=False),
                                  "default")).object
    assert "volumes" not in opted_out["spec"]


async def test_service_account_must_exist(api, monkeypatch):
    monkeypatch.setattr("pyk8s.apiserver.admission.serviceaccount.DEFAULT_LOOKUP_ATTEMPTS", 1)
    err = await api.refused(api.create("pods", pod(serviceAccountName="robot"), "default"))
    assert (err.code, err.message) == (403, 'pods "p" is forbidden: error looking up service '
                                             'account default/robot: serviceaccount "robot" '
                                             "not found")
    await api.namespace("bare", sa=False)
    err = await api.refused(api.create("pods", pod(), "bare"))
    assert "error looking up service account bare/default" in err.message


async def test_default_tolerations(api):
    spec = (await api.create("pods", pod(), "default")).object["spec"]
    assert spec["tolerations"] == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300}]
    spec = (await api.create("pods", pod("q", tolerations=[{"operator": "Exists"}]),
                             "default")).object["spec"]
    assert spec["tolerations"] == [{"operator": "Exists"}]


async def test_priority(api, ctx):
    await ensure_builtin_priority_classes(ctx)
    await ensure_builtin_priority_classes(ctx)  # idempotent
    node_critical = await api.get("priorityclasses", None, "system-node-critical",
                                  group="scheduling.k8s.io")
    assert node_critical["value"] == 2000001000
    spec = (await api.create("pods", pod(), "default")).object["spec"]
    assert (spec["priority"], spec["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    spec = (await api.create("pods", pod("crit", priorityClassName="system-cluster-critical"),
                             "default")).object["spec"]
    assert spec["priority"] == 2000000000
    await api.create("priorityclasses", {"metadata": {"name": "high"}, "value": 1000,
                                         "preemptionPolicy": "Never", "globalDefault": True},
                     group="scheduling.k8s.io")
    spec = (await api.create("pods", pod("dflt"), "default")).object["spec"]
    assert (spec["priorityClassName"], spec["priority"], spec["preemptionPolicy"]) == (
        "high", 1000, "Never")
    err = await api.refused(api.create("pods", pod("x", priorityClassName="nope"), "default"))
    assert (err.code, err.message) == (
        403, 'pods "x" is forbidden: no PriorityClass with name nope was found')
    err = await api.refused(api.create("pods", pod("y", priority=5), "default"))
    assert err.message == ('pods "y" is forbidden: the integer value of priority (5) must not '
                           "be provided in pod spec; priority admission controller computed "
                           "1000 from the given PriorityClass name")
    err = await api.refused(api.create("priorityclasses", {
        "metadata": {"name": "other"}, "value": 1, "globalDefault": True},
        group="scheduling.k8s.io"))
    assert err.message == ('priorityclasses.scheduling.k8s.io "other" is forbidden: '
                           "PriorityClass high is already marked as default. Only one default "
                           "can exist")
