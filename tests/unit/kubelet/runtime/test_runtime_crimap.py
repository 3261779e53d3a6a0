"""Dataclasses <-> CRI v1 messages, field by field."""

from __future__ import annotations

import pytest
from cri_api.v1 import api_pb2 as pb

from pyk8s.kubelet.runtime import ContainerConfig, Mount, PodSandboxConfig
from pyk8s.kubelet.runtime import crimap


def sandbox(**kw) -> PodSandboxConfig:
    base = dict(name="web", namespace="ns", uid="u1", attempt=2, hostname="web-0",
                log_directory="/var/log/pods/ns_web_u1", labels={"a": "b"},
                annotations={"c": "d"}, cgroup_parent="/kubepods/podu1")
    base.update(kw)
    return PodSandboxConfig(**base)


def test_sandbox_config():
    msg = crimap.sandbox_config(sandbox(
        dns_servers=["10.96.0.10"], dns_searches=["ns.svc.cluster.local"],
        dns_options=["ndots:5"],
        port_mappings=[{"protocol": "UDP", "container_port": 53, "host_port": 5353,
                        "host_ip": "127.0.0.1"}, {"container_port": 80, "host_port": 8080}]))
    assert (msg.metadata.name, msg.metadata.namespace, msg.metadata.uid, msg.metadata.attempt) \
        == ("web", "ns", "u1", 2)
    assert msg.hostname == "web-0" and msg.log_directory == "/var/log/pods/ns_web_u1"
    assert list(msg.dns_config.servers) == ["10.96.0.10"]
    assert list(msg.dns_config.searches) == ["ns.svc.cluster.local"]
    assert list(msg.dns_config.options) == ["ndots:5"]
    assert [(p.protocol, p.container_port, p.host_port, p.host_ip) for p in msg.port_mappings] \
        == [(pb.UDP, 53, 5353, "127.0.0.1"), (pb.TCP, 80, 8080, "")]
    assert dict(msg.labels) == {"a": "b"} and dict(msg.annotations) == {"c": "d"}
    assert msg.linux.cgroup_parent == "/kubepods/podu1"
    ns = msg.linux.security_context.namespace_options
    assert (ns.network, ns.pid, ns.ipc) == (pb.POD, pb.CONTAINER, pb.POD)


def test_sandbox_without_dns_leaves_it_unset_and_host_network_uses_node_netns():
    msg = crimap.sandbox_config(sandbox(host_network=True))
    assert not msg.HasField("dns_config")
    assert msg.linux.security_context.namespace_options.network == pb.NODE


def test_unknown_port_protocol():
    with pytest.raises(ValueError):
        crimap.port_mapping({"protocol": "ICMP", "container_port": 1})


def test_container_config():
    cfg = ContainerConfig(
        name="app", image="busybox", attempt=1, command=["sh"], args=["-c", "true"],
        working_dir="/w", envs={"A": "1", "B": "2"},
        mounts=[Mount("/data", "/host/data", readonly=True), Mount("/tmp/x", "/host/x")],
        log_path="app/1.log", labels={"l": "1"}, annotations={"n": "2"}, stdin=True, tty=True,
        cpu_shares=512, cpu_quota=50000, cpu_period=100000, memory_limit_bytes=1 << 26,
        run_as_user=1000, run_as_group=2000, readonly_rootfs=True,
        add_capabilities=["NET_ADMIN"], drop_capabilities=["ALL"])
    msg = crimap.container_config(cfg, sandbox(host_network=True))
    assert (msg.metadata.name, msg.metadata.attempt, msg.image.image) == ("app", 1, "busybox")
    assert list(msg.command) == ["sh"] and list(msg.args) == ["-c", "true"]
    assert msg.working_dir == "/w" and msg.log_path == "app/1.log"
    assert [(e.key, e.value) for e in msg.envs] == [("A", "1"), ("B", "2")]
    assert [(m.container_path, m.host_path, m.readonly) for m in msg.mounts] == \
        [("/data", "/host/data", True), ("/tmp/x", "/host/x", False)]
    assert dict(msg.labels) == {"l": "1"} and dict(msg.annotations) == {"n": "2"}
    assert msg.stdin and msg.tty
    res = msg.linux.resources
    assert (res.cpu_shares, res.cpu_quota, res.cpu_period, res.memory_limit_in_bytes) == \
        (512, 50000, 100000, 1 << 26)
    sc = msg.linux.security_context
    assert sc.run_as_user.value == 1000 and sc.run_as_group.value == 2000
    assert sc.readonly_rootfs and not sc.privileged
    assert list(sc.capabilities.add_capabilities) == ["NET_ADMIN"]
    assert list(sc.capabilities.drop_capabilities) == ["ALL"]
    assert sc.namespace_options.network == pb.NODE
    assert "/proc/kcore" in sc.masked_paths and "/proc/sys" in sc.readonly_paths


