"""Pod lifecycle on a real node: restarts with backoff, liveness probes, preStop hooks,
graceful deletion, and nothing left behind once the pods are gone.

* a container that keeps exiting goes to CrashLoopBackOff, and the kubelet waits longer
  before each restart (10 s, then 20 s: read from lastState's timestamps), with BackOff
  events;
* a failing liveness probe restarts its container (Unhealthy and Killing events);
* deleting a pod runs its preStop hook before the container is signalled, and the pod is
  gone well within its terminationGracePeriodSeconds;
* afterwards containerd has no container, sandbox or task of the deleted pods, their veths
  are gone and kube-proxy has dropped the KUBE-SEP rules of their endpoints.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime

from nodekit import wait_until

from pyk8s.kubelet.containers import POD_UID
from pyk8s.kubelet.ownruntime import containerd_options


def _apply(kubectl, *objects: dict) -> None:
    kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                  "items": list(objects)}))


def _pod(kubectl, name: str) -> dict:
    return json.loads(kubectl("get", "pod", name, "-o", "json").stdout)


def _container_status(kubectl, name: str) -> dict:
    """The pod's first container status; an empty shape before the kubelet reported."""
    statuses = _pod(kubectl, name).get("status", {}).get("containerStatuses") or \
        [{"state": {}, "lastState": {}, "restartCount": 0}]
    return statuses[0]


def _events(kubectl, name: str) -> list[dict]:
    items = json.loads(kubectl("get", "events", "-o", "json").stdout)["items"]
    return [e for e in items if e["involvedObject"]["name"] == name]


