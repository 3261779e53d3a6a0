"""Volumes on a real node, read from inside the containers with ``kubectl exec``.

One pod carries every kind: a ConfigMap (with items, paths and modes, and all of its keys
elsewhere, one of them mounted alone with ``subPath``), a Secret (``defaultMode``), the
downward API (labels, annotations, the pod's name, the container's limits), a projected
volume (a ServiceAccount token, ``kube-root-ca.crt`` and the namespace), an emptyDir that
two containers share (one of them through a ``subPath``), and a PersistentVolumeClaim.

The claim is created before any PersistentVolume exists, so the pod first stays Pending
(the scheduler's VolumeBinding: FailedScheduling, "pod has unbound immediate
PersistentVolumeClaims"; FailedBinding on the claim); once a hostPath volume under the
test's directory appears, the binder binds it, the pod is scheduled and starts, and what the container writes lands in that directory. The projected token
authenticates to the API server as the pod's ServiceAccount. Updates of the ConfigMap
and the Secret reach their mounted volumes (the kubelet watches both), but not the file
mounted with ``subPath``, as upstream.
"""

from __future__ import annotations

import json

from nodekit import API_PORT, wait_until


def _apply(kubectl, *objects: dict) -> None:
    kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                  "items": list(objects)}))


def _cat(kubectl, path: str, container: str = "main") -> str:
    return kubectl("exec", "vol", "-c", container, "--", "cat", path).stdout


def _mode(kubectl, path: str) -> str:
    return kubectl("exec", "vol", "-c", "main", "--", "stat", "-L", "-c", "%a",
                   path).stdout.strip()


MAIN = ("mkdir -p /shared/nested && echo from-main > /shared/nested/hello && "
        "echo pv-data > /data/written && sleep 3600")


