"""Translation between the runtime dataclasses and CRI v1 protobuf messages.

Kept apart from the gRPC client so the mapping is pure and tested as tables, and so no
generated type leaks above this package. Where the kubelet leaves a field empty, the
defaults are upstream kuberuntime's: the PID namespace is the container's own, IPC is the
pod's, the network is the pod's (or the node's for hostNetwork), and unprivileged
containers get the default masked and read-only /proc and /sys paths.
"""

from __future__ import annotations

from cri_api.v1 import api_pb2 as pb

from . import AuthConfig, ContainerConfig, ContainerStatus, PodSandboxConfig, PodSandboxStatus

# k8s.io/kubernetes/pkg/securitycontext: DefaultProcMount's paths.
DEFAULT_MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
)
DEFAULT_READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                          "/proc/sysrq-trigger")

_PROTOCOLS = {"TCP": pb.TCP, "UDP": pb.UDP, "SCTP": pb.SCTP}

# gRPC status names spelt as Go prints them ("rpc error: code = NotFound"), which is what
# containerd's messages and crictl show; FakeRuntime uses the same spelling.
_GO_CODE_NAMES = {"CANCELLED": "Canceled", "OK": "OK"}


def go_code_name(python_name: str) -> str:
    """``NOT_FOUND`` -> ``NotFound``, as grpc-go spells status codes."""
    if python_name in _GO_CODE_NAMES:
        return _GO_CODE_NAMES[python_name]
    return "".join(part.capitalize() for part in python_name.split("_"))


def auth_config(auth: AuthConfig) -> pb.AuthConfig:
    return pb.AuthConfig(username=auth.username, password=auth.password, auth=auth.auth,
                         server_address=auth.server_address,
                         identity_token=auth.identity_token,
                         registry_token=auth.registry_token)


_SECCOMP = {"RuntimeDefault": pb.SecurityProfile.RuntimeDefault,
            "Unconfined": pb.SecurityProfile.Unconfined}


def namespace_options(sandbox: PodSandboxConfig, pid_target_id: str = "") -> pb.NamespaceOption:
    """Upstream's namespacesForPod: the node's network, PID and IPC namespaces when the
    pod asks for them; else one network and IPC namespace per pod, and a PID namespace per
    container (per pod with shareProcessNamespace; an ephemeral container's target's)."""
    if sandbox.host_pid:
        pid = pb.NODE
    elif pid_target_id:
        pid = pb.TARGET
    else:
        pid = pb.POD if sandbox.share_pid else pb.CONTAINER
    return pb.NamespaceOption(network=pb.NODE if sandbox.host_network else pb.POD, pid=pid,
                              ipc=pb.NODE if sandbox.host_ipc else pb.POD,
                              target_id=pid_target_id if pid == pb.TARGET else "")


def port_mapping(pm: dict) -> pb.PortMapping:
    protocol = str(pm.get("protocol") or "TCP").upper()
    if protocol not in _PROTOCOLS:
        raise ValueError(f"unknown port protocol {protocol!r}")
    return pb.PortMapping(protocol=_PROTOCOLS[protocol],
                          container_port=int(pm.get("container_port") or 0),
                          host_port=int(pm.get("host_port") or 0),
                          host_ip=str(pm.get("host_ip") or ""))


def sandbox_config(cfg: PodSandboxConfig) -> pb.PodSandboxConfig:
    dns = None
    if cfg.dns_servers or cfg.dns_searches or cfg.dns_options:
        dns = pb.DNSConfig(servers=cfg.dns_servers, searches=cfg.dns_searches,
                           options=cfg.dns_options)
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=cfg.name, uid=cfg.uid, namespace=cfg.namespace,
                                       attempt=cfg.attempt),
        hostname=cfg.hostname,
        log_directory=cfg.log_directory,
        dns_config=dns,
        port_mappings=[port_mapping(pm) for pm in cfg.port_mappings],
        labels=cfg.labels,
        annotations=cfg.annotations,
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=cfg.cgroup_parent,
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=namespace_options(cfg)),
        ),
    )


