"""The container runtime as the kubelet sees it: a small async interface over CRI v1.

The kubelet's pod workers speak only this interface (as upstream's kuberuntime speaks
CRI): :class:`Runtime`. ``cri.py`` implements it over gRPC to containerd;
``fake.py`` implements it in memory for fast unit tests. Types are plain dataclasses
mirroring the CRI messages the kubelet needs, so no generated protobuf type leaks
above this package.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class PodSandboxConfig:
    name: str
    namespace: str
    uid: str
    attempt: int = 0
    hostname: str = ""
    log_directory: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    host_network: bool = False
    host_pid: bool = False  # the node's PID namespace (hostPID)
    host_ipc: bool = False  # the node's IPC namespace (hostIPC)
    share_pid: bool = False  # one PID namespace for the pod (shareProcessNamespace)
    dns_servers: list[str] = field(default_factory=list)
    dns_searches: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    port_mappings: list[dict] = field(default_factory=list)  # {protocol, container_port, host_port, host_ip}
    cgroup_parent: str = ""


@dataclass
class PodSandboxStatus:
    id: str
    state: str  # SANDBOX_READY | SANDBOX_NOTREADY
    ip: str = ""
    additional_ips: list[str] = field(default_factory=list)
    created_at: int = 0  # ns
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class Mount:
    container_path: str
    host_path: str
    readonly: bool = False


@dataclass
class ContainerConfig:
    name: str
    image: str
    attempt: int = 0
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    working_dir: str = ""
    envs: dict[str, str] = field(default_factory=dict)
    mounts: list[Mount] = field(default_factory=list)
    log_path: str = ""  # relative to the sandbox's log_directory
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False
    # Linux resources and security (CRI LinuxContainerConfig)
    cpu_shares: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    memory_limit_bytes: int = 0
    run_as_user: int | None = None
    run_as_group: int | None = None
    privileged: bool = False
    readonly_rootfs: bool = False
    add_capabilities: list[str] = field(default_factory=list)
    drop_capabilities: list[str] = field(default_factory=list)
    # an ephemeral container's targetContainerName: share that container's PID namespace
    pid_target_id: str = ""
    no_new_privs: bool = False  # allowPrivilegeEscalation: false
    seccomp: str = ""  # "", RuntimeDefault or Unconfined (CRI SecurityProfile)
    supplemental_groups: list[int] = field(default_factory=list)


@dataclass
class ContainerStatus:
    id: str
    name: str
    state: str  # CONTAINER_CREATED | CONTAINER_RUNNING | CONTAINER_EXITED | CONTAINER_UNKNOWN
    attempt: int = 0
    image: str = ""
    image_ref: str = ""
    created_at: int = 0  # ns
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    log_path: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    sandbox_id: str = ""


@dataclass
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


@dataclass(frozen=True)
class AuthConfig:
    """Registry credentials for one pull (CRI AuthConfig), from the pod's pull secrets."""

    username: str = ""
    password: str = ""
    auth: str = ""
    server_address: str = ""
    identity_token: str = ""
    registry_token: str = ""

    def __repr__(self) -> str:  # never log a password
        return f"AuthConfig(username={self.username!r})"


@dataclass
class RuntimeCondition:
    """One CRI runtime condition: ``RuntimeReady`` or ``NetworkReady`` (no CNI config yet)."""

    type: str
    status: bool
    reason: str = ""
    message: str = ""


NETWORK_READY = "NetworkReady"


def network_problem(conditions: list[RuntimeCondition]) -> str:
    """Why the runtime's pod network is not ready, as upstream words it; "" when it is."""
    for c in conditions:
        if c.type == NETWORK_READY and not c.status:
            return f"NetworkReady=false reason:{c.reason} message:{c.message}"
    return ""


