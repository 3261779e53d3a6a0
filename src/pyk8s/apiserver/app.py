"""The HTTP front end: routing, authentication of the admin certificate, errors.

One catch-all route parses resource paths (handlers are generic over kinds);
fixed paths serve discovery, OpenAPI, health and version. Every failure leaves
as a metav1.Status: APIError carries upstream's reason and code, anything else
is a bug answered as 500 InternalError and logged with its traceback.
"""

from __future__ import annotations

import logging
import platform
import ssl
import time

from aiohttp import web

from .. import __version__
from . import authz, discovery, errors, metrics, openapi
from .authz.impersonation import impersonate
from .context import ServerContext
from .handlers import extensions, reads, subresources, watch, writes
from .handlers.common import USER_KEY, TRUE_VALUES, ResourceRequest, json_response
from .objects import ObjectStore
from .openapi.v2proto import v2_protobuf
from .requestinfo import parse_resource_path

log = logging.getLogger(__name__)

KUBERNETES_VERSION = (1, 32, 4)


def version_info() -> dict:
    major, minor, patch = KUBERNETES_VERSION
    return {
        "major": str(major),
        "minor": str(minor),
        "gitVersion": f"v{major}.{minor}.{patch}-pyk8s.{__version__}",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "2026-11-26T00:00:00Z",
        "goVersion": f"python{platform.python_version()}",
        "compiler": platform.python_implementation().lower(),
        "platform": f"linux/{platform.machine().replace('x86_64', 'amd64').replace('aarch64', 'arm64')}",
    }


@web.middleware
async def status_errors(request: web.Request, handler):
    try:
        return await handler(request)
    except errors.APIError as err:
        resp = json_response(err.status(), err.code)
        for k, v in err.headers.items():
            resp.headers[k] = v
        return resp
    except web.HTTPRequestEntityTooLarge:
        return json_response(errors.too_large().status(), 413)
    except web.HTTPException:
        raise
    except (ConnectionResetError, ConnectionError):
        raise
    except Exception:
        log.exception("internal error serving %s %s", request.method, request.path_qs)
        err = errors.internal("an unexpected error happened; see the server log")
        return json_response(err.status(), 500)


