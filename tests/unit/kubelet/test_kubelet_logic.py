"""Tables for the kubelet's pure logic: env expansion and service links, container config,
computePodActions decisions, phase, restart backoff, atomic volume writes."""

from __future__ import annotations

import pytest

from pyk8s.kubelet.actions import RestartBackoff, RuntimePod, compute_pod_actions
from pyk8s.kubelet.atomicwriter import write_atomic
from pyk8s.kubelet.containers import (
    CONTAINER_HASH,
    CONTAINER_NAME,
    RESTART_COUNT,
    container_config,
    container_hash,
)
from pyk8s.kubelet.envvars import ConfigError, build_env, expand, service_env
from pyk8s.kubelet.podstatus import StatusInputs, pod_status
from pyk8s.kubelet.runtime import ContainerStatus, PodSandboxStatus


@pytest.mark.parametrize("text,expected", [
    ("$(A)-$(B)", "1-$(B)"), ("$$(A)", "$(A)"), ("a$b", "a$b"), ("$(A", "$(A"), ("$", "$"),
])
def test_expand(text, expected):
    assert expand(text, {"A": "1"}) == expected


SVC = [{"metadata": {"namespace": "default", "name": "kubernetes"},
        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443}]}},
       {"metadata": {"namespace": "ns", "name": "my-db"},
        "spec": {"clusterIP": "10.96.0.9", "ports": [{"port": 5432, "protocol": "TCP"}]}},
       {"metadata": {"namespace": "other", "name": "x"}, "spec": {"clusterIP": "10.96.0.3"}},
       {"metadata": {"namespace": "ns", "name": "headless"}, "spec": {"clusterIP": "None"}}]


@pytest.mark.parametrize("links,has_db", [(True, True), (False, False)])
def test_service_env(links, has_db):
    env = service_env(SVC, "ns", links)
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert ("MY_DB_PORT_5432_TCP_ADDR" in env) == has_db
    assert not any(k.startswith(("X_", "HEADLESS_")) for k in env)


POD = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1", "labels": {"app": "a"}},
       "spec": {"nodeName": "n1", "serviceAccountName": "sa"}}


def test_build_env_sources_and_order():
    c = {"name": "c", "resources": {"limits": {"memory": "64Mi"}},
         "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}],
         "env": [{"name": "A", "value": "x"}, {"name": "B", "value": "$(A)-$(MY_DB_SERVICE_HOST)"},
                 {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                 {"name": "APP", "valueFrom": {"fieldRef": {
                     "fieldPath": "metadata.labels['app']"}}},
                 {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                 {"name": "MEM", "valueFrom": {"resourceFieldRef": {
                     "resource": "limits.memory", "divisor": "1Mi"}}},
                 {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "pw"}}},
                 {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k",
                                                               "optional": True}}}]}
    env = build_env(c, POD, services=service_env(SVC, "ns", True),
                    configmaps={"cm": {"k": "v", "bad key": "z"}}, secrets={"s": {"pw": "pw1"}},
                    host_ip="1.1.1.1", pod_ip="10.0.0.5", allocatable={})
    assert env["CM_k"] == "v" and "CM_bad key" not in env
    assert env["B"] == "x-10.96.0.9" and env["NODE"] == "n1" and env["APP"] == "a"
    assert env["IP"] == "10.0.0.5" and env["MEM"] == "64" and env["PW"] == "pw1"
    assert "OPT" not in env and env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    with pytest.raises(ConfigError):
        build_env({"name": "c", "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {
            "name": "missing", "key": "k"}}}]}, POD, services={}, configmaps={}, secrets={},
            host_ip="", pod_ip="", allocatable={})


def test_container_config_mapping():
    c = {"name": "c", "image": "busybox", "command": ["sh", "-c"], "args": ["echo $(A)"],
         "workingDir": "/w", "resources": {"requests": {"cpu": "250m"},
                                           "limits": {"cpu": "500m", "memory": "128Mi"}},
         "securityContext": {"runAsUser": 1000, "capabilities": {"add": ["NET_ADMIN"]}},
         "volumeMounts": [{"name": "v", "mountPath": "/data", "readOnly": True}]}
    cfg = container_config(POD, c, env={"A": "1"}, restart_count=2,
                           volume_paths={"v": "/host/v"})
    assert cfg.args == ["echo 1"] and cfg.working_dir == "/w" and cfg.attempt == 2
    assert (cfg.cpu_shares, cfg.cpu_quota, cfg.cpu_period) == (256, 50000, 100000)
    assert cfg.memory_limit_bytes == 128 * 2 ** 20 and cfg.run_as_user == 1000
    assert cfg.mounts[0].host_path == "/host/v" and cfg.mounts[0].readonly
    assert cfg.annotations[RESTART_COUNT] == "2" and cfg.labels[CONTAINER_NAME] == "c"