class ExecSession(Protocol):
    """One process started by :meth:`Runtime.exec_stream` (or one attach to a container's
    own process, :meth:`Runtime.attach`), driven by the kubelet's exec server. Output
    arrives as ``(stream, data)`` with stream 1 (stdout) or 2 (stderr; never with a
    tty); ``None`` means both streams are done. ``close`` abandons the process
    (the client went away) and is safe to call at any time, also after ``wait_exit``."""

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def read_output(self) -> tuple[int, bytes] | None: ...

    async def resize(self, width: int, height: int) -> None: ...

    async def wait_exit(self) -> int:
        """The exit code, once the process ended and its output was read."""

    async def close(self) -> None: ...


class RuntimeError_(Exception):
    """A runtime call failed; ``code`` is the gRPC status name when known."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class Runtime(Protocol):
    """What the kubelet needs from a container runtime (CRI v1 RuntimeService + ImageService)."""

    async def version(self) -> tuple[str, str]:
        """(runtime name, runtime version), e.g. ("containerd", "1.6.20")."""

    async def status(self) -> list[RuntimeCondition]:
        """The runtime's conditions (CRI Status), RuntimeReady and NetworkReady among them."""

    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        """Create and start a sandbox (network set up by CNI); return its id."""

    async def stop_pod_sandbox(self, sandbox_id: str) -> None: ...

    async def remove_pod_sandbox(self, sandbox_id: str) -> None: ...

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus: ...

    async def list_pod_sandboxes(self, labels: dict[str, str] | None = None, *,
                                 brief: bool = False) -> list[PodSandboxStatus]:
        """Every sandbox, or those carrying all of ``labels``; ``brief``: a runtime may
        leave out what needs a status call per item (IPs)."""

    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox: PodSandboxConfig) -> str: ...

    async def start_container(self, container_id: str) -> None: ...

    async def stop_container(self, container_id: str, timeout: int) -> None: ...

    async def remove_container(self, container_id: str) -> None: ...

    async def list_containers(self, sandbox_id: str | None = None,
                              labels: dict[str, str] | None = None, *,
                              brief: bool = False) -> list[ContainerStatus]:
        """Every container, or those of ``sandbox_id`` / carrying all of ``labels``;
        ``brief``: a runtime may leave out what needs a status call per item (exit codes,
        start and finish times, reasons)."""

    async def container_status(self, container_id: str) -> ContainerStatus: ...

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: int) -> ExecResult: ...

    async def exec_stream(self, container_id: str, cmd: list[str], *, stdin: bool,
                          tty: bool) -> ExecSession:
        """Start ``cmd`` in a running container with streams attached (CRI Exec); fails
        with RuntimeError_ when the container is not running."""

    async def attach(self, container_id: str, *, stdin: bool, stdout: bool, stderr: bool,
                     tty: bool) -> ExecSession:
        """Attach to a running container's own process (CRI Attach): its output from now
        on, and its stdin when the container was created with one. ``wait_exit`` is 0 when
        the attach ends cleanly and raises RuntimeError_ when the runtime reports a failure."""

    async def port_forward(self, sandbox_id: str, port: int
                           ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A TCP connection to ``localhost:port`` inside the sandbox's network namespace
        (what CRI's PortForward dials); ConnectionError when nothing answers there."""

    async def reopen_container_log(self, container_id: str) -> None:
        """Make the runtime write the container's output to a new file at its log path
        (CRI ReopenContainerLog), after the kubelet moved the old one away."""

    async def image_status(self, image: str) -> str | None:
        """The image's id when present locally, else None."""

    async def image_size(self, image: str) -> int:
        """The local image's size in bytes (0 when not present)."""

    async def image_user(self, image: str) -> tuple[int | None, str]:
        """The user the local image runs as: (uid, "") when numeric, (None, name) when a
        name, (0, "") when the image sets none (root), as upstream's getImageUser."""

    async def pull_image(self, image: str, auth: AuthConfig | None = None) -> str:
        """Pull with ``auth`` (none: anonymously); returns the image ref. A failure is a
        RuntimeError_ whose message is the runtime's, as the kubelet shows it."""