def test_container_defaults_and_privileged():
    msg = crimap.container_config(ContainerConfig(name="c", image="i", privileged=True),
                                  sandbox())
    sc = msg.linux.security_context
    assert sc.privileged
    assert not sc.HasField("run_as_user") and not sc.HasField("run_as_group")
    assert list(sc.masked_paths) == [] and list(sc.readonly_paths) == []
    assert sc.namespace_options.network == pb.POD


def test_root_user_zero_is_sent():
    msg = crimap.container_config(ContainerConfig(name="c", image="i", run_as_user=0),
                                  sandbox())
    assert msg.linux.security_context.HasField("run_as_user")
    assert msg.linux.security_context.run_as_user.value == 0


def test_sandbox_status_back():
    msg = pb.PodSandboxStatus(
        id="s1", state=pb.SANDBOX_NOTREADY, created_at=5,
        network=pb.PodSandboxNetworkStatus(ip="10.0.0.2",
                                           additional_ips=[pb.PodIP(ip="fd00::2")]),
        labels={"a": "b"}, annotations={"c": "d"})
    st = crimap.sandbox_status(msg)
    assert (st.id, st.state, st.ip, st.additional_ips, st.created_at) == \
        ("s1", "SANDBOX_NOTREADY", "10.0.0.2", ["fd00::2"], 5)
    assert st.labels == {"a": "b"} and st.annotations == {"c": "d"}


def test_container_status_back():
    msg = pb.ContainerStatus(
        id="c1", metadata=pb.ContainerMetadata(name="app", attempt=3),
        state=pb.CONTAINER_EXITED, created_at=1, started_at=2, finished_at=3, exit_code=3,
        image=pb.ImageSpec(image="docker.io/library/busybox:latest"),
        image_ref="sha256:abc", reason="Error", message="boom", log_path="/l/app/3.log",
        labels={"x": "y"}, annotations={"z": "w"})
    st = crimap.container_status(msg, "s1")
    assert (st.id, st.name, st.attempt, st.state) == ("c1", "app", 3, "CONTAINER_EXITED")
    assert (st.created_at, st.started_at, st.finished_at, st.exit_code) == (1, 2, 3, 3)
    assert (st.image, st.image_ref, st.reason, st.message, st.log_path) == \
        ("docker.io/library/busybox:latest", "sha256:abc", "Error", "boom", "/l/app/3.log")
    assert (st.labels, st.annotations, st.sandbox_id) == ({"x": "y"}, {"z": "w"}, "s1")


@pytest.mark.parametrize("py,go", [("NOT_FOUND", "NotFound"), ("UNKNOWN", "Unknown"),
                                   ("DEADLINE_EXCEEDED", "DeadlineExceeded"),
                                   ("CANCELLED", "Canceled"), ("OK", "OK"),
                                   ("FAILED_PRECONDITION", "FailedPrecondition")])
def test_go_code_names(py, go):
    assert crimap.go_code_name(py) == go