APP = {"name": "app", "image": "busybox"}


def _pod(policy="Always", inits=()):
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"},
            "spec": {"restartPolicy": policy, "containers": [APP], "initContainers": list(inits)}}


def _sandbox(state="SANDBOX_READY"):
    return PodSandboxStatus(id="sb", state=state, ip="10.0.0.2")


def _c(name, state, exit_code=0, finished=0, cid=None, spec=APP, restarts=0):
    return ContainerStatus(id=cid or f"{name}-{state}-{restarts}", name=name,
                           state=f"CONTAINER_{state}", exit_code=exit_code,
                           finished_at=finished, labels={CONTAINER_NAME: name},
                           annotations={CONTAINER_HASH: container_hash(spec),
                                        RESTART_COUNT: str(restarts)})


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("policy,rp,expect", [
    ("Always", RuntimePod(), {"create_sandbox": True, "start": ["app"]}),
    ("Always", RuntimePod([_sandbox()], [_c("app", "RUNNING")]), {"start": [], "kill": {}}),
    ("Always", RuntimePod([_sandbox()], [_c("app", "EXITED", 0)]), {"start": ["app"]}),
    ("OnFailure", RuntimePod([_sandbox()], [_c("app", "EXITED", 0)]),
     {"start": [], "pod_done": True}),
    ("OnFailure", RuntimePod([_sandbox()], [_c("app", "EXITED", 2)]), {"start": ["app"]}),
    ("Never", RuntimePod([_sandbox()], [_c("app", "EXITED", 2)]), {"start": [], "pod_done": True}),
    ("Never", RuntimePod([_sandbox("SANDBOX_NOTREADY")], [_c("app", "EXITED", 0)]),
     {"create_sandbox": False, "pod_done": True}),
])
def test_compute_pod_actions(policy, rp, expect):
    actions = compute_pod_actions(_pod(policy), rp, backoff=RestartBackoff())
    for key, value in expect.items():
        assert getattr(actions, key) == value, key


def test_init_containers_in_order_and_liveness_restart():
    inits = [{"name": "i1", "image": "b"}, {"name": "i2", "image": "b"}]
    pod = _pod(inits=inits)
    rp = RuntimePod([_sandbox()], [_c("i1", "EXITED", 0, spec=inits[0])])
    actions = compute_pod_actions(pod, rp, backoff=RestartBackoff())
    assert actions.start_init == "i2" and actions.start == []
    rp = RuntimePod([_sandbox()], [_c("i1", "EXITED", 0, spec=inits[0]),
                                   _c("i2", "EXITED", 0, spec=inits[1]), _c("app", "RUNNING")])
    actions = compute_pod_actions(pod, rp, backoff=RestartBackoff(),
                                  unhealthy=lambda cid: "liveness failed")
    assert actions.kill == {"app-RUNNING-0": "liveness failed"} and actions.start == ["app"]


def test_crash_loop_backoff_doubles_to_cap():
    clock = Clock()
    backoff = RestartBackoff(clock=clock)
    pod = _pod()
    key = "u1/app/" + container_hash(APP)
    exited = RuntimePod([_sandbox()], [_c("app", "EXITED", 1, finished=int(clock.now * 1e9))])
    assert compute_pod_actions(pod, exited, backoff=backoff).start == ["app"]  # first: at once
    delays = []
    for _ in range(7):
        backoff.next(key)
        delays.append(backoff.delay(key))
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    actions = compute_pod_actions(pod, exited, backoff=backoff)
    assert actions.start == [] and actions.waiting["app"][0] == "CrashLoopBackOff"
    assert actions.retry_after == 300
    clock.now += 301
    assert compute_pod_actions(pod, exited, backoff=backoff).start == ["app"]


