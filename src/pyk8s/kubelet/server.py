"""The kubelet's HTTPS server (port 10250): logs, exec, attach and port-forward.

``kubectl logs``, ``exec``, ``attach`` and ``port-forward`` reach a pod through the API
server, which proxies ``pods/log``, ``pods/exec``, ``pods/attach`` and ``pods/portforward``
to the node's kubelet at the InternalIP and the port the Node publishes
(``status.daemonEndpoints.kubeletEndpoint.Port``), as upstream's
``pkg/kubelet/server/server.go``:

- ``GET /containerLogs/{ns}/{pod}/{container}``: the CRI log file, read by ``logs.py``;
- ``GET /exec/{ns}/{pod}/{container}?command=..``: a WebSocket (``v5``/``v4.channel.k8s.io``)
  bridged to the runtime's streaming exec by ``remotecommand.py`` (on containerd, CRI
  Exec and its streaming server, ``runtime/cristream.py``), as upstream's kubelet proxies
  to the CRI streaming server; bridging here also speaks kubectl's v5, which containerd's
  server lacks, and keeps the runtime (fake, containerd) behind
  :class:`~pyk8s.kubelet.runtime.Runtime`.
- ``GET /attach/{ns}/{pod}/{container}``: the same WebSocket protocol bridged to the
  runtime's attach to the container's own process (stdin when the pod spec has
  ``stdin: true``, output from now on, the terminal when ``tty: true``); on containerd
  through CRI Attach and its streaming server (``runtime/cristream.py``);
- ``GET /portForward/{ns}/{pod}``: a WebSocket to TCP ports on the loopback of the pod's
  network namespace (dialed by the runtime in the pod's ready sandbox), in kubectl's SPDY
  tunnel or the ``v4.channel.k8s.io`` protocol (``portforward.py``).

Clients authenticate with a certificate signed by ``--client-ca-file`` (the API server's
kubelet-client certificate): the user is its CN, the groups its O. Requests are then
authorized as upstream's ``--authorization-mode=Webhook``: a SubjectAccessReview for
``nodes/proxy`` on this node (cached briefly), which the API server's client
(system:masters) passes. No client CA means no client can be authenticated: every
request gets 401, as a kubelet with anonymous auth disabled.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from . import logs, portforward, remotecommand
from .containers import CONTAINER_NAME, POD_UID
from .runtime import Runtime, RuntimeError_

log = logging.getLogger(__name__)

PodGetter = Callable[[str, str], "dict | None"]
#: (user, groups, verb) -> None when allowed, else the reason.
Authorizer = Callable[[str, tuple[str, ...], str], Awaitable["str | None"]]

ALLOWED_TTL, DENIED_TTL = 300.0, 30.0  # upstream's webhook cache defaults


@dataclass(frozen=True)
class ServerTLS:
    cert_file: str
    key_file: str
    client_ca_file: str = ""

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        if self.client_ca_file:
            ctx.load_verify_locations(self.client_ca_file)
            ctx.verify_mode = ssl.CERT_OPTIONAL
        return ctx


def peer_identity(request: web.Request) -> tuple[str, tuple[str, ...]] | None:
    """(CN, Os) of a client certificate the TLS layer verified, else None."""
    transport = request.transport
    cert = transport.get_extra_info("peercert") if transport is not None else None
    if not cert:
        return None
    names = [pair for rdn in cert.get("subject", ()) for pair in rdn]
    common = [v for k, v in names if k == "commonName"]
    groups = tuple(v for k, v in names if k == "organizationName")
    return (common[0] if common else "", groups)


class SubjectAccessReviewer:
    """Webhook authorization: ask the API server whether the user may use nodes/proxy."""

    def __init__(self, client, node_name: str, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.api = client.api("authorization.k8s.io/v1", "SubjectAccessReview")
        self.node_name = node_name
        self.clock = clock
        self._cache: dict[tuple, tuple[float, str | None]] = {}

    async def __call__(self, user: str, groups: tuple[str, ...], verb: str) -> str | None:
        key = (user, groups, verb)
        hit = self._cache.get(key)
        if hit is not None and hit[0] > self.clock():
            return hit[1]
        review = await self.api.create({"spec": {
            "user": user, "groups": list(groups),
            "resourceAttributes": {"verb": verb, "resource": "nodes", "subresource": "proxy",
                                   "name": self.node_name}}})
        status = review.get("status") or {}
        reason = None if status.get("allowed") else (status.get("reason") or "")
        self._cache[key] = (self.clock() + (ALLOWED_TTL if reason is None else DENIED_TTL),
                            reason)
        return reason


class KubeletServer:
    """The routes over the kubelet's pods (``pods(ns, name)`` from its informer) and
    runtime; ``authorize`` None allows every authenticated client."""

    def __init__(self, runtime: Runtime, pods: PodGetter, *,
                 authorize: Authorizer | None) -> None:
        self.runtime = runtime
        self.pods = pods
        self.authorize = authorize
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/containerLogs/{ns}/{pod}/{container}", self.container_logs)
        app.router.add_route("*", "/exec/{ns}/{pod}/{container}", self.exec)
        app.router.add_route("*", "/attach/{ns}/{pod}/{container}", self.attach)
        app.router.add_route("*", "/portForward/{ns}/{pod}", self.port_forward)
        app.router.add_route("*", "/portForward/{ns}/{pod}/{uid}", self.port_forward)
        return app

    async def start(self, address: str, port: int, tls: ServerTLS) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0,
                                     handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, address, port, ssl_context=tls.context(),
                          reuse_address=True).start()
        log.info("kubelet server listening on %s:%d", address, port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        identity = peer_identity(request)
        if identity is None:
            return web.Response(status=401, text="Unauthorized")
        if self.authorize is not None:
            verb = "get" if request.method in ("GET", "HEAD") else "create"
            reason = await self.authorize(identity[0], identity[1], verb)
            if reason is not None:
                return web.Response(status=403, text=(
                    f"Forbidden (user={identity[0]}, verb={verb}, resource=nodes, "
                    f"subresource(s)=[proxy]) {reason}".rstrip()))
        return await handler(request)

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    # --- logs --------------------------------------------------------------------------

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        ns, name, container = (request.match_info[k] for k in ("ns", "pod", "container"))
        try:
            opts = logs.options_from_query(request.query)
        except ValueError as err:
            return web.Response(status=400, text=str(err))
        pod = self.pods(ns, name)
        if pod is None:
            return web.Response(status=404, text=f'pod "{name}" does not exist\n')
        if not _in_spec(pod, container):
            return web.Response(status=404,
                                text=f'container "{container}" not found in pod "{name}"\n')
        try:
            container_id = log_container_id(pod, container, opts.previous)
            path = (await self.runtime.container_status(container_id)).log_path
        except (LookupError, RuntimeError_) as err:
            return web.Response(status=400, text=str(err))
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)

        async def running() -> bool:
            try:
                status = await self.runtime.container_status(container_id)
            except RuntimeError_:
                return False
            return status.state == "CONTAINER_RUNNING"

        try:
            await logs.stream_log(path, opts, resp.write, running)
        except FileNotFoundError:
            pass  # the container wrote nothing yet
        except ConnectionError:
            return resp
        await resp.write_eof()
        return resp

    # --- exec --------------------------------------------------------------------------

    async def exec(self, request: web.Request) -> web.StreamResponse:
        ns, name, container = (request.match_info[k] for k in ("ns", "pod", "container"))
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=400, text="Upgrade request required")
        try:
            opts = remotecommand.exec_options(request.query)
        except ValueError as err:
            return web.Response(status=400, text=str(err))
        pod = self.pods(ns, name)
        if pod is None:
            return web.Response(status=404, text="pod does not exist")
        container_id = await self._running_container(pod, container)
        if container_id is None:
            return web.Response(status=404, text=f'container not found ("{container}")')
        try:
            session = await self.runtime.exec_stream(container_id, opts.command,
                                                     stdin=opts.stdin, tty=opts.tty)
        except RuntimeError_ as err:
            return web.Response(status=500, text=str(err))
        ws = web.WebSocketResponse(protocols=remotecommand.PROTOCOLS, max_msg_size=0)
        try:
            await ws.prepare(request)
        except Exception:
            await session.close()
            raise
        code = await remotecommand.serve_exec(ws, session, opts)
        log.debug("exec %s in %s/%s/%s ended with %s", opts.command, ns, name, container, code)
        return ws

    async def _running_container(self, pod: dict, container: str) -> str | None:
        """The running container ``container`` of ``pod``: from the pod's status, else
        from the runtime (as upstream's findContainer), since the status this kubelet just
        wrote may not have come back through its watch yet (a client that saw it first,
        such as ``kubectl debug`` attaching to a new ephemeral container, would miss it)."""
        found = running_container_id(pod, container)
        if found is not None:
            return found
        try:
            candidates = await self.runtime.list_containers(
                labels={POD_UID: pod["metadata"].get("uid", ""), CONTAINER_NAME: container},
                brief=True)
        except RuntimeError_ as err:
            log.debug("looking up container %s: %s", container, err)
            return None
        running = [c for c in candidates if c.state == "CONTAINER_RUNNING"]
        return max(running, key=lambda c: c.created_at).id if running else None

    # --- attach ------------------------------------------------------------------------

    async def attach(self, request: web.Request) -> web.StreamResponse:
        ns, name, container = (request.match_info[k] for k in ("ns", "pod", "container"))
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=400, text="Upgrade request required")
        try:
            opts = remotecommand.exec_options(request.query, attach=True)
        except ValueError as err:
            return web.Response(status=400, text=str(err))
        pod = self.pods(ns, name)
        if pod is None:
            return web.Response(status=404, text="pod does not exist")
        container_id = await self._running_container(pod, container)
        if container_id is None:
            return web.Response(status=404, text=f'container not found ("{container}")')
        try:
            session = await self.runtime.attach(container_id, stdin=opts.stdin,
                                                stdout=opts.stdout, stderr=opts.stderr,
                                                tty=opts.tty)
        except RuntimeError_ as err:
            return web.Response(status=500, text=str(err))
        ws = web.WebSocketResponse(protocols=remotecommand.PROTOCOLS, max_msg_size=0)
        try:
            await ws.prepare(request)
        except Exception:
            await session.close()
            raise
        await remotecommand.serve_exec(ws, session, opts)
        return ws

    # --- port-forward ------------------------------------------------------------------

    async def port_forward(self, request: web.Request) -> web.StreamResponse:
        ns, name = request.match_info["ns"], request.match_info["pod"]
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=400, text="Upgrade request required")
        pod = self.pods(ns, name)
        uid = request.match_info.get("uid")
        if pod is None or (uid and pod["metadata"].get("uid") != uid):
            return web.Response(status=404, text="pod does not exist")
        sandbox_id = await self._ready_sandbox(pod)
        if sandbox_id is None:
            return web.Response(status=400, text=f"pod {name} is not running")

        async def dial(port: int):
            return await self.runtime.port_forward(sandbox_id, port)

        ws = web.WebSocketResponse(protocols=portforward.PROTOCOLS, max_msg_size=0)
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        if portforward.SPDY_TUNNEL not in offered:
            try:
                ports = portforward.parse_ports(request.query)
            except ValueError as err:
                return web.Response(status=400, text=str(err))
            await ws.prepare(request)
            await portforward.serve_channels(ws, dial, ports)
            return ws
        await ws.prepare(request)
        await portforward.SpdySession(ws, dial).serve()
        return ws

    async def _ready_sandbox(self, pod: dict) -> str | None:
        """The id of the pod's ready sandbox, as upstream's ``getSandboxIDByPodUID``."""
        try:
            sandboxes = await self.runtime.list_pod_sandboxes(
                {POD_UID: pod["metadata"].get("uid", "")}, brief=True)
        except RuntimeError_ as err:
            log.debug("port-forward: listing sandboxes: %s", err)
            return None
        ready = [s for s in sandboxes if s.state == "SANDBOX_READY"]
        return max(ready, key=lambda s: s.created_at).id if ready else None


def _statuses(pod: dict) -> list[dict]:
    status = pod.get("status") or {}
    return [*(status.get("containerStatuses") or ()), *(status.get("initContainerStatuses") or ()),
            *(status.get("ephemeralContainerStatuses") or ())]


def _in_spec(pod: dict, container: str) -> bool:
    spec = pod.get("spec") or {}
    return any(c.get("name") == container for key in ("containers", "initContainers",
                                                        "ephemeralContainers")
               for c in spec.get(key) or ())


def _runtime_id(container_id: str) -> str:
    return container_id.split("://", 1)[-1]


def running_container_id(pod: dict, container: str) -> str | None:
    for status in _statuses(pod):
        if status.get("name") == container and "running" in (status.get("state") or {}):
            return _runtime_id(status.get("containerID") or "") or None
    return None


def log_container_id(pod: dict, container: str, previous: bool) -> str:
    """Which container's log to read, as upstream's ``validateContainerLogStatus``;
    LookupError with upstream's message when there is none."""
    pod_name = pod["metadata"]["name"]
    found = next((s for s in _statuses(pod) if s.get("name") == container), None)
    if found is None:
        raise LookupError(f'container "{container}" in pod "{pod_name}" is not available')
    state, last = found.get("state") or {}, (found.get("lastState") or {}).get("terminated")
    last_id = (last or {}).get("containerID")
    if previous:
        if not last_id:
            raise LookupError(f'previous terminated container "{container}" in pod '
                              f'"{pod_name}" not found')
        return _runtime_id(last_id)
    if "running" in state and found.get("containerID"):
        return _runtime_id(found["containerID"])
    if "terminated" in state:
        current = state["terminated"].get("containerID") or found.get("containerID")
        if current or last_id:
            return _runtime_id(current or last_id)
        raise LookupError(f'container "{container}" in pod "{pod_name}" is terminated')
    if last is not None:
        if not last_id:
            raise LookupError(f'container "{container}" in pod "{pod_name}" is terminated')
        return _runtime_id(last_id)
    waiting = state.get("waiting")
    if waiting is not None:
        reason = waiting.get("reason") or ""
        detail = {"ErrImagePull": "image can't be pulled",
                  "ImagePullBackOff": "trying and failing to pull image"}.get(reason, reason)
        raise LookupError(f'container "{container}" in pod "{pod_name}" is waiting to start: '
                          f'{detail}')
    raise LookupError(f'container "{container}" in pod "{pod_name}" is waiting to start - '
                      f'no logs yet')