def _time(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _ctr(node, *args: str) -> str:
    socket = containerd_options(node.data_dir / "kubelet").socket
    return subprocess.run(["ctr", "--address", str(socket), "-n", "k8s.io", *args],
                          capture_output=True, text=True, check=True, timeout=30).stdout


def _runtime_ids(node, uid: str) -> set[str]:
    """Ids of every containerd container (sandboxes included) of the pod ``uid``."""
    out = _ctr(node, "containers", "list", "-q", f'labels."{POD_UID}"=={uid}')
    return set(out.split())


def _tasks(node) -> set[str]:
    return {line.split()[0] for line in _ctr(node, "tasks", "list").splitlines()[1:]
            if line.strip()}


def _veths(node) -> set[str]:
    out = node.run("ip", "-o", "link", "show", "type", "veth", check=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def _assert_nothing_left(node, uid: str, runtime_ids: set[str]) -> None:
    assert runtime_ids, "the pod had no containers in containerd to begin with"
    wait_until(lambda: not _runtime_ids(node, uid), 60,
               f"containerd to forget the containers and sandbox of pod {uid}")
    assert not runtime_ids & _tasks(node)


def _pod_spec(name: str, command: str, **extra) -> dict:
    container = {"name": name, "image": "busybox", "command": ["sh", "-c", command],
                 **extra.pop("container", {})}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": extra.pop("labels", {"app": name})},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [container], **extra}}


def test_crash_loop_backoff_and_liveness_restarts(node, kubectl):
    liveness = {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1,
                "failureThreshold": 1}
    _apply(kubectl, _pod_spec("crash", "exit 1"),
           _pod_spec("unhealthy", "sleep 3600", container={"livenessProbe": liveness}))
    runs: dict[int, dict] = {}  # restartCount -> that run's terminated state
    reasons = set()

    def third_restart_done():
        status = _container_status(kubectl, "crash")
        waiting = status["state"].get("waiting") or {}
        reasons.add(waiting.get("reason"))
        if waiting.get("reason") == "CrashLoopBackOff" and status["lastState"]:
            runs[status["restartCount"]] = status["lastState"]["terminated"]
        return all(k in runs for k in (1, 2, 3))

    wait_until(third_restart_done, 180, "three restarts of a crashing container")
    assert "CrashLoopBackOff" in reasons
    assert all(run["exitCode"] == 1 and run["reason"] == "Error" for run in runs.values())
    first_wait = _time(runs[2]["startedAt"]) - _time(runs[1]["finishedAt"])
    second_wait = _time(runs[3]["startedAt"]) - _time(runs[2]["finishedAt"])
    # 10 s, then 20 s; timestamps have whole seconds
    assert first_wait >= 9, runs
    assert second_wait >= 19, runs
    backoffs = [e for e in _events(kubectl, "crash") if e["reason"] == "BackOff"]
    assert backoffs and backoffs[0]["type"] == "Warning"
    assert backoffs[0]["message"].startswith("Back-off restarting failed container crash")

    def restarted_twice():
        return _container_status(kubectl, "unhealthy")["restartCount"] >= 2

    wait_until(restarted_twice, 120, "liveness restarts")
    events = _events(kubectl, "unhealthy")
    unhealthy = [e for e in events if e["reason"] == "Unhealthy"]
    assert unhealthy and unhealthy[0]["type"] == "Warning"
    assert unhealthy[0]["message"].startswith("Liveness probe failed:")
    assert any(e["reason"] == "Killing" and e["message"] ==
               "Container unhealthy failed liveness probe, will be restarted" for e in events)

    pods = {name: _pod(kubectl, name)["metadata"]["uid"] for name in ("crash", "unhealthy")}
    held = {uid: _runtime_ids(node, uid) for uid in pods.values()}
    kubectl("delete", "pod", "crash", "unhealthy", "--wait=true", timeout=60)
    for uid in pods.values():
        _assert_nothing_left(node, uid, held[uid])


def test_prestop_hook_runs_and_deletion_cleans_up(node, kubectl, tmp_path):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    hooks.chmod(0o777)
    serve = ("trap 'echo term >> /hooks/log; exit 0' TERM; echo ok > /tmp/index.html; "
             "httpd -p 8080 -h /tmp; while true; do sleep 1; done")
    grace = 30
    pod = _pod_spec("web", serve, terminationGracePeriodSeconds=grace,
                    volumes=[{"name": "hooks", "hostPath": {"path": str(hooks)}}],
                    container={"lifecycle": {"preStop": {"exec": {
                        "command": ["sh", "-c", "echo prestop >> /hooks/log"]}}},
                        "volumeMounts": [{"name": "hooks", "mountPath": "/hooks"}]})
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"},
                        "ports": [{"port": 80, "targetPort": 8080}]}}
    veths_before = _veths(node)
    _apply(kubectl, pod, service)
    wait_until(lambda: _pod(kubectl, "web")["status"].get("phase") == "Running", 60,
               "pod web Running")
    web = _pod(kubectl, "web")
    uid, ip = web["metadata"]["uid"], web["status"]["podIP"]
    new_veths = _veths(node) - veths_before
    assert new_veths, "the pod got no veth"
    endpoint_rule = f"--to-destination {ip}:8080"

    def sep_rules() -> list[str]:
        dump = node.run("iptables-save", "-t", "nat", check=True).stdout
        return [line for line in dump.splitlines() if "KUBE-SEP" in line and ip in line]

    wait_until(lambda: any(endpoint_rule in r for r in sep_rules()), 60,
               "kube-proxy's KUBE-SEP rules for the pod")
    cluster_ip = kubectl.jsonpath("get", "service", "web", path="{.spec.clusterIP}")
    assert node.wget(f"http://{cluster_ip}/index.html").stdout == "ok\n"
    runtime_ids = _runtime_ids(node, uid)

    started = time.monotonic()
    kubectl("delete", "pod", "web", "--wait=false")
    wait_until(lambda: kubectl("get", "pod", "web", check=False).returncode != 0, grace,
               "pod web gone")
    assert time.monotonic() - started < grace
    assert (hooks / "log").read_text() == "prestop\nterm\n"

    _assert_nothing_left(node, uid, runtime_ids)
    wait_until(lambda: not _veths(node) & new_veths, 30, "the pod's veth removed")
    wait_until(lambda: not sep_rules(), 60, "KUBE-SEP rules of the deleted endpoint gone")
