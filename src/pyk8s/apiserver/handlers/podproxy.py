"""``pods/log``, ``exec``, ``attach``, ``portforward``: the API server as a kubelet proxy.

As upstream's ``pkg/registry/core/pod/rest/{log,subresources}.go``: the pod names its
node, the Node its InternalIP and kubelet port (``status.daemonEndpoints``), and the
request goes on to ``https://IP:PORT/containerLogs/..`` (``/exec``, ``/attach``,
``/portForward``) with the API server's kubelet-client certificate
(``pki/apiserver-kubelet-client.crt``, O=system:masters as kubeadm's). The kubelet's serving certificate is verified only when a CA is configured
(``ctx.config["kubelet_certificate_authority"]``, kube-apiserver's
``--kubelet-certificate-authority``); kubeadm clusters skip it, as here by default.

Logs stream back as text/plain (chunked, so ``-f`` follows); a kubelet's refusal becomes
a Status with its code and its text as message, as upstream's response checker does.
Exec, attach and port-forward need a WebSocket: the kubelet's socket is opened first (so
its failures are still plain HTTP errors), then the client's is accepted with the same
subprotocol and the two are bridged message by message; the kubelet's frames already
carry the protocol. For port-forward that includes kubectl's SPDY frames inside the
``SPDY/3.1+portforward.k8s.io`` tunnel, which upstream's API server translates to a SPDY
upgrade and this one leaves to the kubelet.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path
from urllib.parse import quote

import aiohttp
from aiohttp import WSMsgType, web

from ... import pki
from .. import authz, errors
from .common import TRUE_VALUES, ResourceRequest
from .extensions import on_subresource

#: Subprotocols bridged to the kubelet (remote command v5, and v4 for older clients).
EXEC_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
LOG_PARAMS = ("follow", "previous", "sinceSeconds", "sinceTime", "timestamps", "tailLines",
              "limitBytes")
EXEC_PARAMS = ("command", "stdin", "stdout", "stderr", "tty")
ATTACH_PARAMS = ("stdin", "stdout", "stderr", "tty")
#: kubectl's SPDY-over-WebSocket tunnel and the Python client's channel protocol.
PORTFORWARD_PROTOCOLS = ("SPDY/3.1+portforward.k8s.io", "v4.channel.k8s.io")
DIAL_TIMEOUT = 30.0

_SSL_KEY = "kubelet_client_ssl"


def kubelet_ssl(ctx) -> ssl.SSLContext:
    """The TLS context for kubelets (made once per server)."""
    cached = ctx.config.get(_SSL_KEY)
    if cached is not None:
        return cached
    pki_dir = Path(ctx.config["pki_dir"])
    cert, key = ctx.config.get("kubelet_client_certificate"), ctx.config.get("kubelet_client_key")
    if not cert:
        pair = pki.ensure_kubelet_client_cert(pki.ensure_ca(pki_dir), pki_dir)
        cert, key = str(pair.cert_path), str(pair.key_path)
    ca = ctx.config.get("kubelet_certificate_authority")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca or None)
    if not ca:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(cert, key)
    ctx.config[_SSL_KEY] = context
    return context


def _container_names(spec: dict, key: str) -> list[str]:
    return [c["name"] for c in spec.get(key) or ()]


def resolve_container(pod: dict, container: str) -> str:
    """The container a request means, as upstream's ``validateContainer``."""
    spec, name = pod.get("spec") or {}, pod["metadata"]["name"]
    if not container:
        names = _container_names(spec, "containers")
        if len(names) == 1:
            return names[0]
        if not names:
            raise errors.bad_request("the server could not find the requested resource")
        message = (f"a container name must be specified for pod {name}, choose one of: "
                   f"[{' '.join(names)}]")
        inits = _container_names(spec, "initContainers")
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
        raise errors.bad_request(message)
    known = (_container_names(spec, "containers") + _container_names(spec, "initContainers")
             + _container_names(spec, "ephemeralContainers"))
    if container not in known:
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    return container


