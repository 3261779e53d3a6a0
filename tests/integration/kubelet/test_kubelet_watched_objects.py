"""The kubelet's ConfigMap/Secret manager (Watch strategy) and the volumes it feeds,
against a real API server with a node's own credentials (so the Node authorizer judges
the single-object lists and watches).

One watch per referenced object, shared by the pods that use it and stopped with the
last of them; reads come from the watches (no list after the first), updates and
late-created objects arrive by watch; containers' environments read them too; volumes
are written in a worker thread, only when their content changed, and follow ConfigMap
updates at the next setup.
"""

from __future__ import annotations

import base64
import secrets
import threading
from pathlib import Path

import pytest
from kubeletkit import node_kubeconfig
from polling import eventually

from pyk8s.client import Client, NotFound, load_kubeconfig
from pyk8s.kubelet import volumes as volumes_module
from pyk8s.kubelet.envvars import ConfigError
from pyk8s.kubelet.kuberuntime import read_config_object
from pyk8s.kubelet.volumes import VolumeError, VolumeManager
from pyk8s.kubelet.watchedobjects import (
    NotSynced,
    WatchedObjects,
    configmap_names,
    secret_names,
)


@pytest.fixture
def node_name():
    return f"wo-node-{secrets.token_hex(3)}"


@pytest.fixture
async def kubelet_client(apiserver, node_name, tmp_path):
    """A client with ``system:node:<node>`` credentials, as the kubelet's."""
    conf = node_kubeconfig(apiserver, node_name, tmp_path)
    async with Client(load_kubeconfig(conf, component="kubelet")) as c:
        yield c


async def bound_pod(admin, namespace: str, node: str, name: str, *, volumes: list,
                    env: list | None = None) -> dict:
    body = {"metadata": {"name": name},
            "spec": {"nodeName": node, "volumes": volumes,
                     "containers": [{"name": "app", "image": "busybox",
                                     **({"env": env} if env else {})}]}}
    return await admin.api("v1", "Pod").create(body, namespace=namespace)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_one_watch_per_referenced_object(admin, kubelet_client, namespace, node_name):
    await admin.api("v1", "ConfigMap").create(
        {"metadata": {"name": "cfg"}, "data": {"k": "one"}}, namespace=namespace)
    await admin.api("v1", "Secret").create(
        {"metadata": {"name": "sec"}, "data": {"pw": b64("s3cret")}}, namespace=namespace)
    first = await bound_pod(admin, namespace, node_name, "first", volumes=[
        {"name": "cfg", "configMap": {"name": "cfg"}},
        {"name": "both", "projected": {"sources": [{"secret": {"name": "sec"}}]}}],
        env=[{"name": "LATE", "valueFrom": {"secretKeyRef": {"name": "late", "key": "k"}}}])
    second = await bound_pod(admin, namespace, node_name, "second", volumes=[
        {"name": "cfg", "configMap": {"name": "cfg"}}])
    configmaps = WatchedObjects("configmap", kubelet_client.api("v1", "ConfigMap"),
                                configmap_names, sync_timeout=10.0)
    secrets_ = WatchedObjects("secret", kubelet_client.api("v1", "Secret"), secret_names,
                              sync_timeout=10.0)
    try:
        for pod in (first, second):
            configmaps.register(pod)
            secrets_.register(pod)
        # the ServiceAccount admission's projected volume brings kube-root-ca.crt in
        assert configmaps.watched == {(namespace, "cfg"), (namespace, "kube-root-ca.crt")}
        assert secrets_.watched == {(namespace, "sec"), (namespace, "late")}

        assert (await configmaps.get(namespace, "cfg"))["data"] == {"k": "one"}
        assert (await configmaps.get(namespace, "kube-root-ca.crt"))["data"]["ca.crt"]
        assert (await secrets_.get(namespace, "sec"))["data"] == {"pw": b64("s3cret")}
        with pytest.raises(NotFound, match='secret "late" not found'):
            await secrets_.get(namespace, "late")
        with pytest.raises(NotSynced, match="not registered"):
            await configmaps.get(namespace, "other")

        await admin.api("v1", "ConfigMap").patch("cfg", {"data": {"k": "two"}},
                                                 namespace=namespace)
        await admin.api("v1", "Secret").create(
            {"metadata": {"name": "late"}, "data": {"k": b64("v")}}, namespace=namespace)

        async def updated():
            return (await configmaps.get(namespace, "cfg"))["data"] == {"k": "two"}
        await eventually(updated)

        async def created():
            try:
                return await secrets_.get(namespace, "late")
            except NotFound:
                return None
        await eventually(created)
        for _ in range(20):
            await configmaps.get(namespace, "cfg")
        informer = configmaps._watched[(namespace, "cfg")].informer
        assert informer.lists == 1

        configmaps.unregister(first["metadata"]["uid"])
        secrets_.unregister(first["metadata"]["uid"])
        assert configmaps.watched == {(namespace, "cfg"), (namespace, "kube-root-ca.crt")}
        assert secrets_.watched == set()
        configmaps.unregister(second["metadata"]["uid"])
        assert configmaps.watched == set()
        with pytest.raises(NotSynced):
            await configmaps.get(namespace, "cfg")
    finally:
        await configmaps.close()
        await secrets_.close()


