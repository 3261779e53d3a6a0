"""``pods/proxy``, ``services/proxy``, ``nodes/proxy``: HTTP through the API server.

As upstream's proxy REST (``pkg/registry/core/{pod,service,node}/rest``): the name in
the URL may carry a scheme and a port (``[scheme:]NAME[:PORT]``) and what follows
``/proxy`` is the path asked of the backend, with the query string as sent:

* a pod: its IP, at the port given (none: the scheme's default); a pod without an IP is
  upstream's 400 "address not allowed";
* a service: one ready endpoint, chosen at random, of the service port given by name or
  number (none: the only port); ``no endpoints available for service`` (503) otherwise;
* a node: its kubelet (InternalIP and ``daemonEndpoints`` port, https with the API
  server's kubelet-client certificate), or the port given on the node's address.

The request's method, body and headers go on, except hop-by-hop headers and the
client's credentials (``Authorization``, impersonation); the backend's status, headers
and body stream back. A backend that cannot be reached is a 503, as upstream's
"error trying to reach service". Upgrades (WebSocket) through the proxy are not
supported. It is how ``kubectl get --raw /api/v1/nodes/NAME/proxy/healthz`` and
dashboards' ``/api/v1/namespaces/NS/services/NAME:PORT/proxy/`` links work.
"""

from __future__ import annotations

import random
import ssl

import aiohttp
from aiohttp import web
from yarl import URL

from .. import errors
from ..admission import lookup
from .common import ResourceRequest
from .extensions import on_subresource
from .podproxy import kubelet_base, kubelet_ssl

HOP_BY_HOP = frozenset(h.lower() for h in (
    "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE",
    "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length"))
CLIENT_CREDENTIALS = ("authorization", "impersonate-")
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30)
_INSECURE_KEY = "proxy_insecure_ssl"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def split_scheme_name_port(text: str) -> tuple[str, str, str]:
    """``[scheme:]name[:port]`` as upstream's SplitSchemeNamePort; ValueError if invalid."""
    parts = text.split(":")
    if len(parts) == 1:
        scheme, name, port = "", parts[0], ""
    elif len(parts) == 2:
        scheme, name, port = "", parts[0], parts[1]
    elif len(parts) == 3:
        scheme, name, port = parts
    else:
        raise ValueError(text)
    if not name or scheme not in ("", "http", "https"):
        raise ValueError(text)
    return scheme, name, port


def _parse(req: ResourceRequest) -> tuple[str, str, str]:
    try:
        return split_scheme_name_port(req.info.name or "")
    except ValueError:
        raise errors.bad_request(
            f'invalid {req.rt.kind.lower()} request "{req.info.name}"') from None


def _rest_of_path(req: ResourceRequest) -> str:
    """What follows ``NAME/proxy`` in the URL as sent (trailing slash and escapes kept):
    the decoded path finds where (a name may be percent-encoded in the raw one), the raw
    path gives the segments after it."""
    decoded = req.http.path.split("/")
    at = next(i for i in range(1, len(decoded))
              if decoded[i] == "proxy" and decoded[i - 1] == req.info.name)
    return "/" + "/".join(req.http.raw_path.split("?", 1)[0].split("/")[at + 1:])


def _host(address: str, port: str) -> str:
    address = f"[{address}]" if ":" in address else address
    return f"{address}:{port}" if port else address


@on_subresource("", "pods", "proxy")
async def pod_proxy(req: ResourceRequest) -> web.StreamResponse:
    scheme, name, port = _parse(req)
    pod = await req.objects.get(req.rt, req.namespace, name)
    ip = (pod.get("status") or {}).get("podIP")
    if not ip:  # upstream's proxyutil.IsProxyableIP on an empty IP
        raise errors.bad_request("address not allowed")
    return await _forward(req, f"{scheme or 'http'}://{_host(ip, port)}", None)