class APIServerApp:
    """Builds the aiohttp application over a ServerContext."""

    def __init__(self, ctx: ServerContext, *, server_address: str) -> None:
        self.ctx = ctx
        self.objects = ObjectStore(ctx)
        self.server_address = server_address
        self.ready = False
        self.metrics = metrics.RequestMetrics()

    def build(self) -> web.Application:
        app = web.Application(middlewares=[status_errors], client_max_size=8 * 1024 * 1024,
                              handler_args={"max_field_size": 65536})
        app.router.add_route("*", r"/{tail:[\s\S]*}", self.dispatch)
        return app

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        """Serve one request, counted and timed for /metrics."""
        path = request.path.rstrip("/") or "/"
        info = parse_resource_path(path)
        labels = metrics.labels_for(request.method, info, request.query, request.content_type)
        self.metrics.started(labels)
        started, code = time.perf_counter(), 500
        try:
            response = await self._serve(request, path, info)
            code = response.status
            return response
        except errors.APIError as err:
            code = err.code
            raise
        except web.HTTPException as err:
            code = err.status
            raise
        finally:
            self.metrics.finished(labels, code, time.perf_counter() - started)

    async def _serve(self, request: web.Request, path: str, info) -> web.StreamResponse:
        user = await self.ctx.authenticator.authenticate(request)
        user = await impersonate(request, user, self.ctx.authorizer)
        request[USER_KEY] = user
        attrs = authz.attributes_for(request.method, path, info, request.query, user)
        decision = await self.ctx.authorizer.authorize(attrs)
        if decision.verdict != authz.ALLOW:
            raise authz.forbidden(attrs, decision.reason)
        if path == "/version":
            return json_response(version_info())
        if path == "/metrics":
            return web.Response(body=self.metrics.render(self.ctx).encode(), headers={
                "Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
        if path.startswith(("/healthz", "/livez", "/readyz")):
            return await self.health(request, path)
        if path == "/api":
            return self.discovery_root(request, core=True)
        if path == "/apis":
            return self.discovery_root(request, core=False)
        if path.startswith("/openapi"):
            return self.openapi(request, path)
        if info is None:
            return self.discovery_group(path)
        rt = self.ctx.registry.get(info.group, info.version, info.resource)
        if rt is None:
            raise errors.APIError(404, "NotFound", "the server could not find the requested "
                                  "resource", {"causes": [{"reason": "UnexpectedServerResponse",
                                                           "message": "404 page not found"}]})
        req = ResourceRequest(request, self.ctx, rt, info, self.objects)
        return await self.route(req)

    async def route(self, req: ResourceRequest) -> web.StreamResponse:
        method, info, rt = req.http.method, req.info, req.rt
        if rt.namespaced and info.namespace is None and info.name and rt.plural != "namespaces":
            raise errors.not_found(rt.group, rt.plural, info.name)
        if info.subresource:
            special = extensions.subresource_handler(rt.group, rt.plural, info.subresource)
            if special is not None:
                return await special(req)
            return await subresources.handle(req)
        if rt.virtual:
            return await _computed(req)
        verbs = rt.verbs
        watching = info.watch_path or req.query.get("watch") in TRUE_VALUES
        if rt.plural == "bindings" and method == "POST":
            return await _binding_resource(req)
        if method == "GET":
            if watching:
                _require(rt, "watch", verbs)
                return await watch.watch(req)
            if info.name:
                _require(rt, "get", verbs)
                return await reads.get(req)
            _require(rt, "list", verbs)
            return await reads.list_(req)
        if method == "POST" and not info.name:
            _require(rt, "create", verbs)
            return await writes.create(req)
        if method == "PUT" and info.name:
            _require(rt, "update", verbs)
            return await writes.update(req)
        if method == "PATCH" and info.name:
            _require(rt, "patch", verbs)
            return await writes.patch(req)
        if method == "DELETE":
            if info.name:
                _require(rt, "delete", verbs)
                return await writes.delete(req)
            _require(rt, "deletecollection", verbs)
            return await writes.delete_collection(req)
        raise errors.method_not_allowed(method, rt.plural)

    async def health(self, request: web.Request, path: str) -> web.Response:
        checks = [("ping", True), ("log", True),
                  ("etcd", await self._store_ok()),
                  ("poststarthook/bootstrap-controller", self.ready)]
        if path.startswith("/readyz"):
            checks.append(("informer-sync", self.ctx.watch_cache is not None))
        parts = path.split("/")
        if len(parts) > 2:  # /healthz/etcd: one check
            wanted = "/".join(parts[2:])
            checks = [c for c in checks if c[0] == wanted]
            if not checks:
                raise errors.APIError(404, "NotFound", "the server could not find the requested "
                                      "resource")
        healthy = all(ok for _, ok in checks)
        if "verbose" in request.query:
            lines = [f"[+]{name} ok" if ok else f"[-]{name} failed: reason withheld"
                     for name, ok in checks]
            verdict = "passed" if healthy else "failed"
            lines.append(f"{parts[1]} check {verdict}")
            body = "\n".join(lines) + "\n"
        else:
            body = "ok" if healthy else f"[-]{parts[1]} failed: reason withheld\n"
        return web.Response(text=body, status=200 if healthy else 500,
                            content_type="text/plain")

    async def _store_ok(self) -> bool:
        try:
            await self.ctx.store.current_revision()
            return True
        except Exception:
            log.exception("store health check failed")
            return False

    def discovery_root(self, request: web.Request, core: bool) -> web.Response:
        aggregated = discovery.wants_aggregated(request.headers.get("Accept"))
        if aggregated:
            body = discovery.aggregated(self.ctx.registry, core)
            return json_response(body, content_type=aggregated)
        if core:
            return json_response(discovery.api_versions(self.server_address))
        return json_response(discovery.api_group_list(self.ctx.registry))

    def discovery_group(self, path: str) -> web.Response:
        parts = [p for p in path.split("/") if p]
        body = None
        if parts[:1] == ["api"] and len(parts) == 2:
            body = discovery.resource_list(self.ctx.registry, "", parts[1])
        elif parts[:1] == ["apis"] and len(parts) == 2:
            body = discovery.api_group(self.ctx.registry, parts[1])
        elif parts[:1] == ["apis"] and len(parts) == 3:
            body = discovery.resource_list(self.ctx.registry, parts[1], parts[2])
        if body is None:
            raise errors.APIError(404, "NotFound", "the server could not find the requested "
                                  "resource")
        return json_response(body)

    def openapi(self, request: web.Request, path: str) -> web.Response:
        registry = self.ctx.registry
        if path == "/openapi/v2":
            data, digest = openapi.v2_document_and_hash(registry)
            if _wants_v2_protobuf(request.headers.get("Accept", "")):
                resp = web.Response(body=v2_protobuf(registry), content_type=V2_PROTOBUF)
            else:
                resp = web.Response(body=data, content_type="application/json")
            resp.headers["ETag"] = f'"{digest}"'  # upstream: the JSON's hash for both forms
            resp.headers["Vary"] = "Accept"
            return resp
        if path == "/openapi/v3":
            return json_response(openapi.v3_index(registry))
        if path.startswith("/openapi/v3/"):
            rest = path[len("/openapi/v3/"):].split("/")
            if rest[0] == "api" and len(rest) == 2:
                doc = openapi.v3_document(registry, "", rest[1])
            elif rest[0] == "apis" and len(rest) == 3:
                doc = openapi.v3_document(registry, rest[1], rest[2])
            else:
                doc = None
            if doc is not None:
                resp = web.Response(body=doc, content_type="application/json")
                if "hash" in request.query:
                    resp.headers["Cache-Control"] = "public, immutable"
                return resp
        raise errors.APIError(404, "NotFound", "the server could not find the requested resource")


#: The gnostic protobuf media type /openapi/v2 answers with. Clients may also ask for
#: the "@v1.0" spelling (client-go does), which Go's mime parser cannot read back.
V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_V2_PROTOBUF_TYPES = (V2_PROTOBUF, "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")


def _wants_v2_protobuf(accept: str) -> bool:
    """Whether the first Accept clause naming a type /openapi/v2 serves is protobuf."""
    for clause in accept.split(","):
        media_type = clause.split(";")[0].strip().lower()
        if media_type in _V2_PROTOBUF_TYPES:
            return True
        if media_type in ("application/json", "application/*", "*/*"):
            return False
    return False


def _require(rt, verb: str, verbs) -> None:
    if verb not in verbs:
        raise errors.method_not_allowed(verb, rt.plural)


async def _binding_resource(req: ResourceRequest) -> web.StreamResponse:
    """POST /api/v1/namespaces/NS/bindings: the Binding names the pod."""
    raw = await req.http.read()
    from .codec import decode_body

    body = decode_body(raw, req.content_type)
    name = ((body or {}).get("metadata") or {}).get("name") if isinstance(body, dict) else None
    if not name:
        raise errors.invalid_object("", "Binding", "", [errors.required("metadata.name")])
    return await subresources.binding(req, pod_name=name)


async def _computed(req: ResourceRequest) -> web.StreamResponse:
    """POST to a review resource: the handler computes the answer; nothing is stored."""
    handler = extensions.create_handler(req.rt.group, req.rt.plural)
    if req.http.method != "POST" or req.info.name or handler is None:
        raise errors.method_not_allowed(req.http.method, req.rt.plural)
    from .codec import decode_body

    body = decode_body(await req.http.read(), req.content_type)
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request was not a JSON object")
    req.objects.check_type(req.rt, body, req.namespace)
    answer = await handler(req, body)
    return json_response(answer, 201)


def tls_context(cert: str, key: str, client_ca: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(client_ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
