"""A containerd the kubelet runs and supervises itself, as k3s does.

With no ``--container-runtime-endpoint`` the kubelet needs a runtime of its own, and it must
not touch a system containerd: every instance here has its own root, state, sockets, CNI conf
dir and opt dir under the kubelet root, so several kubelets (nodes) share one machine. The
settings that make containerd work in this sandbox are not optional (see
docs/node-stack-facts.md): ``restrict_oom_score_adj`` (no CAP_SYS_RESOURCE), the ``runc``
runtime with cgroupfs, an already imported sandbox (pause) image and the Debian CNI bin dir.

Registry mirrors (``--registry-mirror docker.io=http://127.0.0.1:5000``) are written the
way containerd 1.6 recommends, one ``certs.d/<registry>/hosts.toml`` per registry under the
CRI plugin's ``config_path``: the mirror is the registry's ``server``, so a failed pull is
not retried against the upstream registry, which these machines cannot reach (the older
``registry.mirrors`` table would always append it). Several URLs for one registry are
tried in order.

:class:`ContainerdSupervisor` writes the config, starts containerd as a child process, waits
until its CRI service answers, restarts it with backoff when it dies and stops it on shutdown.
Containers survive a containerd restart (their shims are separate processes). containerd
gets SIGKILL when the process that started it dies (``PR_SET_PDEATHSIG``, as k3s does), so a
kubelet killed outright leaves no containerd behind to clash with the next one on its root.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from . import RuntimeError_
from .fake import PAUSE_IMAGE

log = logging.getLogger(__name__)

MAX_SOCKET_PATH = 107  # sun_path is 108 bytes with the trailing NUL
TTRPC_SUFFIX = ".ttrpc"
PR_SET_PDEATHSIG = 1


@dataclass
class ContainerdOptions:
    """Where a supervised containerd keeps its files; everything lives under ``root_dir``."""

    root_dir: Path  # the kubelet root dir
    sandbox_image: str = PAUSE_IMAGE
    snapshotter: str = ""  # "" = overlayfs when this machine can mount it, else native
    cni_bin_dir: str = "/usr/lib/cni"
    binary: str = "containerd"
    log_level: str = "info"
    socket_dir: Path | None = None  # default root_dir; shorter when that path is too long
    registry_mirrors: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def base(self) -> Path:
        return Path(self.root_dir) / "containerd"

    @property
    def socket(self) -> Path:
        return Path(self.socket_dir or self.root_dir) / "containerd.sock"

    @property
    def cni_conf_dir(self) -> Path:
        return Path(self.root_dir) / "cni" / "net.d"

    @property
    def cni_data_dir(self) -> Path:
        return Path(self.root_dir) / "cni" / "networks"

    @property
    def config_path(self) -> Path:
        return self.base / "config.toml"

    @property
    def log_path(self) -> Path:
        return self.base / "containerd.log"

    @property
    def registry_config_path(self) -> Path:
        return self.base / "certs.d"


def parse_registry_mirror(value: str) -> tuple[str, str]:
    """``REGISTRY=URL`` -> (registry host, URL); ValueError when malformed."""
    registry, sep, url = value.partition("=")
    parts = urlsplit(url)
    if not sep or not registry or "/" in registry or parts.scheme not in ("http", "https") \
            or not parts.netloc:
        raise ValueError(f"--registry-mirror {value!r}: want REGISTRY=http(s)://HOST[:PORT]")
    return ("docker.io" if registry == "index.docker.io" else registry), url.rstrip("/")


def render_hosts(urls: tuple[str, ...]) -> str:
    """One registry's hosts.toml: its mirrors in order, the last one also as its server.

    containerd 1.6.20 rejects a hosts.toml without a ``[host]`` table ("invalid `host`
    tree") and then silently uses the upstream registry, so every URL gets one.
    """
    lines = [f"server = {_q(urls[-1])}", ""]
    for url in urls:
        lines += [f"[host.{_q(url)}]", '  capabilities = ["pull", "resolve"]', ""]
    return "\n".join(lines)


def _q(value: object) -> str:
    """A TOML basic string."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(opts: ContainerdOptions, snapshotter: str) -> str:
    """containerd's config.toml (version 2) for ``opts``."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return "\n".join([
        "version = 2",
        f"root = {_q(opts.base / 'root')}",
        f"state = {_q(opts.base / 'state')}",
        "",
        "[grpc]",
        f"  address = {_q(opts.socket)}",
        "[ttrpc]",
        f"  address = {_q(str(opts.socket) + TTRPC_SUFFIX)}",
        "[debug]",
        '  address = ""',
        f"  level = {_q(opts.log_level)}",
        "[metrics]",
        '  address = ""',
        "",
        '[plugins."io.containerd.internal.v1.opt"]',
        f"  path = {_q(opts.base / 'opt')}",
        f"[{cri}]",
        f"  sandbox_image = {_q(opts.sandbox_image)}",
        "  restrict_oom_score_adj = true",
        '  stream_server_address = "127.0.0.1"',
        '  stream_server_port = "0"',
        f"[{cri}.containerd]",
        f"  snapshotter = {_q(snapshotter)}",
        '  default_runtime_name = "runc"',
        f"[{cri}.containerd.runtimes.runc]",
        '  runtime_type = "io.containerd.runc.v2"',
        f"[{cri}.containerd.runtimes.runc.options]",
        "  SystemdCgroup = false",
        f"[{cri}.cni]",
        f"  bin_dir = {_q(opts.cni_bin_dir)}",
        f"  conf_dir = {_q(opts.cni_conf_dir)}",
        f"[{cri}.registry]",
        f"  config_path = {_q(opts.registry_config_path)}",
        "",
    ])


def overlay_works(scratch: Path) -> bool:
    """Whether an overlay mount succeeds on the filesystem holding ``scratch``.

    containerd's overlayfs snapshotter only fails when it unpacks the first image, long after
    start-up, so probe once up front (overlay on overlay, for one, is refused).
    """
    probe = scratch / "overlay-probe"
    dirs = {n: probe / n for n in ("lower", "upper", "work", "merged")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    opts = f"lowerdir={dirs['lower']},upperdir={dirs['upper']},workdir={dirs['work']}"
    mounted = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(dirs["merged"])],
                             capture_output=True).returncode == 0
    if mounted:
        subprocess.run(["umount", str(dirs["merged"])], capture_output=True, check=True)
    shutil.rmtree(probe)
    return mounted


def prepare(opts: ContainerdOptions) -> str:
    """Create the directories and write config.toml; returns the snapshotter chosen."""
    if len(str(opts.socket) + TTRPC_SUFFIX) > MAX_SOCKET_PATH:
        raise RuntimeError_(f"containerd socket path {opts.socket} is too long for a unix "
                            "socket; use a shorter kubelet root dir", "InvalidArgument")
    for d in (opts.base, opts.socket.parent, opts.cni_conf_dir, opts.cni_data_dir):
        d.mkdir(parents=True, exist_ok=True)
    snapshotter = opts.snapshotter or ("overlayfs" if overlay_works(opts.base) else "native")
    shutil.rmtree(opts.registry_config_path, ignore_errors=True)
    for registry, urls in opts.registry_mirrors.items():
        hosts = opts.registry_config_path / registry / "hosts.toml"
        hosts.parent.mkdir(parents=True, exist_ok=True)
        hosts.write_text(render_hosts(urls))
    opts.config_path.write_text(render_config(opts, snapshotter))
    return snapshotter


def _die_with_parent() -> None:
    """In the forked child: be killed when the parent dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class ContainerdSupervisor:
    """Runs one containerd for one kubelet; ``endpoint`` is what :class:`CRIRuntime` dials."""

    def __init__(self, opts: ContainerdOptions, *, ready_timeout: float = 20.0,
                 initial_backoff: float = 1.0, max_backoff: float = 30.0) -> None:
        self.opts = opts
        self.ready_timeout = ready_timeout
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.restarts = 0
        self.snapshotter = ""
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._ready = asyncio.Event()

    @property
    def endpoint(self) -> str:
        return f"unix://{self.opts.socket}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.returncode is None else None

    async def start(self) -> None:
        """Write the config, start containerd and return once its CRI service answers."""
        self.snapshotter = await asyncio.to_thread(prepare, self.opts)
        self._stopping = False
        await self._spawn()
        self._task = asyncio.create_task(self._supervise(), name="containerd-supervisor")

    async def wait_ready(self) -> None:
        """Wait until containerd (re)started and answers; for callers after a crash."""
        await asyncio.wait_for(self._ready.wait(), self.ready_timeout + self.max_backoff)

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop containerd (SIGTERM, then SIGKILL after ``timeout``); containers keep running."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            log.warning("containerd %d did not stop in %.0fs; killing it", proc.pid, timeout)
            proc.kill()
            await proc.wait()

    async def _spawn(self) -> None:
        self._ready.clear()
        with open(self.opts.log_path, "ab") as out:
            self._proc = await asyncio.create_subprocess_exec(
                self.opts.binary, "--config", str(self.opts.config_path),
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True, preexec_fn=_die_with_parent)
        log.info("containerd started (pid %d, %s)", self._proc.pid, self.endpoint)
        try:
            await self._wait_answering()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
            raise
        self._ready.set()

    async def _wait_answering(self) -> None:
        from .cri import CRIRuntime  # cri imports grpc; keep this module light to import

        deadline = time.monotonic() + self.ready_timeout
        runtime = CRIRuntime(self.endpoint, timeout=2.0)
        try:
            while True:
                if self._proc.returncode is not None:
                    raise RuntimeError_(f"containerd exited with {self._proc.returncode} while "
                                        f"starting: {self.log_tail()}", "Unavailable")
                if self.opts.socket.exists():
                    try:
                        await runtime.version()
                        return
                    except RuntimeError_ as err:
                        if err.code not in ("Unavailable", "DeadlineExceeded"):
                            raise RuntimeError_(f"containerd's CRI service does not answer: "
                                                f"{err}; {self.log_tail()}", err.code) from err
                if time.monotonic() > deadline:
                    raise RuntimeError_(f"containerd not ready after {self.ready_timeout}s: "
                                        f"{self.log_tail()}", "DeadlineExceeded")
                await asyncio.sleep(0.05)
        finally:
            await runtime.close()

    async def _supervise(self) -> None:
        backoff = self.initial_backoff
        while not self._stopping:
            started = time.monotonic()
            code = await self._proc.wait()
            if self._stopping:
                return
            self._ready.clear()
            if time.monotonic() - started > 60:
                backoff = self.initial_backoff
            log.warning("containerd exited with %s; restarting in %.1fs", code, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)
            try:
                await self._spawn()
                self.restarts += 1
            except RuntimeError_ as err:
                log.error("containerd restart failed: %s", err)

    def log_tail(self, lines: int = 15) -> str:
        """The last lines containerd wrote, for error messages."""
        try:
            text = self.opts.log_path.read_text(errors="replace")
        except OSError:
            return "(no containerd log)"
        interesting = [ln for ln in text.splitlines() if "level=info" not in ln]
        return " | ".join(interesting[-lines:]) or "(nothing but info lines in the log)"