@pytest.mark.parametrize("policy,containers,waiting,phase", [
    ("Always", [_c("app", "RUNNING")], {}, "Running"),
    ("Always", [_c("app", "EXITED", 1)], {"app": ("CrashLoopBackOff", "m")}, "Running"),
    ("Never", [_c("app", "EXITED", 0)], {}, "Succeeded"),
    ("Never", [_c("app", "EXITED", 3)], {}, "Failed"),
    ("OnFailure", [_c("app", "EXITED", 3)], {}, "Running"),
    ("Always", [], {}, "Pending"),
])
def test_phase_and_status(policy, containers, waiting, phase):
    status = pod_status(_pod(policy), RuntimePod([_sandbox()], containers),
                        StatusInputs(host_ip="1.2.3.4", waiting=waiting, now="t"))
    assert status["phase"] == phase
    assert status["podIP"] == "10.0.0.2" and status["hostIP"] == "1.2.3.4"
    conds = {c["type"]: c["status"] for c in status["conditions"]}
    assert conds["Ready"] == ("True" if phase == "Running" and containers and
                              containers[0].state == "CONTAINER_RUNNING" else "False")
    if containers:
        assert status["containerStatuses"][0]["containerID"].startswith("containerd://")


DEBUG = {"name": "dbg", "image": "busybox", "targetContainerName": "app", "stdin": True}


def test_ephemeral_container_starts_once_and_is_left_running():
    pod = _pod()
    pod["spec"]["ephemeralContainers"] = [DEBUG]
    app = _c("app", "RUNNING")
    actions = compute_pod_actions(pod, RuntimePod([_sandbox()], [app]), backoff=RestartBackoff())
    assert actions.start_ephemeral == ["dbg"] and actions.kill == {}
    # not before the sandbox runs
    assert compute_pod_actions(pod, RuntimePod(), backoff=RestartBackoff()).start_ephemeral == []
    running = RuntimePod([_sandbox()], [app, _c("dbg", "RUNNING", spec=DEBUG)])
    actions = compute_pod_actions(pod, running, backoff=RestartBackoff())
    assert actions.start_ephemeral == [] and actions.kill == {}
    exited = RuntimePod([_sandbox()], [app, _c("dbg", "EXITED", 1, spec=DEBUG)])
    actions = compute_pod_actions(pod, exited, backoff=RestartBackoff())
    assert actions.start_ephemeral == [] and not actions.pod_done
    status = pod_status(pod, running, StatusInputs(host_ip="1.2.3.4", now="t"))
    (debug,) = status["ephemeralContainerStatuses"]
    assert debug["name"] == "dbg" and "running" in debug["state"] and debug["ready"] is False
    assert status["phase"] == "Running"
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"


def test_ephemeral_container_shares_its_targets_pid_namespace():
    from pyk8s.kubelet.runtime import PodSandboxConfig
    from pyk8s.kubelet.runtime.crimap import container_config as cri_config
    cfg = container_config(POD, DEBUG, env={}, restart_count=0, volume_paths={})
    cfg.pid_target_id = "abc"
    sandbox = PodSandboxConfig(name="p", uid="u", namespace="ns")
    options = cri_config(cfg, sandbox).linux.security_context.namespace_options
    assert (options.pid, options.target_id) == (3, "abc")  # CRI's TARGET
    cfg.pid_target_id = ""
    assert cri_config(cfg, sandbox).linux.security_context.namespace_options.pid == 1  # CONTAINER


@pytest.mark.parametrize("spec,pid,ipc", [
    ({}, 1, 0), ({"shareProcessNamespace": True}, 0, 0), ({"hostPID": True}, 2, 0),
    ({"hostIPC": True}, 1, 2), ({"hostPID": True, "shareProcessNamespace": True}, 2, 0)])
def test_pod_namespaces(spec, pid, ipc):
    # CRI's NamespaceMode: POD 0, CONTAINER 1, NODE 2
    from pyk8s.kubelet.containers import sandbox_config
    from pyk8s.kubelet.runtime.crimap import container_config as cri_config
    from pyk8s.kubelet.runtime.crimap import sandbox_config as cri_sandbox
    pod = {**POD, "spec": {**POD.get("spec", {}), **spec}}
    sandbox = sandbox_config(pod, attempt=0, log_root="/l", cluster_dns=[],
                             cluster_domain="cluster.local")
    for options in (cri_sandbox(sandbox).linux.security_context.namespace_options,
                    cri_config(container_config(pod, APP, env={}, restart_count=0,
                                                volume_paths={}), sandbox)
                    .linux.security_context.namespace_options):
        assert (options.pid, options.ipc, options.network) == (pid, ipc, 0)


