"""The kubelet against a real API server, with the in-memory FakeRuntime.

Node registration and readiness, Lease renewal, a pod run to Running/Ready, a
crash-looping container, a Job-like pod that succeeds, ConfigMap/Secret volumes and
deletion (containers stopped, pod removed after the kubelet's confirmation). Periods
are shortened (1 s status/lease) so the test sees several rounds quickly.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid

from polling import eventually

from pyk8s.client import NotFound, load_kubeconfig
from pyk8s.kubelet.main import KubeletOptions, run
from pyk8s.kubelet.runtime.fake import FakeRuntime


def pod(name, node, *, restart="Always", containers=None, volumes=None):
    return {"metadata": {"name": name},
            "spec": {"nodeName": node, "restartPolicy": restart,
                     "terminationGracePeriodSeconds": 1,
                     "containers": containers or [{"name": "app", "image": "busybox:1.36"}],
                     **({"volumes": volumes} if volumes else {})}}


async def test_kubelet_with_fake_runtime(apiserver, admin, namespace, tmp_path):
    node = f"kl-node-{uuid.uuid4().hex[:6]}"
    runtime = FakeRuntime(exit_codes={"crash": 1, "job": 0})
    opts = KubeletOptions(node_name=node, root_dir=str(tmp_path / "root"), node_ip="127.0.0.1",
                          node_status_update_frequency=1.0, lease_renew_interval=1.0,
                          pod_resync=2.0)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run(opts, load_kubeconfig(apiserver.kubeconfig), stop,
                                   runtime=runtime, ready=ready))
    pods = admin.api("v1", "Pod")
    try:
        await asyncio.wait_for(ready.wait(), 30)

        async def node_ready():
            n = await admin.api("v1", "Node").get(node)
            conds = {c["type"]: c["status"] for c in n["status"].get("conditions") or ()}
            return conds.get("Ready") == "True" and n["status"]["capacity"]["pods"] == "110" \
                and n["status"]["nodeInfo"]["containerRuntimeVersion"] == "fake://0.1.0"
        await eventually(node_ready)

        leases = admin.api("coordination.k8s.io/v1", "Lease")

        async def lease_time():
            try:
                return (await leases.get(node, namespace="kube-node-lease"))["spec"]["renewTime"]
            except NotFound:
                return None
        first = await eventually(lease_time)

        async def renewed():
            lease = await leases.get(node, namespace="kube-node-lease")
            return lease["spec"]["renewTime"] != first
        await eventually(renewed)

        # configmap + secret volumes, env from both
        await admin.api("v1", "ConfigMap").create(
            {"metadata": {"name": "cfg"}, "data": {"greeting": "hello"}}, namespace=namespace)
        await admin.api("v1", "Secret").create(
            {"metadata": {"name": "sec"}, "data": {"pw": base64.b64encode(b"s3cret").decode()}},
            namespace=namespace)
        web = pod("web", node, containers=[{
            "name": "app", "image": "busybox:1.36",
            "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {
                "name": "cfg", "key": "greeting"}}}],
            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"},
                             {"name": "sec", "mountPath": "/etc/sec"}]}],
            volumes=[{"name": "cfg", "configMap": {"name": "cfg"}},
                     {"name": "sec", "secret": {"secretName": "sec"}}])
        await pods.create(web, namespace=namespace)
        await pods.create(pod("crash", node, containers=[{"name": "crash",
                                                            "image": "busybox:1.36"}]),
                          namespace=namespace)
        await pods.create(pod("job", node, restart="Never",
                              containers=[{"name": "job", "image": "busybox:1.36"}]),
                          namespace=namespace)

        async def web_running():
            p = await pods.get("web", namespace=namespace)
            st = p.get("status") or {}
            conds = {c["type"]: c["status"] for c in st.get("conditions") or ()}
            cs = (st.get("containerStatuses") or [{}])[0]
            return st.get("phase") == "Running" and conds.get("Ready") == "True" and \
                cs.get("ready") and cs.get("containerID", "").startswith("fake://") and \
                st.get("podIP", "").startswith("10.88.0.") and p
        p = await eventually(web_running)
        uid = p["metadata"]["uid"]
        vol = tmp_path / "root" / "pods" / uid / "volumes"
        assert (vol / "kubernetes.io~configmap" / "cfg" / "greeting").read_text() == "hello"
        assert (vol / "kubernetes.io~secret" / "sec" / "pw").read_bytes() == b"s3cret"
        env = next(c.config.envs for c in runtime.containers.values()
                   if c.config.labels.get("io.kubernetes.pod.uid") == uid)
        assert env["GREETING"] == "hello"

        await admin.api("v1", "ConfigMap").patch("cfg", {"data": {"greeting": "bye"}},
                                                  namespace=namespace)

        async def cfg_updated():
            return (vol / "kubernetes.io~configmap" / "cfg" / "greeting").read_text() == "bye"
        await eventually(cfg_updated)

        async def crash_looping():
            st = (await pods.get("crash", namespace=namespace)).get("status") or {}
            cs = (st.get("containerStatuses") or [{}])[0]
            waiting = (cs.get("state") or {}).get("waiting") or {}
            return st.get("phase") == "Running" and cs.get("restartCount", 0) >= 1 and \
                waiting.get("reason") == "CrashLoopBackOff" and \
                cs["lastState"]["terminated"]["exitCode"] == 1
        await eventually(crash_looping)

        async def job_done():
            st = (await pods.get("job", namespace=namespace)).get("status") or {}
            return st.get("phase") == "Succeeded" and \
                st["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
        await eventually(job_done)

        await pods.delete("web", namespace=namespace)

        async def web_gone():
            try:
                await pods.get("web", namespace=namespace)
            except NotFound:
                return True
            return False
        await eventually(web_gone)
        assert not [c for c in runtime.running()
                    if c.labels.get("io.kubernetes.pod.uid") == uid]
        assert not os.path.exists(tmp_path / "root" / "pods" / uid)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
