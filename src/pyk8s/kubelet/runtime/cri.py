"""The :class:`Runtime` protocol over CRI v1 gRPC: what the kubelet uses on a real node.

One ``grpc.aio`` channel to the runtime's unix socket carries both the RuntimeService and the
ImageService, as upstream's remote runtime does. Message translation lives in ``crimap``;
every gRPC failure becomes :class:`RuntimeError_` carrying the status code as Go spells it
(``NotFound``, ``Unavailable``, ...), so callers branch on codes, never on grpc types.

Images: these machines reach no public registry, so ``pull_image`` never asks containerd to
pull from one (that would hang on DNS or time out after minutes): an image that is not
already local fails at once, one that is stands in for the pull. Pull failures carry the
gRPC error's text as upstream's remote runtime returns it (``rpc error: code = ... desc =
...``), which the kubelet shows as the ErrImagePull message. Only registries on loopback
(``localhost:5000/app``, ``127.0.0.1:5000/app``), which tests start themselves, are pulled from,
and registries the node has a mirror for (``mirrored``: containerd then pulls from the
mirror, see ``containerd.py``).

Streams: exec and attach go through CRI's Exec and Attach and containerd's streaming
server (``cristream.py``); port-forward
dials inside the sandbox's network namespace (``netnsdial.py``).

Listing: CRI's List calls return summaries without exit codes or IPs, so ``list_containers``
and ``list_pod_sandboxes`` fetch each item's status (concurrently) and skip items removed in
between: the kubelet gets the same full records as from the single-item calls. ``brief``
returns the summaries alone, one call each, which is all the PLEG's relist needs (ids,
states, labels) every second.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import grpc
from cri_api.v1 import api_pb2 as pb
from cri_api.v1 import api_pb2_grpc as pb_grpc

from . import (
    AuthConfig,
    ContainerConfig,
    ContainerStatus,
    ExecResult,
    PodSandboxConfig,
    PodSandboxStatus,
    RuntimeCondition,
    RuntimeError_,
)
from . import crimap, cristream, netnsdial
from .refs import normalize_image

T = TypeVar("T")

CRI_VERSION = "v1"
PULL_EXTRA_TIMEOUT = 240.0  # a pull moves a whole image: more than the usual call timeout
LOOPBACK_REGISTRIES = ("localhost", "127.0.0.1", "[::1]")
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
]


def grpc_target(endpoint: str) -> str:
    """``unix:///run/x.sock`` or ``/run/x.sock`` -> the gRPC target for that socket."""
    if endpoint.startswith("unix://"):
        return endpoint
    if endpoint.startswith("/"):
        return "unix://" + endpoint
    raise ValueError(f"unsupported CRI endpoint {endpoint!r} (want unix:///path)")


def registry_of(image: str) -> str:
    return normalize_image(image).split("/", 1)[0]


def is_loopback_registry(image: str) -> bool:
    """Whether ``image`` lives in a registry on this machine's loopback."""
    domain = registry_of(image)
    host = domain.rsplit(":", 1)[0] if not domain.endswith("]") else domain
    return host in LOOPBACK_REGISTRIES or host.startswith("127.")