async def test_volumes_written_off_loop_only_when_changed(admin, kubelet_client, namespace,
                                                          node_name, tmp_path, monkeypatch):
    await admin.api("v1", "ConfigMap").create(
        {"metadata": {"name": "cfg"}, "data": {"k": "one"}}, namespace=namespace)
    pod = await bound_pod(admin, namespace, node_name, "web", volumes=[
        {"name": "cfg", "configMap": {"name": "cfg"}},
        {"name": "maybe", "configMap": {"name": "absent", "optional": True}}])
    writes: list[tuple[str, str]] = []
    write_atomic = volumes_module.write_atomic

    def counting_write(path, files):
        writes.append((Path(path).name, threading.current_thread().name))
        return write_atomic(path, files)
    monkeypatch.setattr(volumes_module, "write_atomic", counting_write)
    manager = VolumeManager(kubelet_client, str(tmp_path / "root"))
    try:
        paths = await manager.setup(pod, host_ip="127.0.0.1", pod_ip="10.0.0.2")
        assert (Path(paths["cfg"]) / "k").read_text() == "one"
        assert not [p for p in Path(paths["maybe"]).iterdir() if not p.name.startswith("..")]
        written = len(writes)
        assert written >= 3  # cfg, the optional one, the ServiceAccount's projected volume
        assert all(thread != threading.main_thread().name for _, thread in writes)

        await manager.setup(pod, host_ip="127.0.0.1", pod_ip="10.0.0.2")
        assert len(writes) == written

        await admin.api("v1", "ConfigMap").patch("cfg", {"data": {"k": "two"}},
                                                 namespace=namespace)

        async def propagated():
            await manager.setup(pod, host_ip="127.0.0.1", pod_ip="10.0.0.2")
            return (Path(paths["cfg"]) / "k").read_text() == "two"
        await eventually(propagated)
        assert [name for name, _ in writes[written:]] == ["cfg"]

        await manager.teardown(pod["metadata"]["uid"])
        assert manager.configmaps.watched == set()
        assert not (tmp_path / "root" / "pods" / pod["metadata"]["uid"]).exists()
    finally:
        await manager.close()


async def test_missing_and_forbidden_objects_fail_the_mount(admin, kubelet_client, namespace,
                                                            node_name, tmp_path):
    pod = await bound_pod(admin, namespace, node_name, "web", volumes=[
        {"name": "cfg", "configMap": {"name": "missing"}}])
    manager = VolumeManager(kubelet_client, str(tmp_path / "root"))
    try:
        with pytest.raises(VolumeError, match='configmap "missing" not found'):
            await manager.setup(pod, host_ip="127.0.0.1", pod_ip="")
        await admin.api("v1", "ConfigMap").create(
            {"metadata": {"name": "missing"}, "data": {"k": "here"}}, namespace=namespace)

        async def mounted():
            try:
                return await manager.setup(pod, host_ip="127.0.0.1", pod_ip="")
            except VolumeError:
                return None
        paths = await eventually(mounted)
        assert (Path(paths["cfg"]) / "k").read_text() == "here"

        # a pod bound elsewhere: the Node authorizer refuses this node's watch
        await admin.api("v1", "ConfigMap").create(
            {"metadata": {"name": "private"}, "data": {"k": "no"}}, namespace=namespace)
        elsewhere = await bound_pod(admin, namespace, "another-node", "elsewhere", volumes=[
            {"name": "cfg", "configMap": {"name": "private"}}])
        with pytest.raises(VolumeError, match="failed to sync configmap cache"):
            await manager.setup(elsewhere, host_ip="127.0.0.1", pod_ip="")
    finally:
        await manager.close()


async def test_container_environment_reads_from_the_watches(admin, kubelet_client, namespace,
                                                            node_name):
    await admin.api("v1", "ConfigMap").create(
        {"metadata": {"name": "env"}, "data": {"GREETING": "hi"}}, namespace=namespace)
    pod = await bound_pod(admin, namespace, node_name, "web", volumes=[], env=[
        {"name": "G", "valueFrom": {"configMapKeyRef": {"name": "env", "key": "GREETING"}}}])
    configmaps = WatchedObjects("configmap", kubelet_client.api("v1", "ConfigMap"),
                                configmap_names, sync_timeout=10.0)
    api = kubelet_client.api("v1", "ConfigMap")
    try:
        with pytest.raises(ConfigError, match="failed to sync configmap cache: .*not registered"):
            await read_config_object(configmaps, api, "configmap", namespace, "env")
        configmaps.register(pod)
        found = await read_config_object(configmaps, api, "configmap", namespace, "env")
        assert found["data"] == {"GREETING": "hi"}
    finally:
        await configmaps.close()
