"""postStart and preStop hooks against the in-memory runtime (scripted exec results)."""

from __future__ import annotations

import asyncio

from pyk8s.kubelet.actions import RestartBackoff, compute_pod_actions
from pyk8s.kubelet.kuberuntime import PodRuntime, RuntimeOptions
from pyk8s.kubelet.runtime import ExecResult
from pyk8s.kubelet.runtime.fake import FakeRuntime, default_exec


class _Recorder:
    def __init__(self) -> None:
        self.events: list[dict] = []

    def event(self, _obj, **kw) -> None:
        self.events.append(kw)

    def reasons(self) -> list[str]:
        return [e["reason"] for e in self.events]


class _Client:
    def api(self, *_args):
        return None


class _Store:
    def list(self) -> list:
        return []


def _pod(lifecycle: dict, grace: int = 30) -> dict:
    return {"metadata": {"name": "web", "namespace": "ns", "uid": "uid-1"},
            "spec": {"terminationGracePeriodSeconds": grace, "containers": [
                {"name": "app", "image": "busybox:1.36", "lifecycle": lifecycle}]}}


def _setup(runtime: FakeRuntime) -> tuple[PodRuntime, _Recorder]:
    recorder = _Recorder()
    rt = PodRuntime(_Client(), runtime, recorder,
                    RuntimeOptions(node_name="n", host_ip="127.0.0.1", log_root=""),
                    services=_Store(), allocatable={}, backoff=RestartBackoff())
    return rt, recorder


async def _sync(rt: PodRuntime, pod: dict) -> dict:
    rp = await rt.pod(pod["metadata"]["uid"])
    actions = compute_pod_actions(pod, rp, backoff=rt.backoff)
    return await rt.apply(pod, rp, actions, {})


def _script(results: dict[str, ExecResult]):
    def handler(status, cmd):
        return results.get(" ".join(cmd)) or default_exec(status, cmd)
    return handler


async def test_post_start_exec_runs_after_start():
    runtime = FakeRuntime()
    rt, recorder = _setup(runtime)
    pod = _pod({"postStart": {"exec": {"command": ["touch", "/ready"]}}})
    assert await _sync(rt, pod) == {}
    methods = [c[0] for c in runtime.calls]
    assert methods.index("exec_sync") > methods.index("start_container")
    assert ("exec_sync", runtime.running()[0].id, ["touch", "/ready"]) == \
        next(c for c in runtime.calls if c[0] == "exec_sync")[:3]
    assert "FailedPostStartHook" not in recorder.reasons()


async def test_failing_post_start_kills_the_container():
    runtime = FakeRuntime(exec_handler=_script({"setup": ExecResult(3, b"boom", b"")}))
    rt, recorder = _setup(runtime)
    pod = _pod({"postStart": {"exec": {"command": ["setup"]}}})
    waiting = await _sync(rt, pod)
    reason, message = waiting["app"]
    assert reason == "PostStartHookError"
    assert "Exec lifecycle hook ([setup])" in message and "exited with 3: boom" in message
    assert runtime.running() == []
    assert recorder.reasons()[-2:] == ["FailedPostStartHook", "Killing"]
    assert "FailedPostStartHook" in recorder.events[-1]["note"]
    # restartPolicy Always: the first restart is at once, the next one backs off
    assert (await _sync(rt, pod))["app"][0] == "PostStartHookError"
    assert (await _sync(rt, pod))["app"][0] == "CrashLoopBackOff"


async def test_post_start_http_get():
    hits: list[bytes] = []

    async def serve(reader, writer):
        hits.append(await reader.readline())
        writer.write(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    runtime = FakeRuntime()
    rt, _recorder = _setup(runtime)
    pod = _pod({"postStart": {"httpGet": {"host": "127.0.0.1", "port": port,
                                          "path": "/warm"}}})
    async with server:
        waiting = await _sync(rt, pod)
    assert hits == [b"GET /warm HTTP/1.1\r\n"]
    assert waiting["app"][0] == "PostStartHookError"
    assert "statuscode: 500" in waiting["app"][1]


async def test_pre_stop_runs_before_stop_and_uses_grace():
    runtime = FakeRuntime()
    rt, recorder = _setup(runtime)
    pod = _pod({"preStop": {"exec": {"command": ["drain"]}}}, grace=20)
    await _sync(rt, pod)
    cid = runtime.running()[0].id
    runtime.calls.clear()
    rp = await rt.pod("uid-1")
    await rt.kill_pod(pod, rp, 20)
    calls = [c for c in runtime.calls if c[0] in ("exec_sync", "stop_container")]
    assert calls[0][:3] == ("exec_sync", cid, ["drain"])
    assert calls[1] == ("stop_container", cid, 20)
    assert "FailedPreStopHook" not in recorder.reasons()


async def test_pre_stop_counts_against_grace_and_failure_is_reported():
    runtime = FakeRuntime()
    rt, recorder = _setup(runtime)
    pod = _pod({"preStop": {"sleep": {"seconds": 5}}}, grace=1)
    await _sync(rt, pod)
    cid = runtime.running()[0].id
    await rt.kill_pod(pod, await rt.pod("uid-1"), 1)
    stops = [c for c in runtime.calls if c[0] == "stop_container"]
    assert stops == [("stop_container", cid, 2)]  # at least 2 s after the hook
    assert "FailedPreStopHook" in recorder.reasons()
    assert "timed out" in recorder.events[-1]["note"]


async def test_no_pre_stop_for_exited_container_or_zero_grace():
    runtime = FakeRuntime(exit_codes={"app": 0})
    rt, _ = _setup(runtime)
    pod = _pod({"preStop": {"exec": {"command": ["drain"]}}})
    await _sync(rt, pod)
    await rt.kill_pod(pod, await rt.pod("uid-1"), 30)
    assert not [c for c in runtime.calls if c[0] == "exec_sync"]
    runtime2 = FakeRuntime()
    rt2, _ = _setup(runtime2)
    await _sync(rt2, pod)
    await rt2.kill_pod(pod, await rt2.pod("uid-1"), 0)
    assert not [c for c in runtime2.calls if c[0] == "exec_sync"]