class CRIRuntime:
    """:class:`~pyk8s.kubelet.runtime.Runtime` over gRPC to a CRI v1 runtime (containerd).

    ``timeout`` bounds each call (seconds); calls that wait on the workload (stop, exec)
    add their own timeout to it. ``mirrored`` names the registries containerd has a mirror
    for: images there are pulled too. The channel is made on first use, inside the loop.
    """

    def __init__(self, endpoint: str, *, timeout: float = 60.0,
                 mirrored: Iterable[str] = ()) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.mirrored = frozenset(mirrored)
        self._target = grpc_target(endpoint)
        self._channel: grpc.aio.Channel | None = None
        self._runtime: pb_grpc.RuntimeServiceStub | None = None
        self._images: pb_grpc.ImageServiceStub | None = None

    def _stubs(self) -> tuple[pb_grpc.RuntimeServiceStub, pb_grpc.ImageServiceStub]:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self._target, options=_CHANNEL_OPTIONS)
            self._runtime = pb_grpc.RuntimeServiceStub(self._channel)
            self._images = pb_grpc.ImageServiceStub(self._channel)
        return self._runtime, self._images

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def _call(self, what: str, rpc: Callable[..., Awaitable[T]], request,
                    extra: float = 0.0) -> T:
        try:
            return await rpc(request, timeout=self.timeout + extra)
        except grpc.aio.AioRpcError as err:
            code = crimap.go_code_name(err.code().name)
            raise RuntimeError_(f"{what}: rpc error: code = {code} desc = {err.details()}",
                                code) from None

    # --- runtime ---------------------------------------------------------------------------

    async def version(self) -> tuple[str, str]:
        rt, _ = self._stubs()
        resp = await self._call("Version", rt.Version, pb.VersionRequest(version=CRI_VERSION))
        return resp.runtime_name, resp.runtime_version

    async def status(self) -> list[RuntimeCondition]:
        rt, _ = self._stubs()
        resp = await self._call("Status", rt.Status, pb.StatusRequest())
        return [RuntimeCondition(c.type, c.status, c.reason, c.message)
                for c in resp.status.conditions]

    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        rt, _ = self._stubs()
        resp = await self._call("RunPodSandbox", rt.RunPodSandbox,
                                pb.RunPodSandboxRequest(config=crimap.sandbox_config(config)))
        return resp.pod_sandbox_id

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        rt, _ = self._stubs()
        await self._call("StopPodSandbox", rt.StopPodSandbox,
                         pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id))

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        rt, _ = self._stubs()
        await self._call("RemovePodSandbox", rt.RemovePodSandbox,
                         pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id))

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus:
        rt, _ = self._stubs()
        resp = await self._call("PodSandboxStatus", rt.PodSandboxStatus,
                                pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id))
        return crimap.sandbox_status(resp.status)

    async def list_pod_sandboxes(self, labels: dict[str, str] | None = None, *,
                                 brief: bool = False) -> list[PodSandboxStatus]:
        rt, _ = self._stubs()
        flt = pb.PodSandboxFilter(label_selector=labels) if labels else None
        resp = await self._call("ListPodSandbox", rt.ListPodSandbox,
                                pb.ListPodSandboxRequest(filter=flt))
        if brief:
            return [crimap.sandbox_summary(s) for s in resp.items]
        found = await asyncio.gather(*(self._sandbox_or_none(s.id) for s in resp.items))
        return [s for s in found if s is not None]

    async def _sandbox_or_none(self, sandbox_id: str) -> PodSandboxStatus | None:
        try:
            return await self.pod_sandbox_status(sandbox_id)
        except RuntimeError_ as err:
            if err.code == "NotFound":
                return None
            raise

    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox: PodSandboxConfig) -> str:
        rt, _ = self._stubs()
        request = pb.CreateContainerRequest(
            pod_sandbox_id=sandbox_id, config=crimap.container_config(config, sandbox),
            sandbox_config=crimap.sandbox_config(sandbox))
        resp = await self._call("CreateContainer", rt.CreateContainer, request)
        return resp.container_id

    async def start_container(self, container_id: str) -> None:
        rt, _ = self._stubs()
        await self._call("StartContainer", rt.StartContainer,
                         pb.StartContainerRequest(container_id=container_id))

    async def stop_container(self, container_id: str, timeout: int) -> None:
        rt, _ = self._stubs()
        await self._call("StopContainer", rt.StopContainer,
                         pb.StopContainerRequest(container_id=container_id, timeout=timeout),
                         extra=max(timeout, 0))

    async def remove_container(self, container_id: str) -> None:
        rt, _ = self._stubs()
        await self._call("RemoveContainer", rt.RemoveContainer,
                         pb.RemoveContainerRequest(container_id=container_id))

    async def reopen_container_log(self, container_id: str) -> None:
        rt, _ = self._stubs()
        await self._call("ReopenContainerLog", rt.ReopenContainerLog,
                         pb.ReopenContainerLogRequest(container_id=container_id))

    async def list_containers(self, sandbox_id: str | None = None,
                              labels: dict[str, str] | None = None, *,
                              brief: bool = False) -> list[ContainerStatus]:
        rt, _ = self._stubs()
        flt = pb.ContainerFilter(pod_sandbox_id=sandbox_id or "", label_selector=labels or {}) \
            if sandbox_id or labels else None
        resp = await self._call("ListContainers", rt.ListContainers,
                                pb.ListContainersRequest(filter=flt))
        if brief:
            return [crimap.container_summary(c) for c in resp.containers]
        found = await asyncio.gather(*(self._container_or_none(c.id, c.pod_sandbox_id)
                                       for c in resp.containers))
        return [c for c in found if c is not None]

    async def _container_or_none(self, container_id: str, sandbox_id: str
                                 ) -> ContainerStatus | None:
        rt, _ = self._stubs()
        try:
            resp = await self._call("ContainerStatus", rt.ContainerStatus,
                                    pb.ContainerStatusRequest(container_id=container_id))
        except RuntimeError_ as err:
            if err.code == "NotFound":
                return None
            raise
        return crimap.container_status(resp.status, sandbox_id)

    async def container_status(self, container_id: str) -> ContainerStatus:
        rt, _ = self._stubs()
        status, listed = await asyncio.gather(
            self._call("ContainerStatus", rt.ContainerStatus,
                       pb.ContainerStatusRequest(container_id=container_id)),
            self._call("ListContainers", rt.ListContainers,
                       pb.ListContainersRequest(filter=pb.ContainerFilter(id=container_id))))
        sandbox_id = listed.containers[0].pod_sandbox_id if listed.containers else ""
        return crimap.container_status(status.status, sandbox_id)

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: int) -> ExecResult:
        rt, _ = self._stubs()
        resp = await self._call("ExecSync", rt.ExecSync,
                                pb.ExecSyncRequest(container_id=container_id, cmd=cmd,
                                                   timeout=timeout),
                                extra=max(timeout, 0))
        return ExecResult(exit_code=resp.exit_code, stdout=resp.stdout, stderr=resp.stderr)

    async def exec_stream(self, container_id: str, cmd: list[str], *, stdin: bool,
                          tty: bool):
        """A streamed exec (kubectl exec/cp): CRI Exec's URL on containerd's streaming
        server, spoken to over SPDY (``cristream.py``). Both output streams are asked
        for (one under a tty); the kubelet drops what its client did not ask for."""
        rt, _ = self._stubs()
        resp = await self._call("Exec", rt.Exec, pb.ExecRequest(
            container_id=container_id, cmd=cmd, stdin=stdin, stdout=True, stderr=not tty,
            tty=tty))
        return await cristream.connect(resp.url, stdin=stdin, stdout=True, stderr=not tty,
                                       tty=tty)

    async def attach(self, container_id: str, *, stdin: bool, stdout: bool, stderr: bool,
                     tty: bool):
        """An attach to the container's own process: CRI Attach's URL on containerd's
        streaming server, spoken to over SPDY (``cristream.py``)."""
        rt, _ = self._stubs()
        resp = await self._call("Attach", rt.Attach, pb.AttachRequest(
            container_id=container_id, stdin=stdin, stdout=stdout, stderr=stderr, tty=tty))
        return await cristream.connect(resp.url, stdin=stdin, stdout=stdout, stderr=stderr,
                                       tty=tty)

    async def port_forward(self, sandbox_id: str, port: int):
        """``localhost:port`` in the sandbox's network namespace, dialed by the kubelet
        from the namespace of the sandbox's process (``netnsdial.py``)."""
        rt, _ = self._stubs()
        try:
            resp = await self._call("PodSandboxStatus", rt.PodSandboxStatus,
                                    pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id,
                                                               verbose=True))
        except RuntimeError_ as err:
            raise ConnectionError(str(err)) from None
        try:
            pid = int(json.loads(resp.info["info"])["pid"])
        except (KeyError, ValueError, TypeError):
            pid = 0
        if pid <= 0:
            raise ConnectionError(f"sandbox {sandbox_id} has no running process to forward "
                                  f"ports into")
        return await netnsdial.dial(f"/proc/{pid}/ns/net", port)

    # --- images ----------------------------------------------------------------------------

    async def _image(self, image: str) -> pb.Image | None:
        """CRI ImageStatus: the local image, None when absent."""
        _, im = self._stubs()
        resp = await self._call("ImageStatus", im.ImageStatus,
                                pb.ImageStatusRequest(image=pb.ImageSpec(image=image)))
        return resp.image if resp.HasField("image") else None

    async def image_status(self, image: str) -> str | None:
        found = await self._image(image)
        return found.id if found is not None else None

    async def image_size(self, image: str) -> int:
        found = await self._image(image)
        return found.size if found is not None else 0

    async def image_user(self, image: str) -> tuple[int | None, str]:
        found = await self._image(image)
        if found is not None:
            if found.HasField("uid"):
                return found.uid.value, ""
            if found.username:
                return None, found.username
        return 0, ""

    def reachable(self, image: str) -> bool:
        """Whether ``image``'s registry can be pulled from (loopback, or mirrored)."""
        return is_loopback_registry(image) or registry_of(image) in self.mirrored

    async def pull_image(self, image: str, auth: AuthConfig | None = None) -> str:
        """CRI PullImage with ``auth``; an image of an unreachable registry is never asked
        for: its local copy stands in for the pull, else the pull fails at once."""
        if not self.reachable(image):
            present = await self.image_status(image)
            if present is not None:
                return present
            raise RuntimeError_(
                f"rpc error: code = NotFound desc = failed to pull and unpack image "
                f"\"{normalize_image(image)}\": not present on this node and no registry is "
                "reachable (only registries on loopback or with a --registry-mirror are "
                "pulled from)", "NotFound")
        _, im = self._stubs()
        request = pb.PullImageRequest(image=pb.ImageSpec(image=image),
                                      auth=crimap.auth_config(auth) if auth else None)
        try:
            resp = await im.PullImage(request, timeout=self.timeout + PULL_EXTRA_TIMEOUT)
        except grpc.aio.AioRpcError as err:
            code = crimap.go_code_name(err.code().name)
            raise RuntimeError_(f"rpc error: code = {code} desc = {err.details()}",
                                code) from None
        return resp.image_ref