async def kubelet_base(req: ResourceRequest, node_name: str) -> str:
    """``https://<InternalIP>:<port>`` of a node's kubelet."""
    node_rt = req.ctx.registry.get("", "v1", "nodes")
    node = await req.objects.get(node_rt, None, node_name)
    status = node.get("status") or {}
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or ()}
    host = addresses.get("InternalIP") or addresses.get("ExternalIP") or addresses.get(
        "Hostname")
    if not host or not port:
        raise errors.bad_request(f"node {node_name} has no kubelet address")
    if ":" in host:
        host = f"[{host}]"
    return f"https://{host}:{port}"


def _forward(query, names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(k, v) for k in names for v in query.getall(k, [])]


def _backend_error(status: int, text: str, name: str) -> errors.APIError:
    reasons = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}
    message = text.strip() or f"the server responded with the status code {status}"
    return errors.APIError(status if status in reasons else 500,
                           reasons.get(status, "InternalError"), message,
                           {"name": name, "kind": "pods/log"} if status == 404 else None)


@on_subresource("", "pods", "log")
async def pod_log(req: ResourceRequest) -> web.StreamResponse:
    if req.http.method != "GET":
        raise errors.method_not_allowed(req.http.method, "pods/log")
    pod = await req.objects.get(req.rt, req.namespace, req.info.name)
    container = resolve_container(pod, req.query.get("container", ""))
    node_name = (pod.get("spec") or {}).get("nodeName")
    resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
    if not node_name:  # upstream: an empty location, so an empty log
        await resp.prepare(req.http)
        await resp.write_eof()
        return resp
    base = await kubelet_base(req, node_name)
    url = (f"{base}/containerLogs/{quote(req.namespace)}/{quote(req.info.name)}/"
           f"{quote(container)}")
    follow = req.query.get("follow") in TRUE_VALUES
    timeout = aiohttp.ClientTimeout(total=None if follow else 300, sock_connect=DIAL_TIMEOUT)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.get(url, params=_forward(req.query, LOG_PARAMS),
                            ssl=kubelet_ssl(req.ctx)) as upstream:
            if upstream.status != 200:
                raise _backend_error(upstream.status, await upstream.text(), req.info.name)
            await resp.prepare(req.http)
            async for chunk in upstream.content.iter_any():
                await resp.write(chunk)
    except (aiohttp.ClientConnectorError, asyncio.TimeoutError) as err:
        if resp.prepared:
            return resp
        raise errors.internal(f"error dialing backend: {err}") from None
    except (aiohttp.ClientPayloadError, ConnectionError):
        return resp  # the kubelet or the client went away mid-stream
    await resp.write_eof()
    return resp


@on_subresource("", "pods", "exec")
async def pod_exec(req: ResourceRequest) -> web.StreamResponse:
    return await _stream_container(req, "exec", EXEC_PARAMS)


@on_subresource("", "pods", "attach")
async def pod_attach(req: ResourceRequest) -> web.StreamResponse:
    return await _stream_container(req, "attach", ATTACH_PARAMS)


@on_subresource("", "pods", "portforward")
async def pod_portforward(req: ResourceRequest) -> web.StreamResponse:
    await _check_stream_request(req, "portforward")
    pod = await req.objects.get(req.rt, req.namespace, req.info.name)
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.bad_request(f"pod {req.info.name} does not have a host assigned")
    base = await kubelet_base(req, node_name)
    url = f"{base}/portForward/{quote(req.namespace)}/{quote(req.info.name)}"
    return await _proxy_websocket(req, url, _forward(req.query, ("ports",)),
                                  PORTFORWARD_PROTOCOLS)


async def _check_stream_request(req: ResourceRequest, subresource: str) -> None:
    if req.http.method not in ("GET", "POST"):
        raise errors.method_not_allowed(req.http.method, f"pods/{subresource}")
    await _authorize_create(req, subresource)