@on_subresource("", "services", "proxy")
async def service_proxy(req: ResourceRequest) -> web.StreamResponse:
    scheme, name, port = _parse(req)
    service = await req.objects.get(req.rt, req.namespace, name)
    address, target_port = await _service_endpoint(req, service, port)
    return await _forward(req, f"{scheme or 'http'}://{_host(address, str(target_port))}",
                          None)


@on_subresource("", "nodes", "proxy")
async def node_proxy(req: ResourceRequest) -> web.StreamResponse:
    scheme, name, port = _parse(req)
    base = await kubelet_base(req, name)
    if port:
        host = base.split("://", 1)[1].rsplit(":", 1)[0]
        base = f"{scheme or 'https'}://{host}:{port}"
    elif scheme:
        base = f"{scheme}://{base.split('://', 1)[1]}"
    return await _forward(req, base, kubelet_ssl(req.ctx))


async def _service_endpoint(req: ResourceRequest, service: dict, port: str) -> tuple[str, int]:
    """A ready endpoint (address, port) for the service port named or numbered ``port``."""
    name = service["metadata"]["name"]
    ports = (service.get("spec") or {}).get("ports") or []
    if port:
        chosen = next((p for p in ports if p.get("name") == port or str(p.get("port")) == port),
                      None)
    else:
        chosen = ports[0] if len(ports) == 1 else None
    if chosen is None:
        raise errors.APIError(503, "ServiceUnavailable",
                              f'no endpoints available for service "{name}"')
    slices = await lookup.list_objects(req.ctx, "discovery.k8s.io", "endpointslices",
                                       req.namespace)
    candidates = []
    for eps in slices:
        if (eps["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) != name:
            continue
        numbers = [p.get("port") for p in eps.get("ports") or ()
                   if (p.get("name") or "") == (chosen.get("name") or "")]
        if not numbers or numbers[0] is None:
            continue
        for endpoint in eps.get("endpoints") or ():
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            candidates += [(address, numbers[0]) for address in endpoint.get("addresses") or ()]
    if not candidates:
        raise errors.APIError(503, "ServiceUnavailable",
                              f'no endpoints available for service "{name}"')
    return random.choice(candidates)


def _insecure(ctx) -> ssl.SSLContext:
    """Pods and services are proxied to without verifying their certificates, as upstream."""
    cached = ctx.config.get(_INSECURE_KEY)
    if cached is None:
        cached = ssl.create_default_context()
        cached.check_hostname = False
        cached.verify_mode = ssl.CERT_NONE
        ctx.config[_INSECURE_KEY] = cached
    return cached


async def _forward(req: ResourceRequest, base: str, tls: ssl.SSLContext | None
                   ) -> web.StreamResponse:
    http = req.http
    if http.headers.get("Upgrade"):
        raise errors.bad_request("upgrade requests are not supported through the proxy")
    url = base + _rest_of_path(req)
    query = http.raw_path.partition("?")[2]  # as sent: not decoded and encoded again
    if query:
        url += "?" + query
    headers = {k: v for k, v in http.headers.items()
               if k.lower() not in HOP_BY_HOP and not k.lower().startswith(CLIENT_CREDENTIALS)}
    ssl_context = tls if tls is not None else (_insecure(req.ctx) if url.startswith("https")
                                               else None)
    body = await http.read() if http.can_read_body else None
    async with aiohttp.ClientSession(timeout=TIMEOUT, auto_decompress=False) as session:
        try:
            backend = await session.request(http.method, URL(url, encoded=True),
                                            headers=headers, data=body, ssl=ssl_context,
                                            allow_redirects=False)
        except (aiohttp.ClientConnectionError, OSError) as err:
            raise errors.APIError(503, "ServiceUnavailable",
                                  f"error trying to reach service: {err}") from None
        async with backend:
            response = web.StreamResponse(status=backend.status, reason=backend.reason)
            for key, value in backend.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    response.headers.add(key, value)
            await response.prepare(http)
            async for chunk in backend.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
