"""Real kubectl v1.32: label, annotate, patch, replace, edit, scale, delete and wait."""

from __future__ import annotations

import json
import stat
import time

import pytest
import yaml

from kubectl_cli import kubectl, ns  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.26
        ports:
        - containerPort: 80
          name: http
      - name: sidecar
        image: busybox:1.36
        command: ["sleep", "infinity"]
"""


def get_json(kubectl, *args) -> dict:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def test_label_and_annotate(kubectl, ns):
    kubectl("create", "configmap", "c1", "-n", ns, "--from-literal=k=v1")
    assert kubectl("label", "cm", "c1", "-n", ns, "env=prod", "team=core").lines == [
        "configmap/c1 labeled"]
    assert get_json(kubectl, "cm", "c1", "-n", ns)["metadata"]["labels"] == {
        "env": "prod", "team": "core"}

    refused = kubectl.fails("label", "cm", "c1", "-n", ns, "env=dev")
    assert "'env' already has a value (prod), and --overwrite is false" in refused.stderr
    kubectl("label", "cm", "c1", "-n", ns, "env=dev", "--overwrite")
    assert kubectl.jsonpath("get", "cm", "c1", "-n", ns, path="{.metadata.labels.env}") == "dev"
    assert kubectl("label", "cm", "c1", "-n", ns, "team-").lines == ["configmap/c1 unlabeled"]
    assert get_json(kubectl, "cm", "c1", "-n", ns)["metadata"]["labels"] == {"env": "dev"}

    kubectl("create", "configmap", "c2", "-n", ns)
    out = kubectl("label", "cm", "--all", "-n", ns, "batch=yes")
    assert sorted(out.lines) == ["configmap/c1 labeled", "configmap/c2 labeled"]
    assert kubectl("get", "cm", "-n", ns, "-l", "batch=yes", "-o", "name").lines == [
        "configmap/c1", "configmap/c2"]

    assert kubectl("annotate", "cm", "c1", "-n", ns, "note=hello world").lines == [
        "configmap/c1 annotated"]
    meta = get_json(kubectl, "cm", "c1", "-n", ns)["metadata"]
    assert meta["annotations"] == {"note": "hello world"}
    kubectl("annotate", "cm", "c1", "-n", ns, "note=bye", "--overwrite")
    assert kubectl.jsonpath("get", "cm", "c1", "-n", ns,
                            path="{.metadata.annotations.note}") == "bye"
    kubectl("annotate", "cm", "c1", "-n", ns, "note-")
    assert not get_json(kubectl, "cm", "c1", "-n", ns)["metadata"].get("annotations")


def test_patch_types(kubectl, ns):
    kubectl("create", "configmap", "c1", "-n", ns, "--from-literal=a=1", "--from-literal=b=2")

    out = kubectl("patch", "cm", "c1", "-n", ns, "--type", "merge",
                  "-p", '{"data":{"a":"10","b":null,"c":"3"}}')
    assert out.lines == ["configmap/c1 patched"]
    assert get_json(kubectl, "cm", "c1", "-n", ns)["data"] == {"a": "10", "c": "3"}

    out = kubectl("patch", "cm", "c1", "-n", ns, "--type", "json", "-p",
                  '[{"op":"add","path":"/data/d","value":"4"},{"op":"remove","path":"/data/a"},'
                  '{"op":"replace","path":"/data/c","value":"30"},'
                  '{"op":"test","path":"/data/d","value":"4"}]')
    assert out.lines == ["configmap/c1 patched"]
    assert get_json(kubectl, "cm", "c1", "-n", ns)["data"] == {"c": "30", "d": "4"}

    failed = kubectl.fails("patch", "cm", "c1", "-n", ns, "--type", "json",
                           "-p", '[{"op":"test","path":"/data/d","value":"nope"}]')
    assert "test" in failed.stderr, failed
    assert get_json(kubectl, "cm", "c1", "-n", ns)["data"] == {"c": "30", "d": "4"}

    rv = kubectl.jsonpath("get", "cm", "c1", "-n", ns, path="{.metadata.resourceVersion}")
    same = kubectl("patch", "cm", "c1", "-n", ns, "--type", "merge", "-p", '{"data":{"c":"30"}}')
    assert same.lines == ["configmap/c1 patched (no change)"], same
    assert kubectl.jsonpath("get", "cm", "c1", "-n", ns,
                            path="{.metadata.resourceVersion}") == rv


def test_strategic_merge_patch_is_the_default(kubectl, ns):
    kubectl("create", "-f", str(kubectl.write("d.yaml", DEPLOYMENT)), "-n", ns)
    # strategic (default): containers merge by name, the other container and fields stay
    out = kubectl("patch", "deployment", "web", "-n", ns, "-p",
                  '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}')
    assert out.lines == ["deployment.apps/web patched"]
    spec = get_json(kubectl, "deploy", "web", "-n", ns)["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["containers"]] == ["web", "sidecar"]
    assert spec["containers"][0]["image"] == "nginx:1.27"
    assert spec["containers"][0]["ports"] == [{"containerPort": 80, "name": "http",
                                               "protocol": "TCP"}]
    # $patch: delete removes one element by its merge key
    kubectl("patch", "deployment", "web", "-n", ns, "--type", "strategic", "-p",
            '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}')
    spec = get_json(kubectl, "deploy", "web", "-n", ns)["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["containers"]] == ["web"]
    # merge patch replaces lists wholesale
    kubectl("patch", "deployment", "web", "-n", ns, "--type", "merge", "-p",
            '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}}}')
    spec = get_json(kubectl, "deploy", "web", "-n", ns)["spec"]["template"]["spec"]
    assert spec["containers"][0]["image"] == "nginx:1.28"
    assert "ports" not in spec["containers"][0]
    assert kubectl.jsonpath("get", "deploy", "web", "-n", ns,
                            path="{.metadata.generation}") == "4"


def test_replace(kubectl, ns):
    kubectl("create", "configmap", "c1", "-n", ns, "--from-literal=k=v1")
    obj = get_json(kubectl, "cm", "c1", "-n", ns)
    obj["data"] = {"k": "v2", "extra": "x"}
    path = kubectl.write("c1.json", json.dumps(obj))
    assert kubectl("replace", "-f", str(path)).lines == ["configmap/c1 replaced"]
    assert get_json(kubectl, "cm", "c1", "-n", ns)["data"] == {"k": "v2", "extra": "x"}

    # without a resourceVersion replace is unconditional
    del obj["metadata"]["resourceVersion"]
    obj["data"] = {"k": "v3"}
    path.write_text(json.dumps(obj))
    kubectl("replace", "-f", str(path))
    assert get_json(kubectl, "cm", "c1", "-n", ns)["data"] == {"k": "v3"}

    forced = kubectl("replace", "--force", "-f", str(path))
    assert forced.lines == ['configmap "c1" deleted', "configmap/c1 replaced"], forced
    fresh = get_json(kubectl, "cm", "c1", "-n", ns)
    assert fresh["metadata"]["uid"] != obj["metadata"]["uid"]

    missing = kubectl.fails("replace", "-f", str(kubectl.write(
        "nope.yaml", f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: nope, namespace: {ns}}}\n")))
    assert f'Error from server (NotFound): error when replacing "{missing.args[-1]}": ' \
           'configmaps "nope" not found' in missing.stderr, missing


def test_edit_with_editor_script(kubectl, ns):
    kubectl("create", "configmap", "c1", "-n", ns, "--from-literal=k=before")
    script = kubectl.workdir / "editor.sh"
    script.write_text("#!/bin/sh\nsed -i 's/^  k: before$/  k: after/' \"$1\"\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    out = kubectl("edit", "cm", "c1", "-n", ns, env={"KUBE_EDITOR": str(script)})
    assert out.lines == ["configmap/c1 edited"], out
    assert get_json(kubectl, "cm", "c1", "-n", ns)["data"] == {"k": "after"}

    # an editor that changes nothing cancels the edit
    noop = kubectl.workdir / "noop.sh"
    noop.write_text("#!/bin/sh\ntrue\n")
    noop.chmod(noop.stat().st_mode | stat.S_IXUSR)
    out = kubectl("edit", "cm", "c1", "-n", ns, env={"KUBE_EDITOR": str(noop)})
    assert "Edit cancelled, no changes made." in out.stdout + out.stderr


def test_edit_yaml_of_deployment(kubectl, ns):
    kubectl("create", "-f", str(kubectl.write("d.yaml", DEPLOYMENT)), "-n", ns)
    script = kubectl.workdir / "editor.py"
    script.write_text(
        "import sys, yaml\n"
        "p = sys.argv[1]\n"
        "docs = open(p).read()\n"
        "obj = yaml.safe_load(docs)\n"
        "obj['spec']['replicas'] = 5\n"
        "open(p, 'w').write(yaml.safe_dump(obj))\n")
    import sys
    wrapper = kubectl.workdir / "edit.sh"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {script} \"$1\"\n")
    wrapper.chmod(0o755)
    out = kubectl("edit", "deploy/web", "-n", ns, env={"KUBE_EDITOR": str(wrapper)})
    assert out.lines == ["deployment.apps/web edited"], out
    assert kubectl.jsonpath("get", "deploy", "web", "-n", ns, path="{.spec.replicas}") == "5"


def test_scale_deployment(kubectl, ns):
    kubectl("create", "-f", str(kubectl.write("d.yaml", DEPLOYMENT)), "-n", ns)
    out = kubectl("scale", "deployment", "web", "-n", ns, "--replicas=4")
    assert out.lines == ["deployment.apps/web scaled"]
    deploy = get_json(kubectl, "deploy", "web", "-n", ns)
    assert deploy["spec"]["replicas"] == 4
    assert deploy["metadata"]["generation"] == 2

    wrong = kubectl.fails("scale", "deployment", "web", "-n", ns, "--current-replicas=2",
                          "--replicas=1")
    assert "Expected replicas to be 2, was 4" in wrong.stderr, wrong
    kubectl("scale", "deployment", "web", "-n", ns, "--current-replicas=4", "--replicas=0")
    assert kubectl.jsonpath("get", "deploy", "web", "-n", ns, path="{.spec.replicas}") == "0"

    scale = json.loads(kubectl("get", "--raw",
                               f"/apis/apps/v1/namespaces/{ns}/deployments/web/scale").stdout)
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 0}
    assert scale["status"]["selector"] == "app=web"


def test_delete_variants(kubectl, ns):
    for i in range(6):
        kubectl("create", "configmap", f"c{i}", "-n", ns)
    kubectl("label", "cm", "c0", "c1", "c2", "-n", ns, "group=first")

    out = kubectl("delete", "cm", "c5", "-n", ns)
    assert out.lines == ['configmap "c5" deleted']
    gone = kubectl.fails("get", "cm", "c5", "-n", ns)
    assert 'Error from server (NotFound): configmaps "c5" not found' in gone.stderr

    out = kubectl("delete", "cm", "-l", "group=first", "-n", ns)
    assert out.lines == ['configmap "c0" deleted', 'configmap "c1" deleted',
                         'configmap "c2" deleted']
    assert kubectl("get", "cm", "-n", ns, "-o", "name").lines == ["configmap/c3",
                                                                   "configmap/c4"]

    again = kubectl.fails("delete", "cm", "c5", "-n", ns)
    assert 'Error from server (NotFound): configmaps "c5" not found' in again.stderr
    kubectl("delete", "cm", "c5", "-n", ns, "--ignore-not-found")

    out = kubectl("delete", "cm", "--all", "-n", ns, "--wait")
    assert out.lines == ['configmap "c3" deleted', 'configmap "c4" deleted']
    empty = kubectl("get", "cm", "-n", ns)
    assert empty.stdout == "" and f"No resources found in {ns} namespace." in empty.stderr

    kubectl("create", "-f", str(kubectl.write("d.yaml", DEPLOYMENT)), "-n", ns)
    out = kubectl("delete", "-f", str(kubectl.workdir / "d.yaml"), "-n", ns, "--wait=true")
    assert out.lines == ['deployment.apps "web" deleted']
    assert kubectl("get", "deploy", "-n", ns, "-o", "name").lines == []

    out = kubectl("delete", "cm", "nothing-here", "-n", ns, "--dry-run=server",
                  "--ignore-not-found")
    assert out.lines == []


def test_delete_waits_for_finalizers(kubectl, ns):
    held = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "held", "namespace": ns, "finalizers": ["example.com/hold"]}}
    kubectl("create", "-f", str(kubectl.write("held.json", json.dumps(held))))

    out = kubectl("delete", "cm", "held", "-n", ns, "--wait=false")
    assert out.lines == ['configmap "held" deleted']
    meta = get_json(kubectl, "cm", "held", "-n", ns)["metadata"]
    assert meta["deletionTimestamp"] and meta["finalizers"] == ["example.com/hold"]

    # a delete with --wait blocks until the finalizer is gone, then reports
    short = kubectl.fails("delete", "cm", "held", "-n", ns, "--timeout=2s")
    assert "timed out waiting for the condition" in short.stderr, short

    with kubectl.popen("wait", "--for=delete", "configmap/held", "-n", ns,
                       "--timeout=25s") as waiter:
        time.sleep(1.0)
        assert waiter.proc.poll() is None, "wait returned while the object still exists"
        kubectl("patch", "cm", "held", "-n", ns, "--type", "json",
                "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
        waiter.wait_for(r"^configmap/held condition met$", timeout=20)
        assert waiter.proc.wait(20) == 0
    assert kubectl("get", "cm", "-n", ns, "-o", "name").lines == []


def test_delete_unscheduled_pod_is_immediate(kubectl, ns):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns},
           "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}
    kubectl("create", "-f", str(kubectl.write("p.yaml", yaml.safe_dump(pod))))
    # an unscheduled pod is deleted at once (grace period 0), so delete --wait returns
    out = kubectl("delete", "pod", "p", "-n", ns, "--wait", "--timeout=20s")
    assert out.lines == ['pod "p" deleted']
    assert kubectl("get", "pods", "-n", ns, "-o", "name").lines == []
