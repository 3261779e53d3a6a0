"""Pod status builders: Running, Succeeded, readiness gates, stability of rebuilt status."""

from __future__ import annotations

import copy

import pytest

from pyk8s.hollow.podstatus import (
    RUN_SECONDS_ANNOTATION,
    finished_status,
    needs_update,
    run_seconds,
    running_status,
)

T0, T1, T2 = "2025-01-01T00:00:00Z", "2025-01-01T00:00:10Z", "2025-01-01T00:00:20Z"


def pod(*, init=(), sidecars=(), gates=(), conditions=(), restart="Always", annotations=None):
    spec = {"restartPolicy": restart,
            "containers": [{"name": "app", "image": "nginx:1"}],
            "initContainers": [{"name": n, "image": "busybox"} for n in init] +
                              [{"name": n, "image": "envoy", "restartPolicy": "Always"}
                               for n in sidecars]}
    if gates:
        spec["readinessGates"] = [{"conditionType": g} for g in gates]
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u1",
                         "annotations": annotations or {}},
            "spec": spec,
            "status": {"phase": "Pending", "qosClass": "BestEffort",
                       "conditions": [{"type": "PodScheduled", "status": "True",
                                       "lastTransitionTime": T0}, *conditions]}}


def conds(status):
    return {c["type"]: (c["status"], c.get("reason")) for c in status["conditions"]}


def test_running():
    status = running_status(pod(init=["setup"], sidecars=["proxy"]), host_ip="10.255.0.1",
                            pod_ip="10.244.0.2", now=T1)
    assert status["phase"] == "Running"
    assert conds(status) == {"PodReadyToStartContainers": ("True", None),
                             "Initialized": ("True", None), "Ready": ("True", None),
                             "ContainersReady": ("True", None), "PodScheduled": ("True", None)}
    assert status["conditions"][-1]["lastTransitionTime"] == T0  # kept from the scheduler
    assert (status["hostIP"], status["hostIPs"], status["podIP"], status["podIPs"]) == \
        ("10.255.0.1", [{"ip": "10.255.0.1"}], "10.244.0.2", [{"ip": "10.244.0.2"}])
    assert status["startTime"] == T1
    [app] = status["containerStatuses"]
    assert app["state"] == {"running": {"startedAt": T1}}
    assert (app["ready"], app["started"], app["restartCount"], app["image"]) == \
        (True, True, 0, "nginx:1")
    assert app["containerID"].startswith("hollow://")
    assert app["imageID"].startswith("hollow://sha256:")
    setup, proxy = status["initContainerStatuses"]
    assert setup["state"]["terminated"]["reason"] == "Completed"
    assert setup["state"]["terminated"]["exitCode"] == 0
    assert (setup["ready"], setup["started"]) == (True, False)
    assert "running" in proxy["state"] and proxy["started"]
    assert "qosClass" not in status  # left as the API server set it


def test_rebuilding_a_running_pod_changes_nothing():
    first = pod()
    first["status"] = {**first["status"], **running_status(first, host_ip="h", pod_ip="p",
                                                           now=T1)}
    again = running_status(first, host_ip="h", pod_ip="p", now=T2)
    assert again["startTime"] == T1
    assert again["containerStatuses"][0]["state"]["running"]["startedAt"] == T1
    assert not needs_update(first["status"], again)
    stored = copy.deepcopy(first["status"])
    for cond in stored["conditions"]:
        cond.pop("lastProbeTime", None)  # what the server may drop
    assert not needs_update(stored, again)
    assert needs_update(pod()["status"], again)


def test_readiness_gates():
    status = running_status(pod(gates=["example.com/lb"]), host_ip="h", pod_ip="p", now=T1)
    assert conds(status)["Ready"] == ("False", "ReadinessGatesNotReady")
    assert conds(status)["ContainersReady"] == ("True", None)
    passed = pod(gates=["example.com/lb"],
                 conditions=[{"type": "example.com/lb", "status": "True"}])
    assert conds(running_status(passed, host_ip="h", pod_ip="p", now=T1))["Ready"] == \
        ("True", None)


def test_finished():
    running = pod(init=["setup"], restart="Never")
    running["status"] = {**running["status"], **running_status(running, host_ip="h",
                                                               pod_ip="p", now=T1)}
    status = finished_status(running, host_ip="h", pod_ip="p", now=T2)
    assert status["phase"] == "Succeeded"
    assert conds(status) == {"PodReadyToStartContainers": ("False", None),
                             "Initialized": ("True", "PodCompleted"),
                             "Ready": ("False", "PodCompleted"),
                             "ContainersReady": ("False", "PodCompleted"),
                             "PodScheduled": ("True", None)}
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["lastTransitionTime"] == T2
    [app] = status["containerStatuses"]
    assert app["state"]["terminated"] == {"exitCode": 0, "reason": "Completed",
                                          "startedAt": T1, "finishedAt": T2,
                                          "containerID": app["containerID"]}
    assert (app["ready"], app["started"]) == (False, False)
    assert status["initContainerStatuses"][0]["state"]["terminated"]["finishedAt"] == T1
    assert needs_update(running["status"], status)


def test_stopped_before_it_had_an_address():
    status = finished_status(pod(), host_ip="h", pod_ip="", now=T1)
    assert "podIP" not in status and status["hostIP"] == "h"


@pytest.mark.parametrize("restart, value, want", [
    ("Never", "5", 5.0), ("OnFailure", "0.5", 0.5), ("Never", "-3", 0.0),
    ("Always", "5", None), ("Never", None, None), ("Never", "soon", None),
])
def test_run_seconds(restart, value, want):
    annotations = {RUN_SECONDS_ANNOTATION: value} if value is not None else {}
    assert run_seconds(pod(restart=restart, annotations=annotations)) == want
