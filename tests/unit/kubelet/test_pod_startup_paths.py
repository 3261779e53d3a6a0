"""What keeps a burst of pod starts cheap: one pod's sync lists only that pod's sandboxes
and containers, and the kubelet's own status writes coming back do not wake its worker."""

from __future__ import annotations

from pyk8s.kubelet.containers import POD_UID
from pyk8s.kubelet.kuberuntime import runtime_pods
from pyk8s.kubelet.podworkers import _differs
from pyk8s.kubelet.runtime import PodSandboxConfig
from pyk8s.kubelet.runtime.fake import FakeRuntime


async def test_runtime_pods_of_one_pod():
    rt = FakeRuntime()
    for uid in ("a", "b"):
        config = PodSandboxConfig(name=uid, namespace="ns", uid=uid, labels={POD_UID: uid})
        await rt.run_pod_sandbox(config)
    assert set(await runtime_pods(rt)) == {"a", "b"}
    assert set(await runtime_pods(rt, "a")) == {"a"}
    assert set(await runtime_pods(rt, brief=True)) == {"a", "b"}


def test_status_only_updates_are_no_change():
    pod = {"metadata": {"name": "p", "labels": {"x": "1"}, "resourceVersion": "1"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]},
           "status": {"phase": "Pending"}}
    written = {**pod, "metadata": {**pod["metadata"], "resourceVersion": "2"},
               "status": {"phase": "Running"}}
    assert not _differs(pod, written)
    assert _differs(pod, {**pod, "metadata": {**pod["metadata"], "labels": {"x": "2"}}})
    assert _differs(pod, {**pod, "metadata": {**pod["metadata"],
                                              "deletionTimestamp": "2026-01-01T00:00:00Z"}})
    gated = {**pod, "spec": {**pod["spec"], "readinessGates": [{"conditionType": "g"}]}}
    assert _differs(gated, {**gated, "status": {"conditions": [{"type": "g",
                                                                "status": "True"}]}})
