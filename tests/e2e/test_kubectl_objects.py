"""Real kubectl v1.32: create/apply of multi-document files and the read verbs (get, describe)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from kubectl_cli import kubectl, ns  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e

MANIFEST = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  labels: {app: web}
data:
  mode: {mode}
  greeting: hello
---
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
type: Opaque
data:
  password: c2VjcmV0
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
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
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: v1
kind: Pod
metadata:
  name: solo
  labels: {app: solo}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
"""

CREATED = ["configmap/app-config", "secret/app-secret", "deployment.apps/web", "service/web",
           "pod/solo"]


def manifest(mode: str = "blue") -> str:
    return MANIFEST.replace("{mode}", mode)


def test_create_multi_document_file(kubectl, ns):
    path = kubectl.write("app.yaml", manifest())
    out = kubectl("create", "-f", str(path), "-n", ns)
    assert out.lines == [f"{name} created" for name in CREATED], out
    assert out.stderr == ""

    cm = json.loads(kubectl("get", "configmap", "app-config", "-n", ns, "-o", "json").stdout)
    assert cm["data"] == {"mode": "blue", "greeting": "hello"}
    assert cm["metadata"]["namespace"] == ns
    assert cm["metadata"]["uid"] and cm["metadata"]["resourceVersion"]
    assert cm["metadata"]["creationTimestamp"].endswith("Z")
    secret = json.loads(kubectl("get", "secret", "app-secret", "-n", ns, "-o", "json").stdout)
    assert secret["data"] == {"password": "c2VjcmV0"} and secret["type"] == "Opaque"
    deploy = json.loads(kubectl("get", "deploy", "web", "-n", ns, "-o", "json").stdout)
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["strategy"]["type"] == "RollingUpdate"  # defaulted
    assert deploy["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert deploy["metadata"]["generation"] == 1
    svc = json.loads(kubectl("get", "svc", "web", "-n", ns, "-o", "json").stdout)
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"][0]["protocol"] == "TCP"
    ip = svc["spec"]["clusterIP"]
    assert re.fullmatch(r"10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+", ip) and ip != "10.96.0.1", ip
    pod = json.loads(kubectl("get", "pod", "solo", "-n", ns, "-o", "json").stdout)
    assert pod["status"]["phase"] == "Pending"
    assert pod["spec"]["restartPolicy"] == "Always"

    everything = kubectl("get", "all", "-n", ns, "-o", "name").lines
    for name in ("pod/solo", "service/web", "deployment.apps/web"):
        assert name in everything, everything
    assert not any(n.startswith(("configmap/", "secret/")) for n in everything)

    again = kubectl.fails("create", "-f", str(path), "-n", ns)
    assert (f'Error from server (AlreadyExists): error when creating "{path}": '
            f'configmaps "app-config" already exists') in again.stderr, again


def test_apply_multi_document_file(kubectl, ns):
    path = kubectl.write("app.yaml", manifest())
    out = kubectl("apply", "-f", str(path), "-n", ns)
    assert out.lines == [f"{name} created" for name in CREATED], out
    cm = json.loads(kubectl("get", "cm", "app-config", "-n", ns, "-o", "json").stdout)
    last = json.loads(cm["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["data"] == {"mode": "blue", "greeting": "hello"}

    out = kubectl("apply", "-f", str(path), "-n", ns)
    assert out.lines == [f"{name} unchanged" for name in CREATED], out

    path.write_text(manifest("green").replace("replicas: 2", "replicas: 3"))
    out = kubectl("apply", "-f", str(path), "-n", ns)
    assert out.lines == ["configmap/app-config configured", "secret/app-secret unchanged",
                         "deployment.apps/web configured", "service/web unchanged",
                         "pod/solo unchanged"], out
    assert kubectl.jsonpath("get", "cm", "app-config", "-n", ns, path="{.data.mode}") == "green"
    assert kubectl.jsonpath("get", "deploy", "web", "-n", ns, path="{.spec.replicas}") == "3"
    assert kubectl.jsonpath("get", "deploy", "web", "-n", ns,
                            path="{.metadata.generation}") == "2"

    # a key dropped from the file is deleted by the three-way merge
    path.write_text(manifest("green").replace("  greeting: hello\n", ""))
    kubectl("apply", "-f", str(path), "-n", ns)
    cm = json.loads(kubectl("get", "cm", "app-config", "-n", ns, "-o", "json").stdout)
    assert cm["data"] == {"mode": "green"}


@pytest.fixture
def ten_configmaps(kubectl, ns):
    docs = []
    for i in range(10):
        tier = "a" if i < 4 else ("b" if i < 7 else "c")
        docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": f"cm-{i:02d}", "labels": {"tier": tier, "idx": str(i)}},
                     "data": {"index": str(i)}})
    path = kubectl.write("cms.yaml", yaml.safe_dump_all(docs))
    kubectl("create", "-f", str(path), "-n", ns)
    return [d["metadata"]["name"] for d in docs]


def test_get_output_formats(kubectl, ns, ten_configmaps):
    names = ten_configmaps
    lst = json.loads(kubectl("get", "cm", "-n", ns, "-o", "json").stdout)
    assert lst["kind"] == "List" and lst["apiVersion"] == "v1"
    assert [i["metadata"]["name"] for i in lst["items"]] == names
    assert all(i["kind"] == "ConfigMap" and i["apiVersion"] == "v1" for i in lst["items"])

    one = yaml.safe_load(kubectl("get", "cm", "cm-03", "-n", ns, "-o", "yaml").stdout)
    assert one["kind"] == "ConfigMap" and one["data"] == {"index": "3"}
    assert one["metadata"]["labels"] == {"tier": "a", "idx": "3"}

    table = kubectl("get", "cm", "-n", ns).table()
    assert table[0] == ["NAME", "DATA", "AGE"]
    assert [r[0] for r in table[1:]] == names
    assert all(r[1] == "1" and re.fullmatch(r"\d+s", r[2]) for r in table[1:]), table

    assert kubectl("get", "cm", "-n", ns, "-o", "name").lines == [f"configmap/{n}" for n in names]
    assert kubectl("get", "cm", "cm-01", "cm-02", "-n", ns, "-o", "name").lines == [
        "configmap/cm-01", "configmap/cm-02"]

    jp = kubectl.jsonpath("get", "cm", "-n", ns, path="{.items[*].metadata.name}")
    assert jp.split() == names
    jp = kubectl.jsonpath("get", "cm", "-n", ns,
                          path='{range .items[?(@.metadata.labels.tier=="b")]}'
                               '{.metadata.name}={.data.index}{"\\n"}{end}')
    assert jp.split() == ["cm-04=4", "cm-05=5", "cm-06=6"]

    cc = kubectl("get", "cm", "-n", ns, "-o",
                 "custom-columns=NAME:.metadata.name,TIER:.metadata.labels.tier,IDX:.data.index"
                 ).table()
    assert cc[0] == ["NAME", "TIER", "IDX"]
    assert cc[1] == ["cm-00", "a", "0"] and cc[-1] == ["cm-09", "c", "9"]

    labels = kubectl("get", "cm", "-n", ns, "--show-labels").table()
    assert labels[0] == ["NAME", "DATA", "AGE", "LABELS"]
    assert labels[1][0] == "cm-00" and labels[1][3] == "idx=0,tier=a"

    col = kubectl("get", "cm", "-n", ns, "-L", "tier").table()
    assert col[0] == ["NAME", "DATA", "AGE", "TIER"] and col[5][3] == "b"

    by = kubectl("get", "cm", "-n", ns, "--sort-by=.data.index", "-o", "name",
                 "-l", "tier in (b,c)").lines
    assert by == [f"configmap/cm-{i:02d}" for i in range(4, 10)]


def test_get_selectors_and_all_namespaces(kubectl, ns, ten_configmaps):
    sel = kubectl("get", "cm", "-n", ns, "-l", "tier=a", "-o", "name").lines
    assert sel == [f"configmap/cm-0{i}" for i in range(4)]
    sel = kubectl("get", "cm", "-n", ns, "-l", "tier!=a,tier!=b", "-o", "name").lines
    assert sel == ["configmap/cm-07", "configmap/cm-08", "configmap/cm-09"]
    sel = kubectl("get", "cm", "-n", ns, "-l", "tier in (a,c),idx notin (0,9)", "-o", "name").lines
    assert sel == ["configmap/cm-01", "configmap/cm-02", "configmap/cm-03", "configmap/cm-07",
                   "configmap/cm-08"]
    assert kubectl("get", "cm", "-n", ns, "-l", "!tier", "-o", "name").lines == []
    none = kubectl("get", "cm", "-n", ns, "-l", "tier=zzz")
    assert none.stdout == "" and none.stderr.strip() == f"No resources found in {ns} namespace."

    fs = kubectl("get", "cm", "-n", ns, "--field-selector", "metadata.name=cm-05", "-o", "name")
    assert fs.lines == ["configmap/cm-05"]
    fs = kubectl("get", "cm", "-n", ns, "--field-selector", "metadata.name!=cm-05", "-o", "name")
    assert len(fs.lines) == 9 and "configmap/cm-05" not in fs.lines
    bad = kubectl.fails("get", "cm", "-n", ns, "--field-selector", "data.index=1")
    assert 'field label not supported: data.index' in bad.stderr, bad

    other = f"{ns}-other"
    kubectl("create", "namespace", other)
    kubectl("create", "configmap", "elsewhere", "-n", other, "--from-literal=k=v")
    every = kubectl("get", "cm", "-A").table()
    assert every[0] == ["NAMESPACE", "NAME", "DATA", "AGE"]
    pairs = {(r[0], r[1]) for r in every[1:]}
    assert (other, "elsewhere") in pairs and (ns, "cm-00") in pairs and (ns, "cm-09") in pairs
    svc = kubectl("get", "svc", "-A", "--field-selector", "metadata.namespace=default").table()
    assert svc[0][:2] == ["NAMESPACE", "NAME"] and ["default", "kubernetes"] == svc[1][:2]
    across = kubectl("get", "cm", "-A", "-l", "tier=c", "-o",
                     "custom-columns=NS:.metadata.namespace,NAME:.metadata.name").table()
    assert [r[1] for r in across[1:] if r[0] == ns] == ["cm-07", "cm-08", "cm-09"]
    assert not [r for r in across[1:] if r[0] == other]


def test_get_in_chunks(kubectl, ns, ten_configmaps):
    out = kubectl("get", "cm", "-n", ns, "--chunk-size=2", "-o", "name", "-v=6")
    assert out.lines == [f"configmap/{n}" for n in ten_configmaps]
    requests = set(re.findall(r'https://[^\s"]+/api/v1/namespaces/' + re.escape(ns) +
                              r'/configmaps\?[^\s"]*', out.stderr))
    assert len(requests) == 5, out.stderr
    assert all("limit=2" in r for r in requests)
    assert sum("continue=" in r for r in requests) == 4, requests

    table = kubectl("get", "cm", "-n", ns, "--chunk-size=2").table()
    assert table[0] == ["NAME", "DATA", "AGE"]
    assert [r[0] for r in table[1:]] == ten_configmaps, "one header, every row once"


def test_get_wide(kubectl, ns):
    kubectl("create", "-f", str(kubectl.write("app.yaml", manifest())), "-n", ns)
    pods = kubectl("get", "pods", "-n", ns, "-o", "wide").table()
    assert pods[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                       "NOMINATED NODE", "READINESS GATES"]
    assert pods[1][:4] == ["solo", "0/1", "Pending", "0"]
    assert pods[1][5:] == ["<none>", "<none>", "<none>", "<none>"]
    deploy = kubectl("get", "deploy", "-n", ns, "-o", "wide").table()
    assert deploy[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS",
                         "IMAGES", "SELECTOR"]
    assert deploy[1][0:2] == ["web", "0/2"] and deploy[1][5:] == ["web", "nginx:1.27", "app=web"]
    svc = kubectl("get", "svc", "web", "-n", ns, "-o", "wide").table()
    assert svc[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    assert svc[1][1] == "ClusterIP" and svc[1][4] == "80/TCP" and svc[1][6] == "app=web"


def test_describe(kubectl, ns):
    kubectl("create", "-f", str(kubectl.write("app.yaml", manifest())), "-n", ns)
    cm = kubectl("describe", "configmap", "app-config", "-n", ns).stdout
    assert re.search(r"^Name:\s+app-config$", cm, re.M), cm
    assert re.search(rf"^Namespace:\s+{ns}$", cm, re.M), cm
    assert re.search(r"^Labels:\s+app=web$", cm, re.M), cm
    assert re.search(r"^Data\n====\n", cm, re.M) and re.search(r"^mode:\n----\nblue$", cm, re.M), cm

    deploy = kubectl("describe", "deployment", "web", "-n", ns).stdout
    assert re.search(r"^Replicas:\s+2 desired \| 0 updated \| 0 total \| 0 available \| 0 "
                     r"unavailable$", deploy, re.M), deploy
    assert re.search(r"^Selector:\s+app=web$", deploy, re.M), deploy
    assert re.search(r"^StrategyType:\s+RollingUpdate$", deploy, re.M), deploy
    assert re.search(r"^\s+Image:\s+nginx:1\.27$", deploy, re.M), deploy

    pod = kubectl("describe", "pod", "solo", "-n", ns).stdout
    assert re.search(r"^Status:\s+Pending$", pod, re.M), pod
    assert re.search(r"^\s+Command:\n\s+sleep\n\s+3600$", pod, re.M), pod
    assert re.search(r"^Events:\s+<none>$", pod, re.M), pod

    svc = kubectl("describe", "service", "web", "-n", ns).stdout
    assert re.search(r"^Type:\s+ClusterIP$", svc, re.M), svc
    assert re.search(r"^Port:\s+<unset>\s+80/TCP$", svc, re.M), svc

    several = kubectl("describe", "cm", "-n", ns, "-l", "app=web").stdout
    assert "app-config" in several
    ns_out = kubectl("describe", "namespace", ns).stdout
    assert re.search(r"^Status:\s+Active$", ns_out, re.M), ns_out
