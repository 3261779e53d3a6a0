"""Real kubectl against ``pyk8s apiserver --etcd-servers`` on a throwaway etcd.

The cluster's data is etcd's: objects sit under upstream's keys as JSON (``etcdctl get
--prefix /registry/configmaps`` shows them) and resourceVersion is etcd's mod_revision.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from etcdproc import EtcdProcess
from kubectl_cli import Kubectl
from serverproc import ServerProcess, free_port

pytestmark = [
    pytest.mark.e2e,
]


@pytest.fixture(scope="module")
def etcd(tmp_path_factory) -> EtcdProcess:
    proc = EtcdProcess(tmp_path_factory.mktemp("etcd") / "data").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def server(etcd: EtcdProcess, tmp_path_factory) -> ServerProcess:
    srv = ServerProcess(tmp_path_factory.mktemp("apiserver") / "data", free_port())
    srv.start("--etcd-servers", etcd.url)
    yield srv
    srv.stop()


@pytest.fixture
def kubectl(server: ServerProcess, tmp_path: Path) -> Kubectl:
    return Kubectl(server.kubeconfig, tmp_path)


def etcdctl(etcd: EtcdProcess, *args: str) -> str:
    return subprocess.run(["etcdctl", "--endpoints", etcd.url, *args], capture_output=True,
                          text=True, check=True, timeout=30).stdout


def test_objects_live_in_etcd_under_upstream_keys(etcd, kubectl):
    kubectl("create", "configmap", "in-etcd", "--from-literal=color=blue")
    obj = json.loads(kubectl("get", "configmap", "in-etcd", "-o", "json").stdout)

    lines = etcdctl(etcd, "get", "--prefix", "/registry/configmaps").splitlines()
    key = "/registry/configmaps/default/in-etcd"
    assert key in lines
    stored = json.loads(lines[lines.index(key) + 1])
    assert stored["data"] == {"color": "blue"}
    assert stored["metadata"]["uid"] == obj["metadata"]["uid"]

    raw = json.loads(etcdctl(etcd, "get", key, "-w", "json"))["kvs"][0]
    assert base64.b64decode(raw["key"]).decode() == key
    assert obj["metadata"]["resourceVersion"] == str(raw["mod_revision"])


def test_update_conflict_and_delete_through_etcd(etcd, kubectl):
    kubectl("create", "configmap", "cas")
    rv = kubectl.jsonpath("get", "cm", "cas", path="{.metadata.resourceVersion}")
    kubectl("label", "cm", "cas", "step=1")
    stale = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "data": {"x": "y"},
                        "metadata": {"name": "cas", "resourceVersion": rv}})
    result = kubectl.fails("replace", "-f", "-", input=stale)
    assert "the object has been modified" in result.stderr
    kubectl("delete", "cm", "cas")
    assert etcdctl(etcd, "get", "/registry/configmaps/default/cas") == ""


def test_get_watch_follows_etcd(kubectl):
    kubectl("create", "configmap", "w1", "--from-literal=a=1")
    with kubectl.popen("get", "configmaps", "--watch", "--output-watch-events") as watch:
        watch.wait_for(r"^ADDED\s+w1\s")
        kubectl("patch", "cm", "w1", "--type", "merge", "-p", '{"data":{"b":"2"}}')
        watch.wait_for(r"^MODIFIED\s+w1\s+2\s")
        kubectl("create", "configmap", "w2")
        watch.wait_for(r"^ADDED\s+w2\s")
        kubectl("delete", "cm", "w1")
        watch.wait_for(r"^DELETED\s+w1\s")