def _pod() -> dict:
    mounts = [{"name": "cfg", "mountPath": "/cfg"}, {"name": "cfgall", "mountPath": "/cfgall"},
              {"name": "cfgall", "mountPath": "/etc/other", "subPath": "other"},
              {"name": "sec", "mountPath": "/sec"}, {"name": "down", "mountPath": "/down"},
              {"name": "proj", "mountPath": "/proj"}, {"name": "shared", "mountPath": "/shared"},
              {"name": "data", "mountPath": "/data"}]
    downward = [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
        {"path": "cpu_limit", "resourceFieldRef": {"containerName": "main",
                                                   "resource": "limits.cpu",
                                                   "divisor": "1m"}},
        {"path": "mem_limit", "resourceFieldRef": {"containerName": "main",
                                                   "resource": "limits.memory"}}]
    projected = [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt",
                                                              "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]
    volumes = [
        {"name": "cfg", "configMap": {"name": "cfg", "items": [
            {"key": "app.conf", "path": "conf/app.conf", "mode": 0o600}]}},
        {"name": "cfgall", "configMap": {"name": "cfg"}},
        {"name": "sec", "secret": {"secretName": "sec", "defaultMode": 0o400}},
        {"name": "down", "downwardAPI": {"items": downward}},
        {"name": "proj", "projected": {"sources": projected}},
        {"name": "shared", "emptyDir": {}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "vol", "labels": {"app": "vol", "tier": "back"},
                         "annotations": {"note": "hello"}},
            "spec": {"terminationGracePeriodSeconds": 1, "volumes": volumes, "containers": [
                {"name": "main", "image": "busybox", "command": ["sh", "-c", MAIN],
                 "resources": {"limits": {"cpu": "250m", "memory": "64Mi"}},
                 "volumeMounts": mounts},
                {"name": "side", "image": "busybox", "command": ["sh", "-c", "sleep 3600"],
                 "volumeMounts": [{"name": "shared", "mountPath": "/shared"},
                                  {"name": "shared", "mountPath": "/nested",
                                   "subPath": "nested"}]}]}}


def test_volume_contents_and_claims(node, kubectl, ns, tmp_path):
    storage = tmp_path / "pv"
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                 "data": {"app.conf": "a=1\n", "other": "second key\n"}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"},
              "stringData": {"user": "admin", "pass": "s3cr3t"}}
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
                      "resources": {"requests": {"storage": "100Mi"}}}}
    _apply(kubectl, configmap, secret, claim, _pod())

    def waiting_events():
        items = json.loads(kubectl("get", "events", "-o", "json").stdout)["items"]
        scheduling = [e for e in items if e["reason"] == "FailedScheduling"
                      and "pod has unbound immediate PersistentVolumeClaims" in e["message"]]
        binding = [e for e in items if e["reason"] == "FailedBinding"
                   and e["involvedObject"]["kind"] == "PersistentVolumeClaim"]
        return scheduling and binding

    # The scheduler's VolumeBinding plugin keeps the pod Pending while its claim is unbound.
    wait_until(waiting_events, 60, "FailedScheduling (pod) and FailedBinding (claim) events")
    assert kubectl.jsonpath("get", "pod", "vol", path="{.spec.nodeName}") == ""
    assert kubectl.jsonpath("get", "pod", "vol", path="{.status.phase}") == "Pending"
    assert kubectl.jsonpath("get", "pvc", "data", path="{.status.phase}") == "Pending"

    volume_name = f"{ns}-data"
    kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": volume_name},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                 "storageClassName": "", "persistentVolumeReclaimPolicy": "Delete",
                 "hostPath": {"path": str(storage), "type": "DirectoryOrCreate"}}}))
    try:
        wait_until(lambda: kubectl.jsonpath("get", "pvc", "data", path="{.status.phase}")
                   == "Bound", 60, "the claim Bound")
        assert kubectl.jsonpath("get", "pvc", "data", path="{.spec.volumeName}") == volume_name
        assert kubectl.jsonpath("get", "pv", volume_name, path="{.status.phase}") == "Bound"
        wait_until(lambda: kubectl.jsonpath("get", "pod", "vol", path="{.status.phase}")
                   == "Running", 60, "pod vol Running")
        wait_until(lambda: (storage / "written").exists(), 30, "the pod's write on the PV")
        assert (storage / "written").read_text() == "pv-data\n"

        assert _cat(kubectl, "/cfg/conf/app.conf") == "a=1\n"
        assert _mode(kubectl, "/cfg/conf/app.conf") == "600"
        assert kubectl("exec", "vol", "-c", "main", "--", "ls", "/cfg").stdout.split() == \
            ["conf"]
        assert _cat(kubectl, "/cfgall/other") == "second key\n"
        assert _mode(kubectl, "/cfgall/app.conf") == "644"
        assert _cat(kubectl, "/etc/other") == "second key\n"
        assert _cat(kubectl, "/sec/user") == "admin"
        assert _cat(kubectl, "/sec/pass") == "s3cr3t"
        assert _mode(kubectl, "/sec/pass") == "400"

        assert _cat(kubectl, "/down/labels") == 'app="vol"\ntier="back"'
        assert 'note="hello"' in _cat(kubectl, "/down/annotations").splitlines()
        assert _cat(kubectl, "/down/name") == "vol"
        assert _cat(kubectl, "/down/cpu_limit") == "250"
        assert _cat(kubectl, "/down/mem_limit") == str(64 * 1024 * 1024)

        assert _cat(kubectl, "/proj/namespace") == ns
        assert _cat(kubectl, "/proj/ca.crt") == (node.data_dir / "pki" / "ca.crt").read_text()
        token = _cat(kubectl, "/proj/token")
        whoami = node.run("kubectl", "--kubeconfig", "/dev/null",
                          f"--server=https://127.0.0.1:{API_PORT}",
                          f"--certificate-authority={node.data_dir / 'pki' / 'ca.crt'}",
                          f"--token={token}", "auth", "whoami", "-o", "json", check=True)
        user = json.loads(whoami.stdout)["status"]["userInfo"]
        assert user["username"] == f"system:serviceaccount:{ns}:default"
        assert {"system:serviceaccounts", f"system:serviceaccounts:{ns}"} <= \
            set(user["groups"])

        assert _cat(kubectl, "/shared/nested/hello", container="side") == "from-main\n"
        assert _cat(kubectl, "/nested/hello", container="side") == "from-main\n"

        kubectl("patch", "configmap", "cfg", "-p",
                json.dumps({"data": {"app.conf": "a=2\n", "other": "changed\n"}}))
        kubectl("patch", "secret", "sec", "-p", json.dumps({"stringData": {"pass": "n3w"}}))
        wait_until(lambda: _cat(kubectl, "/cfg/conf/app.conf") == "a=2\n"
                   and _cat(kubectl, "/cfgall/other") == "changed\n"
                   and _cat(kubectl, "/sec/pass") == "n3w", 90,
                   "the ConfigMap and Secret updates in the mounted volumes")
        assert _mode(kubectl, "/cfg/conf/app.conf") == "600"
        assert _cat(kubectl, "/etc/other") == "second key\n"  # subPath mounts never update
    finally:
        kubectl("delete", "pod", "vol", "--wait=true", timeout=60)
        kubectl("delete", "pvc", "data", "--wait=true", timeout=60)
    wait_until(lambda: kubectl("get", "pv", volume_name, check=False).returncode != 0, 60,
               "the released Delete-policy volume deleted")
    assert (storage / "written").read_text() == "pv-data\n"