def test_atomic_writer(tmp_path):
    target = str(tmp_path / "vol")
    assert write_atomic(target, {"a": (b"1", 0o644), "b": (b"2", 0o600)})
    assert not write_atomic(target, {"a": (b"1", 0o644), "b": (b"2", 0o600)})
    first = (tmp_path / "vol" / "..data").readlink()
    assert write_atomic(target, {"a": (b"3", 0o644)})
    assert (tmp_path / "vol" / "a").read_bytes() == b"3"
    assert not (tmp_path / "vol" / "b").exists() and not (tmp_path / "vol" / first).exists()


def test_security_context_to_cri():
    from pyk8s.kubelet.runtime import PodSandboxConfig
    from pyk8s.kubelet.runtime.crimap import container_config as cri_config
    pod = {**POD, "spec": {**POD["spec"], "securityContext": {
        "supplementalGroups": [5, 6], "fsGroup": 2000,
        "seccompProfile": {"type": "Unconfined"}}}}
    c = {**APP, "securityContext": {"allowPrivilegeEscalation": False,
                                    "seccompProfile": {"type": "RuntimeDefault"}}}
    cfg = container_config(pod, c, env={}, restart_count=0, volume_paths={})
    assert (cfg.no_new_privs, cfg.seccomp, cfg.supplemental_groups) == \
        (True, "RuntimeDefault", [5, 6, 2000])
    sc = cri_config(cfg, PodSandboxConfig(name="p", uid="u", namespace="ns")) \
        .linux.security_context
    assert sc.no_new_privs and list(sc.supplemental_groups) == [5, 6, 2000]
    assert sc.HasField("seccomp") and sc.seccomp.profile_type == 0  # RuntimeDefault
    plain = container_config(POD, APP, env={}, restart_count=0, volume_paths={})
    assert (plain.no_new_privs, plain.seccomp, plain.supplemental_groups) == (False, "", [])


@pytest.mark.parametrize("pod_ctx,ctx,image,problem", [
    ({}, {}, (0, ""), ""),
    ({"runAsNonRoot": True}, {}, (0, ""), "container has runAsNonRoot and image will run as root"),
    ({"runAsNonRoot": True}, {"runAsUser": 1000}, (0, ""), ""),
    ({"runAsNonRoot": True, "runAsUser": 1000}, {"runAsUser": 0}, (None, ""),
     "container's runAsUser breaks non-root policy"),
    ({}, {"runAsNonRoot": True}, (1000, ""), ""),
    ({}, {"runAsNonRoot": True}, (None, "nobody"),
     "container has runAsNonRoot and image has non-numeric user (nobody), cannot verify"),
    ({"runAsNonRoot": True}, {"runAsNonRoot": False}, (0, ""), ""),
])
def test_run_as_non_root(pod_ctx, ctx, image, problem):
    from pyk8s.kubelet.containers import non_root_problem
    pod = {**POD, "spec": {**POD["spec"], "securityContext": pod_ctx}}
    found = non_root_problem(pod, {**APP, "securityContext": ctx}, *image)
    assert found.startswith(problem) if problem else found == ""
    if problem:
        assert found.endswith('(pod: "p_ns(u1)", container: app)')


def test_active_deadline_and_failed_status():
    from pyk8s.kubelet.podworkers import active_deadline_left
    pod = _pod()
    assert active_deadline_left(pod, 1000.0) is None
    pod["spec"]["activeDeadlineSeconds"] = 30
    assert active_deadline_left(pod, 1000.0) is None  # not started
    pod["status"] = {"startTime": "1970-01-01T00:16:40Z"}  # 1000 s
    assert active_deadline_left(pod, 1010.0) == 20 and active_deadline_left(pod, 1031.0) == -1
    status = pod_status(pod, RuntimePod([_sandbox()], [_c("app", "EXITED", 137)]),
                        StatusInputs(host_ip="h", now="t", terminal=True,
                                     failure=("DeadlineExceeded", "too long")))
    assert (status["phase"], status["reason"], status["message"]) == \
        ("Failed", "DeadlineExceeded", "too long")
