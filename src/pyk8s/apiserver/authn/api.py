"""The authentication.k8s.io API: who am I (SelfSubjectReview), who is this token
(TokenReview), and tokens for service accounts (serviceaccounts/NAME/token)."""

from __future__ import annotations

import time

from aiohttp import web

from .. import errors
from ..admission import AdmissionRequest
from ..codec import decode_body
from ..handlers.common import ResourceRequest, json_response
from ..handlers.extensions import on_create, on_subresource
from ..objects import now_rfc3339
from .token import TokenError

GROUP_VERSION = "authentication.k8s.io/v1"
DEFAULT_EXPIRATION = 3600
MIN_EXPIRATION = 600
MAX_EXPIRATION = 1 << 32
#: kubelet asks for 3607 s: such pod-bound tokens live a year but warn after an hour
#: (--service-account-extend-token-expiration, on by default upstream).
WARN_ONLY_EXPIRATION = 3607
EXTENDED_EXPIRATION = 365 * 24 * 3600


@on_create("authentication.k8s.io", "selfsubjectreviews")
async def self_subject_review(req: ResourceRequest, body: dict) -> dict:
    """``kubectl auth whoami``: echo the authenticated user back."""
    return {
        "kind": "SelfSubjectReview",
        "apiVersion": GROUP_VERSION,
        "metadata": {"creationTimestamp": now_rfc3339()},
        "status": {"userInfo": req.user.as_dict()},
    }


@on_create("authentication.k8s.io", "tokenreviews")
async def token_review(req: ResourceRequest, body: dict) -> dict:
    """Authenticate ``spec.token`` for ``spec.audiences`` (default: the API server's)."""
    spec = body.get("spec") or {}
    token = spec.get("token") or ""
    if not token:
        raise errors.bad_request("token is required for TokenReview in authentication")
    audiences = tuple(spec.get("audiences") or ())
    status: dict = {"user": {}}
    try:
        result = await req.ctx.authenticator.authenticate_token(token, audiences)
    except TokenError as exc:
        status["error"] = str(exc)
    else:
        status = {"authenticated": True, "user": result.user.as_dict(),
                  "audiences": list(result.audiences)}
    return {
        "kind": "TokenReview",
        "apiVersion": GROUP_VERSION,
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }


def _invalid(name: str, field: str, value, detail: str) -> errors.APIError:
    return errors.invalid_object("authentication.k8s.io", "TokenRequest", name,
                                 [errors.invalid(field, value, detail)])


def _validate(spec: dict) -> None:
    seconds = spec.get("expirationSeconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise _invalid("", "spec.expirationSeconds", seconds, "must be an integer")
    if seconds < MIN_EXPIRATION:
        raise _invalid("", "spec.expirationSeconds", seconds,
                       "may not specify a duration less than 10 minutes")
    if seconds > MAX_EXPIRATION:
        raise _invalid("", "spec.expirationSeconds", seconds,
                       "may not specify a duration larger than 2^32 seconds")


@on_subresource("", "serviceaccounts", "token")
async def token_request(req: ResourceRequest) -> web.StreamResponse:
    """POST serviceaccounts/NAME/token: mint a bound token (TokenREST upstream)."""
    if req.http.method != "POST":
        raise errors.method_not_allowed(req.http.method, "serviceaccounts/token")
    issuer = getattr(req.ctx.authenticator, "issuer", None)
    if issuer is None:
        raise errors.not_found("", "serviceaccounts/token", req.info.name or "")
    body = decode_body(await req.http.read(), req.content_type)
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request was not a JSON object")
    if body.get("kind", "TokenRequest") != "TokenRequest":
        raise errors.bad_request(f"TokenRequest expected, got {body.get('kind')}")
    name, namespace = req.info.name, req.namespace
    meta = body.setdefault("metadata", {}) or {}
    body["metadata"] = meta
    spec = body.setdefault("spec", {}) or {}
    body["spec"] = spec
    spec.setdefault("expirationSeconds", DEFAULT_EXPIRATION)
    _validate(spec)
    if meta.get("name") and meta["name"] != name:
        raise _invalid(name, "metadata.name", meta["name"],
                       "must match the service account name if specified")
    if meta.get("namespace") and meta["namespace"] != namespace:
        raise _invalid(name, "metadata.namespace", meta["namespace"],
                       "must match the service account namespace if specified")
    sa = await req.objects.get(req.rt, namespace, name)
    bound = await _bound_objects(req, spec.get("boundObjectRef"), name)
    if not spec.get("audiences"):
        spec["audiences"] = list(issuer.api_audiences)
    await _admit(req, body)

    requested = spec["expirationSeconds"]
    lifetime, warn_after = requested, 0
    if ("pod" in bound and requested == WARN_ONLY_EXPIRATION
            and set(spec["audiences"]) <= set(issuer.api_audiences)):
        lifetime, warn_after = EXTENDED_EXPIRATION, requested
    now = int(time.time())
    token = issuer.mint(sa, spec["audiences"], lifetime, warn_after=warn_after, **bound)
    meta.update(name=name, namespace=namespace,
                creationTimestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)))
    body.update(apiVersion=GROUP_VERSION, kind="TokenRequest")
    body["status"] = {"token": token, "expirationTimestamp": time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + requested))}
    return json_response(body, 201)


async def _bound_objects(req: ResourceRequest, ref, sa_name: str) -> dict:
    """pod/secret/node keyword arguments of the claims for ``spec.boundObjectRef``."""
    if not ref:
        return {}
    kind, api_version = ref.get("kind", ""), ref.get("apiVersion", "")
    group, _, version = api_version.rpartition("/")
    registry, ns = req.ctx.registry, req.namespace
    bound: dict = {}
    if group == "" and kind == "Pod":
        pod = await req.objects.get(registry.get("", "v1", "pods"), ns, ref.get("name", ""))
        if (pod.get("spec") or {}).get("serviceAccountName") != sa_name:
            raise errors.bad_request(f'cannot bind token for serviceaccount "{sa_name}" to pod '
                                     "running with different serviceaccount name.")
        bound["pod"] = pod
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name:
            try:
                bound["node"] = await req.objects.get(registry.get("", "v1", "nodes"), None,
                                                      node_name)
            except errors.APIError:
                pass  # upstream: the node claim is left out when the node cannot be read
        uid = pod["metadata"].get("uid")
    elif group == "" and kind == "Secret":
        bound["secret"] = await req.objects.get(registry.get("", "v1", "secrets"), ns,
                                                ref.get("name", ""))
        uid = bound["secret"]["metadata"].get("uid")
    elif group == "" and kind == "Node":
        bound["node"] = await req.objects.get(registry.get("", "v1", "nodes"), None,
                                              ref.get("name", ""))
        uid = bound["node"]["metadata"].get("uid")
    else:
        raise errors.bad_request(f"cannot bind token to object of type {group}/{version}, "
                                 f"Kind={kind}")
    if ref.get("uid") and ref["uid"] != uid:
        raise errors.conflict(group, kind, ref.get("name", ""),
                              f"the UID in the bound object reference ({ref['uid']}) does not "
                              "match the UID in record. The object might have been deleted "
                              "and then recreated")
    return bound


async def _admit(req: ResourceRequest, body: dict) -> None:
    """Admission sees the TokenRequest as a create of serviceaccounts/token."""
    attrs = AdmissionRequest("CREATE", req.rt, req.namespace, req.info.name, req.user,
                             object=body, subresource="token", dry_run=req.dry_run)
    await req.ctx.admission.admit(req.ctx, attrs)
    await req.ctx.admission.validate(req.ctx, attrs)