def container_config(cfg: ContainerConfig, sandbox: PodSandboxConfig) -> pb.ContainerConfig:
    security = pb.LinuxContainerSecurityContext(
        capabilities=pb.Capability(add_capabilities=cfg.add_capabilities,
                                   drop_capabilities=cfg.drop_capabilities),
        privileged=cfg.privileged,
        namespace_options=namespace_options(sandbox, cfg.pid_target_id),
        readonly_rootfs=cfg.readonly_rootfs,
    )
    if cfg.run_as_user is not None:
        security.run_as_user.value = cfg.run_as_user
    if cfg.run_as_group is not None:
        security.run_as_group.value = cfg.run_as_group
    security.no_new_privs = cfg.no_new_privs
    security.supplemental_groups.extend(cfg.supplemental_groups)
    if cfg.seccomp:
        security.seccomp.CopyFrom(pb.SecurityProfile(profile_type=_SECCOMP[cfg.seccomp]))
    if not cfg.privileged:
        security.masked_paths.extend(DEFAULT_MASKED_PATHS)
        security.readonly_paths.extend(DEFAULT_READONLY_PATHS)
    return pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=cfg.name, attempt=cfg.attempt),
        image=pb.ImageSpec(image=cfg.image),
        command=cfg.command,
        args=cfg.args,
        working_dir=cfg.working_dir,
        envs=[pb.KeyValue(key=k, value=v) for k, v in cfg.envs.items()],
        mounts=[pb.Mount(container_path=m.container_path, host_path=m.host_path,
                         readonly=m.readonly) for m in cfg.mounts],
        labels=cfg.labels,
        annotations=cfg.annotations,
        log_path=cfg.log_path,
        stdin=cfg.stdin,
        stdin_once=cfg.stdin_once,
        tty=cfg.tty,
        linux=pb.LinuxContainerConfig(
            resources=pb.LinuxContainerResources(
                cpu_period=cfg.cpu_period, cpu_quota=cfg.cpu_quota, cpu_shares=cfg.cpu_shares,
                memory_limit_in_bytes=cfg.memory_limit_bytes),
            security_context=security,
        ),
    )


def sandbox_status(s: pb.PodSandboxStatus) -> PodSandboxStatus:
    return PodSandboxStatus(
        id=s.id,
        state=pb.PodSandboxState.Name(s.state),
        ip=s.network.ip,
        additional_ips=[a.ip for a in s.network.additional_ips],
        created_at=s.created_at,
        labels=dict(s.labels),
        annotations=dict(s.annotations),
    )


def sandbox_summary(s: pb.PodSandbox) -> PodSandboxStatus:
    """A ListPodSandbox item: no network status."""
    return PodSandboxStatus(id=s.id, state=pb.PodSandboxState.Name(s.state),
                            created_at=s.created_at, labels=dict(s.labels),
                            annotations=dict(s.annotations))


def container_summary(c: pb.Container) -> ContainerStatus:
    """A ListContainers item: no times past creation, exit code, reason or log path."""
    return ContainerStatus(id=c.id, name=c.metadata.name, state=pb.ContainerState.Name(c.state),
                           attempt=c.metadata.attempt, image=c.image.image,
                           image_ref=c.image_ref, created_at=c.created_at,
                           labels=dict(c.labels), annotations=dict(c.annotations),
                           sandbox_id=c.pod_sandbox_id)


def container_status(s: pb.ContainerStatus, sandbox_id: str = "") -> ContainerStatus:
    return ContainerStatus(
        id=s.id,
        name=s.metadata.name,
        state=pb.ContainerState.Name(s.state),
        attempt=s.metadata.attempt,
        image=s.image.image,
        image_ref=s.image_ref,
        created_at=s.created_at,
        started_at=s.started_at,
        finished_at=s.finished_at,
        exit_code=s.exit_code,
        reason=s.reason,
        message=s.message,
        log_path=s.log_path,
        labels=dict(s.labels),
        annotations=dict(s.annotations),
        sandbox_id=sandbox_id,
    )