async def _stream_container(req: ResourceRequest, subresource: str,
                            params: tuple[str, ...]) -> web.StreamResponse:
    """exec and attach: the container's kubelet endpoint over a bridged WebSocket."""
    await _check_stream_request(req, subresource)
    pod = await req.objects.get(req.rt, req.namespace, req.info.name)
    container = resolve_container(pod, req.query.get("container", ""))
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.bad_request(f"pod {req.info.name} does not have a host assigned")
    base = await kubelet_base(req, node_name)
    url = (f"{base}/{subresource}/{quote(req.namespace)}/{quote(req.info.name)}/"
           f"{quote(container)}")
    return await _proxy_websocket(req, url, _forward(req.query, params), EXEC_PROTOCOLS)


async def _proxy_websocket(req: ResourceRequest, url: str, params: list[tuple[str, str]],
                           supported: tuple[str, ...]) -> web.StreamResponse:
    http = req.http
    if http.headers.get("Upgrade", "").lower() != "websocket":
        # kubectl falls back to SPDY when the WebSocket upgrade fails; only the WebSocket
        # protocols are served (so the checks before answer both attempts alike)
        raise errors.bad_request("Upgrade request required: only WebSocket "
                                 f"({', '.join(supported)}) is supported")
    offered = [p.strip() for p in http.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    protocols = [p for p in offered if p in supported]
    if not protocols:
        raise errors.bad_request(f"unable to upgrade: no supported subprotocol among "
                                 f"{offered}; want one of {list(supported)}")
    async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=DIAL_TIMEOUT)) as session:
        try:
            backend = await session.ws_connect(url, params=params, protocols=protocols,
                                               ssl=kubelet_ssl(req.ctx), autoping=True,
                                               max_msg_size=0)
        except aiohttp.WSServerHandshakeError as err:
            raise _backend_error(err.status, err.message, req.info.name) from None
        except (aiohttp.ClientConnectorError, TimeoutError) as err:
            raise errors.internal(f"error dialing backend: {err}") from None
        async with backend:
            client = web.WebSocketResponse(protocols=(backend.protocol or protocols[0],),
                                           max_msg_size=0)
            await client.prepare(http)
            await _bridge(client, backend)
            return client


async def _authorize_create(req: ResourceRequest, subresource: str) -> None:
    """A WebSocket exec, attach or port-forward is a GET, authorized as ``get`` by the front
    end; since 1.30 upstream also requires ``create``
    (AuthorizePodWebsocketUpgradeCreatePermission)."""
    if req.http.method != "GET":
        return
    attrs = authz.Attributes(user=req.user, verb="create", resource_request=True,
                             path=req.http.path, namespace=req.namespace or "",
                             api_version=req.info.version, resource="pods",
                             subresource=subresource, name=req.info.name or "")
    decision = await req.ctx.authorizer.authorize(attrs)
    if decision.verdict != authz.ALLOW:
        raise authz.forbidden(attrs, decision.reason)


async def _bridge(client: web.WebSocketResponse, backend: aiohttp.ClientWebSocketResponse
                  ) -> None:
    """Copy binary/text messages both ways until either side closes, then close both."""

    async def copy(source, send) -> None:
        async for msg in source:
            if msg.type == WSMsgType.BINARY:
                await send(msg.data, binary=True)
            elif msg.type == WSMsgType.TEXT:
                await send(msg.data.encode(), binary=False)

    async def to_client(data: bytes, binary: bool) -> None:
        await (client.send_bytes(data) if binary else client.send_str(data.decode()))

    async def to_backend(data: bytes, binary: bool) -> None:
        await (backend.send_bytes(data) if binary else backend.send_str(data.decode()))

    tasks = [asyncio.create_task(copy(backend, to_client), name="exec kubelet->client"),
             asyncio.create_task(copy(client, to_backend), name="exec client->kubelet")]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        await backend.close()
        await client.close()
