"""Lifecycle hooks on a real containerd: postStart exec inside the container, preStop
httpGet to the pod's IP (on the test's own CNI bridge), and a failing postStart."""

from __future__ import annotations

from pyk8s.kubelet.actions import RestartBackoff, compute_pod_actions
from pyk8s.kubelet.kuberuntime import PodRuntime, RuntimeOptions


class _Recorder:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def event(self, _obj, **kw) -> None:
        self.reasons.append(kw["reason"])


class _Client:
    def api(self, *_args):
        return None


class _Store:
    def list(self) -> list:
        return []


def _pod(name: str, uid: str, lifecycle: dict) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "uid": uid},
            "spec": {"terminationGracePeriodSeconds": 2, "containers": [{
                "name": "web", "image": "busybox:1.36", "lifecycle": lifecycle,
                "command": ["sh", "-c", "mkdir -p /www; exec httpd -f -p 8080 -h /www"]}]}}


async def _sync(rt: PodRuntime, pod: dict) -> dict:
    rp = await rt.pod(pod["metadata"]["uid"])
    return await rt.apply(pod, rp, compute_pod_actions(pod, rp, backoff=rt.backoff), {})


async def test_hooks_in_containerd(containerd_node, tmp_path):
    runtime = containerd_node.runtime
    recorder = _Recorder()
    rt = PodRuntime(_Client(), runtime, recorder,
                    RuntimeOptions(node_name="n", host_ip="127.0.0.1",
                                   log_root=str(tmp_path / "logs")),
                    services=_Store(), allocatable={}, backoff=RestartBackoff())
    good = _pod("good", "uid-good", {
        "postStart": {"exec": {"command": ["sh", "-c", "mkdir -p /www; echo ok > /www/ok"]}},
        "preStop": {"httpGet": {"path": "/ok", "port": 8080}}})
    assert await _sync(rt, good) == {}
    rp = await rt.pod("uid-good")
    cid = rp.running()[0].id
    assert (await runtime.exec_sync(cid, ["cat", "/www/ok"], 5)).stdout == b"ok\n"
    await rt.kill_pod(good, rp, 2)
    assert "FailedPreStopHook" not in recorder.reasons

    bad = _pod("bad", "uid-bad", {"postStart": {"exec": {"command": ["sh", "-c", "exit 7"]}}})
    waiting = await _sync(rt, bad)
    assert waiting["web"][0] == "PostStartHookError" and "exited with 7" in waiting["web"][1]
    assert "FailedPostStartHook" in recorder.reasons
    assert (await rt.pod("uid-bad")).running() == []
