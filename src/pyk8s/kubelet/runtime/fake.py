"""An in-memory container runtime: the kubelet's pod workers tested without containerd.

``FakeRuntime`` is a shipped implementation of :class:`~pyk8s.kubelet.runtime.Runtime`
(like httpx's MockTransport), not a mock: it keeps the same state machine as containerd's
CRI plugin (sandbox READY/NOTREADY, container CREATED -> RUNNING -> EXITED, names reserved
per sandbox, images that must be present before a container is created) and raises
:class:`RuntimeError_` with the gRPC code names containerd would use. Containers "run"
until they are stopped, unless the test scripts them:

- ``exit_codes={"job": 3}``: a container named ``job`` exits with 3 as soon as it starts;
- ``start_errors={"bad": "exec: \\"nope\\": executable file not found"}``: StartContainer
  fails and the container is left EXITED with code 128 (reason ``StartError``);
- ``exit(container_id, code)``: a running container dies now (a crash, an OOM kill);
- ``images`` / ``registry``: what is local, and what ``pull_image`` can fetch;
  ``private[ref] = AuthConfig(...)``: pulling ``ref`` needs exactly those credentials;
- ``exec_handler``: answers ``exec_sync`` and ``exec_stream`` (default: ``echo``, ``true``,
  ``false``, ``sh -c 'exit N'``); a streamed ``cat`` echoes its stdin until it closes;
- ``log_lines={"web": ["hello"]}``: written in CRI log format when the container starts;
  ``attach`` follows that log from now on, and a container created with stdin echoes it.

Every call is appended to ``calls`` as ``(method, *args)`` so tests can assert the
actions a sync made, as controller tests do with client actions.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from . import (
    AuthConfig,
    ContainerConfig,
    ContainerStatus,
    ExecResult,
    ExecSession,
    PodSandboxConfig,
    PodSandboxStatus,
    RuntimeCondition,
    RuntimeError_,
)
from ..logs import FOLLOW_POLL, LogOptions, stream_log
from .refs import normalize_image

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
FAKE_IMAGE_SIZE = 1_000_000
DEFAULT_IMAGES = (PAUSE_IMAGE, "docker.io/library/busybox:latest", "docker.io/library/busybox:1.36")

ExecHandler = Callable[[ContainerStatus, list[str]], ExecResult]


def _labelled(have: dict[str, str], wanted: dict[str, str] | None) -> bool:
    return not wanted or all(have.get(k) == v for k, v in wanted.items())


def image_id(ref: str) -> str:
    """A stable fake content id for an image name."""
    return "sha256:" + hashlib.sha256(normalize_image(ref).encode()).hexdigest()


def default_exec(_status: ContainerStatus, cmd: list[str]) -> ExecResult:
    """``echo``, ``true``, ``false`` and ``sh -c 'exit N'`` behave; any other command
    succeeds silently."""
    if cmd and cmd[0] == "echo":
        return ExecResult(0, (" ".join(cmd[1:]) + "\n").encode(), b"")
    if cmd and cmd[0] == "false":
        return ExecResult(1, b"", b"")
    if len(cmd) == 3 and cmd[:2] == ["sh", "-c"]:
        found = re.fullmatch(r"\s*exit\s+(\d+)\s*", cmd[2])
        if found:
            return ExecResult(int(found.group(1)), b"", b"")
    return ExecResult(0, b"", b"")


def cri_log_line(stream: str, text: str, ts_ns: int) -> str:
    """One full line in the CRI log format: ``<RFC3339Nano> <stream> F <text>``."""
    sec, nsec = divmod(ts_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(sec, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nsec:09d}Z {stream} F {text}\n"


class FakeExecSession:
    """A streamed exec in memory: ``cat`` (``result`` None) echoes stdin to stdout until
    stdin closes and exits 0; any other command answers at once with ``result``'s stdout,
    stderr (on stdout under a tty, as a terminal merges them) and exit code."""

    def __init__(self, result: ExecResult | None, *, tty: bool) -> None:
        self._output: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self._echo = result is None
        self._done = False
        self.exit_code = 0 if result is None else result.exit_code
        self.stdin_closed = False
        self.closed = False
        self.resizes: list[tuple[int, int]] = []
        if result is not None:
            if result.stdout:
                self._output.put_nowait((1, result.stdout))
            if result.stderr:
                self._output.put_nowait((1 if tty else 2, result.stderr))
            self._output.put_nowait(None)

    async def write_stdin(self, data: bytes) -> None:
        if self._echo and not self.stdin_closed:
            self._output.put_nowait((1, data))

    async def close_stdin(self) -> None:
        if not self.stdin_closed:
            self.stdin_closed = True
            if self._echo:
                self._output.put_nowait(None)

    async def read_output(self) -> tuple[int, bytes] | None:
        if self._done:
            return None
        item = await self._output.get()
        self._done = item is None
        return item

    async def resize(self, width: int, height: int) -> None:
        self.resizes.append((width, height))

    async def wait_exit(self) -> int:
        return self.exit_code

    async def close(self) -> None:
        self.closed = True


class FakeAttachSession:
    """An attach in memory: the container's CRI log from now on, all on stdout (so a test
    appending to the log file is seen as new output); a container created with stdin
    behaves as ``cat``, echoing what it is given, until the container stops."""

    def __init__(self, container: _Container, *, stdin: bool) -> None:
        self._output: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self._echo = stdin and container.config.stdin
        self._done = False
        self.closed = False
        self._follower = asyncio.create_task(self._follow(container))

    async def _follow(self, container: _Container) -> None:
        async def running() -> bool:
            return container.status.state == "CONTAINER_RUNNING"

        async def write(data: bytes) -> None:
            self._output.put_nowait((1, data))

        try:
            while not os.path.exists(container.log_file):  # nothing written yet
                if not await running():
                    return
                await asyncio.sleep(FOLLOW_POLL)
            await stream_log(container.log_file, LogOptions(follow=True, tail_lines=0),
                             write, running)
        finally:
            self._output.put_nowait(None)

    async def write_stdin(self, data: bytes) -> None:
        if self._echo:
            self._output.put_nowait((1, data))

    async def close_stdin(self) -> None:
        self._echo = False

    async def read_output(self) -> tuple[int, bytes] | None:
        if self._done:
            return None
        item = await self._output.get()
        self._done = item is None
        return item

    async def resize(self, width: int, height: int) -> None:
        pass

    async def wait_exit(self) -> int:
        return 0

    async def close(self) -> None:
        self.closed = True
        self._follower.cancel()


@dataclass
class _Sandbox:
    config: PodSandboxConfig
    status: PodSandboxStatus


@dataclass
class _Container:
    config: ContainerConfig
    status: ContainerStatus
    reserved_name: str
    log_file: str = ""


class FakeRuntime:
    """The :class:`Runtime` protocol in memory; see the module docstring for the knobs."""

    def __init__(self, *, images: Iterable[str] = DEFAULT_IMAGES, registry: Iterable[str] = (),
                 exit_codes: dict[str, int] | None = None,
                 start_errors: dict[str, str] | None = None,
                 stop_exit_code: int = 0, exec_handler: ExecHandler = default_exec,
                 log_lines: dict[str, list[str]] | None = None,
                 pod_cidr_prefix: str = "10.88.0.",
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.images: dict[str, str] = {normalize_image(i): image_id(i) for i in images}
        self.registry = {normalize_image(i) for i in registry}
        self.private: dict[str, AuthConfig] = {}  # image -> the credentials its pull needs
        self.exit_codes = dict(exit_codes or {})
        self.start_errors = dict(start_errors or {})
        self.stop_exit_code = stop_exit_code
        self.exec_handler = exec_handler
        self.log_lines = dict(log_lines or {})
        self.clock = clock
        self.calls: list[tuple] = []
        self.exec_sessions: list[FakeExecSession] = []
        self.sandboxes: dict[str, _Sandbox] = {}
        self.containers: dict[str, _Container] = {}
        self._ip_prefix = pod_cidr_prefix
        self._ips = itertools.count(2)
        self._errors: dict[str, list[RuntimeError_]] = {}
        self.network_ready = True  # False: as containerd before a CNI config exists

    # --- test controls -----------------------------------------------------------------

    def fail_next(self, method: str, error: RuntimeError_) -> None:
        """Make the next call of ``method`` (e.g. "run_pod_sandbox") raise ``error``."""
        self._errors.setdefault(method, []).append(error)

    def exit(self, container_id: str, exit_code: int, reason: str = "") -> None:
        """A running container dies now with ``exit_code`` (reason defaults as containerd's)."""
        c = self._container(container_id)
        if c.status.state == "CONTAINER_RUNNING":
            self._finish(c, exit_code, reason)

    def running(self) -> list[ContainerStatus]:
        """Copies of the statuses of the containers running now."""
        return [copy.deepcopy(c.status) for c in self.containers.values()
                if c.status.state == "CONTAINER_RUNNING"]

    # --- helpers -------------------------------------------------------------------------

    def _enter(self, method: str, *args) -> None:
        self.calls.append((method, *args))
        pending = self._errors.get(method)
        if pending:
            raise pending.pop(0)

    def _sandbox(self, sandbox_id: str) -> _Sandbox:
        try:
            return self.sandboxes[sandbox_id]
        except KeyError:
            raise RuntimeError_(f"an error occurred when try to find sandbox {sandbox_id!r}: "
                                "not found", "NotFound") from None

    def _container(self, container_id: str) -> _Container:
        try:
            return self.containers[container_id]
        except KeyError:
            raise RuntimeError_(f"an error occurred when try to find container "
                                f"{container_id!r}: not found", "NotFound") from None

    def _finish(self, c: _Container, exit_code: int, reason: str = "", message: str = "") -> None:
        c.status.state = "CONTAINER_EXITED"
        c.status.exit_code = exit_code
        c.status.finished_at = self.clock()
        c.status.reason = reason or ("Completed" if exit_code == 0 else "Error")
        c.status.message = message

    def _write_logs(self, c: _Container) -> None:
        lines = self.log_lines.get(c.config.name)
        if not lines or not c.log_file:
            return
        os.makedirs(os.path.dirname(c.log_file), exist_ok=True)
        with open(c.log_file, "a", encoding="utf-8") as f:
            f.writelines(cri_log_line("stdout", line, self.clock()) for line in lines)

    # --- Runtime protocol ----------------------------------------------------------------

    async def version(self) -> tuple[str, str]:
        self._enter("version")
        return ("fake", "0.1.0")

    async def status(self) -> list[RuntimeCondition]:
        self._enter("status")
        network = RuntimeCondition("NetworkReady", True) if self.network_ready else \
            RuntimeCondition("NetworkReady", False, "NetworkPluginNotReady",
                             "Network plugin returns error: cni plugin not initialized")
        return [RuntimeCondition("RuntimeReady", True), network]

    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        self._enter("run_pod_sandbox", config.namespace, config.name)
        if not self.network_ready and not config.host_network:
            raise RuntimeError_("failed to setup network for sandbox: cni plugin not "
                                "initialized", "Unknown")
        if PAUSE_IMAGE not in self.images:
            raise RuntimeError_(f"failed to get sandbox image {PAUSE_IMAGE!r}: not found",
                                "Unknown")
        sandbox_id = uuid.uuid4().hex + uuid.uuid4().hex
        ip = "" if config.host_network else f"{self._ip_prefix}{next(self._ips)}"
        status = PodSandboxStatus(id=sandbox_id, state="SANDBOX_READY", ip=ip,
                                  created_at=self.clock(), labels=dict(config.labels),
                                  annotations=dict(config.annotations))
        self.sandboxes[sandbox_id] = _Sandbox(copy.deepcopy(config), status)
        return sandbox_id

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        self._enter("stop_pod_sandbox", sandbox_id)
        sb = self.sandboxes.get(sandbox_id)
        if sb is None:
            return  # idempotent, as CRI requires
        for c in self.containers.values():
            if c.status.sandbox_id == sandbox_id and c.status.state == "CONTAINER_RUNNING":
                self._finish(c, self.stop_exit_code)
        sb.status.state = "SANDBOX_NOTREADY"

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        self._enter("remove_pod_sandbox", sandbox_id)
        sb = self.sandboxes.get(sandbox_id)
        if sb is None:
            return
        if sb.status.state == "SANDBOX_READY":
            raise RuntimeError_(f"sandbox container {sandbox_id!r} is not fully stopped",
                                "Unknown")
        for cid in [cid for cid, c in self.containers.items()
                    if c.status.sandbox_id == sandbox_id]:
            del self.containers[cid]
        del self.sandboxes[sandbox_id]

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus:
        self._enter("pod_sandbox_status", sandbox_id)
        return copy.deepcopy(self._sandbox(sandbox_id).status)

    async def list_pod_sandboxes(self, labels: dict[str, str] | None = None, *,
                                 brief: bool = False) -> list[PodSandboxStatus]:
        self._enter("list_pod_sandboxes")
        return [copy.deepcopy(sb.status) for sb in self.sandboxes.values()
                if _labelled(sb.status.labels, labels)]

    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox: PodSandboxConfig) -> str:
        self._enter("create_container", sandbox_id, config.name)
        sb = self._sandbox(sandbox_id)
        if sb.status.state != "SANDBOX_READY":
            raise RuntimeError_(f"sandbox container {sandbox_id!r} is not running", "Unknown")
        ref = normalize_image(config.image)
        if ref not in self.images:
            raise RuntimeError_(f"failed to get image {config.image!r}: not found", "NotFound")
        reserved = (f"{config.name}_{sandbox.name}_{sandbox.namespace}_{sandbox.uid}_"
                    f"{config.attempt}")
        for other in self.containers.values():
            if other.reserved_name == reserved:
                raise RuntimeError_(f"failed to reserve container name {reserved!r}: name is "
                                    f"reserved for {other.status.id!r}", "Unknown")
        container_id = uuid.uuid4().hex + uuid.uuid4().hex
        log_dir = sandbox.log_directory or sb.config.log_directory
        log_file = os.path.join(log_dir, config.log_path) if log_dir and config.log_path else ""
        status = ContainerStatus(
            id=container_id, name=config.name, state="CONTAINER_CREATED",
            attempt=config.attempt, image=ref, image_ref=self.images[ref],
            created_at=self.clock(), log_path=log_file, labels=dict(config.labels),
            annotations=dict(config.annotations), sandbox_id=sandbox_id)
        self.containers[container_id] = _Container(copy.deepcopy(config), status, reserved,
                                                   log_file)
        return container_id

    async def start_container(self, container_id: str) -> None:
        self._enter("start_container", container_id)
        c = self._container(container_id)
        if c.status.state != "CONTAINER_CREATED":
            raise RuntimeError_(f"container {container_id!r} is in {c.status.state} state",
                                "Unknown")
        if c.config.name in self.start_errors:
            message = self.start_errors[c.config.name]
            self._finish(c, 128, "StartError", message)
            raise RuntimeError_(f"failed to create containerd task: {message}", "Unknown")
        c.status.state = "CONTAINER_RUNNING"
        c.status.started_at = self.clock()
        self._write_logs(c)
        if c.config.name in self.exit_codes:
            self._finish(c, self.exit_codes[c.config.name])

    async def stop_container(self, container_id: str, timeout: int) -> None:
        self._enter("stop_container", container_id, timeout)
        c = self._container(container_id)
        if c.status.state == "CONTAINER_RUNNING":
            self._finish(c, self.stop_exit_code)
        elif c.status.state == "CONTAINER_CREATED":
            c.status.state = "CONTAINER_EXITED"
            c.status.finished_at = self.clock()

    async def remove_container(self, container_id: str) -> None:
        self._enter("remove_container", container_id)
        c = self.containers.get(container_id)
        if c is None:
            return
        if c.status.state == "CONTAINER_RUNNING":
            raise RuntimeError_(f"container {container_id!r} is running, stop it first",
                                "Unknown")
        del self.containers[container_id]

    async def reopen_container_log(self, container_id: str) -> None:
        self._enter("reopen_container_log", container_id)
        c = self.containers.get(container_id)
        if c is None or c.status.state != "CONTAINER_RUNNING":
            raise RuntimeError_(f"container {container_id!r} is not running", "Unknown")
        if c.status.log_path:
            open(c.status.log_path, "ab").close()

    async def list_containers(self, sandbox_id: str | None = None,
                              labels: dict[str, str] | None = None, *,
                              brief: bool = False) -> list[ContainerStatus]:
        self._enter("list_containers", sandbox_id)
        return [copy.deepcopy(c.status) for c in self.containers.values()
                if (sandbox_id is None or c.status.sandbox_id == sandbox_id)
                and _labelled(c.status.labels, labels)]

    async def container_status(self, container_id: str) -> ContainerStatus:
        self._enter("container_status", container_id)
        return copy.deepcopy(self._container(container_id).status)

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: int) -> ExecResult:
        self._enter("exec_sync", container_id, list(cmd), timeout)
        c = self._container(container_id)
        if c.status.state != "CONTAINER_RUNNING":
            raise RuntimeError_(f"container {container_id!r} is in {c.status.state} state",
                                "Unknown")
        return self.exec_handler(copy.deepcopy(c.status), list(cmd))

    async def exec_stream(self, container_id: str, cmd: list[str], *, stdin: bool,
                          tty: bool) -> ExecSession:
        self._enter("exec_stream", container_id, list(cmd), stdin, tty)
        c = self._container(container_id)
        if c.status.state != "CONTAINER_RUNNING":
            raise RuntimeError_(f"container {container_id!r} is in {c.status.state} state",
                                "Unknown")
        result = None if cmd == ["cat"] else self.exec_handler(copy.deepcopy(c.status),
                                                                 list(cmd))
        session = FakeExecSession(result, tty=tty)
        self.exec_sessions.append(session)
        return session

    async def attach(self, container_id: str, *, stdin: bool, stdout: bool, stderr: bool,
                     tty: bool) -> ExecSession:
        self._enter("attach", container_id, stdin, stdout, stderr, tty)
        c = self._container(container_id)
        if c.status.state != "CONTAINER_RUNNING":
            raise RuntimeError_(f"container {container_id!r} is in {c.status.state} state",
                                "Unknown")
        return FakeAttachSession(c, stdin=stdin)

    async def port_forward(self, sandbox_id: str, port: int
                           ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The fake has no network namespaces: the sandbox's IP stands for its loopback
        (tests give pods loopback IPs and listen there)."""
        self._enter("port_forward", sandbox_id, port)
        ip = self._sandbox(sandbox_id).status.ip
        try:
            return await asyncio.wait_for(asyncio.open_connection(ip, port), 10)
        except (OSError, TimeoutError) as err:
            raise ConnectionError(f"failed to connect to localhost:{port} inside the "
                                  f"sandbox ({ip}): {err or 'timeout'}") from None

    async def image_status(self, image: str) -> str | None:
        self._enter("image_status", image)
        return self.images.get(normalize_image(image))

    async def image_size(self, image: str) -> int:
        self._enter("image_size", image)
        return FAKE_IMAGE_SIZE if normalize_image(image) in self.images else 0

    async def image_user(self, image: str) -> tuple[int | None, str]:
        self._enter("image_user", image)
        return 0, ""  # the fake's images set no user: root

    async def pull_image(self, image: str, auth: AuthConfig | None = None) -> str:
        self._enter("pull_image", image, auth)
        ref = normalize_image(image)
        needed = self.private.get(ref)
        if needed is not None and auth != needed:
            raise RuntimeError_(f"rpc error: code = Unknown desc = failed to pull and unpack "
                                f"image \"{ref}\": 401 Unauthorized", "Unknown")
        if ref in self.images:
            return self.images[ref]
        if ref not in self.registry:
            raise RuntimeError_(f"rpc error: code = NotFound desc = failed to pull and unpack "
                                f"image \"{ref}\": {ref}: not found", "NotFound")
        self.images[ref] = image_id(ref)
        return self.images[ref]
