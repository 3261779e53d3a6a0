"""Subresources: status, scale, binding, eviction, approval, finalize, ephemeralcontainers.

Each is a narrow view on its parent object: /status writes only status, /scale
reads and writes spec.replicas through an autoscaling/v1 Scale, /binding assigns
a pod to a node, /eviction deletes a pod if its disruption budget allows
(../eviction.py), /approval writes a CSR's conditions, /finalize writes a
namespace's spec.finalizers, /ephemeralcontainers only a pod's spec.ephemeralContainers
(what ``kubectl debug`` adds).
"""

from __future__ import annotations

import copy

from aiohttp import web

from .. import errors
from ..codec import decode_body, decode_patch
from ..eviction import evict
from ..selectors import selector_from_label_selector
from ..strategy import get_path
from .common import ResourceRequest, json_response
from .reads import render_object
from .writes import check_fields, patch, patcher, update


async def handle(req: ResourceRequest) -> web.StreamResponse:
    sub, method = req.info.subresource, req.http.method
    if sub not in req.rt.subresources:
        raise errors.not_found(req.rt.group, f"{req.rt.plural}/{sub}", req.info.name or "")
    if sub in ("status", "approval", "ephemeralcontainers"):
        if method == "GET":
            return render_object(req, await req.objects.get(req.rt, req.namespace, req.info.name))
        if method == "PUT":
            return await update(req, subresource=sub)
        if method == "PATCH":
            return await patch(req, subresource=sub)
    if sub == "scale":
        return await scale(req)
    if sub == "binding" and method == "POST":
        return await binding(req)
    if sub == "eviction" and method == "POST":
        return await eviction(req)
    if sub == "finalize" and method == "PUT":
        return await finalize(req)
    raise errors.method_not_allowed(method, f"{req.rt.plural}/{sub}")


def _scale_paths(req: ResourceRequest) -> tuple[list[str], list[str], list[str] | None]:
    """Where replicas and the selector live: a CRD's ``subresources.scale`` JSON paths
    (``.spec.replicas``), else the built-in kinds' fields."""
    paths = req.rt.extra.get("scale")
    if not paths:
        return ["spec", "replicas"], ["status", "replicas"], None
    selector = paths.get("labelSelectorPath")
    return (paths["specReplicasPath"].lstrip(".").split("."),
            paths["statusReplicasPath"].lstrip(".").split("."),
            selector.lstrip(".").split(".") if selector else [])


def _scale_of(req: ResourceRequest, obj: dict) -> dict:
    meta = obj["metadata"]
    spec_path, status_path, selector_path = _scale_paths(req)
    selector = get_path(obj, "spec", "selector")
    if selector_path is not None:
        text = get_path(obj, *selector_path, default="") if selector_path else ""
    elif req.rt.kind == "ReplicationController":
        text = ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items()))
    else:
        text = _selector_text(selector)
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                          "creationTimestamp") if k in meta},
        "spec": {"replicas": get_path(obj, *spec_path, default=0)},
        "status": {"replicas": get_path(obj, *status_path, default=0),
                   "selector": text},
    }


def _selector_text(selector: dict | None) -> str:
    parts = []
    for r in selector_from_label_selector(selector).requirements:
        if r.op == "=":
            parts.append(f"{r.key}={r.values[0]}")
        elif r.op == "exists":
            parts.append(r.key)
        elif r.op == "!":
            parts.append(f"!{r.key}")
        else:
            parts.append(f"{r.key} {r.op} ({','.join(r.values)})")
    return ",".join(parts)


async def scale(req: ResourceRequest) -> web.Response:
    method = req.http.method
    obj = await req.objects.get(req.rt, req.namespace, req.info.name)
    if method == "GET":
        return json_response(_scale_of(req, obj))
    raw = await req.http.read()
    if method == "PUT":
        body = decode_body(raw, req.content_type)

        def to_scale(current: dict) -> dict:
            return body
    elif method == "PATCH":
        kind, patch_body = decode_patch(raw, req.content_type)
        if kind == "strategic":
            kind = "merge"
        scale_rt = req.rt
        apply_patch = patcher(req, "merge" if kind == "apply" else kind, patch_body, scale_rt)

        def to_scale(current: dict) -> dict:
            return apply_patch(_scale_of(req, current))
    else:
        raise errors.method_not_allowed(method, f"{req.rt.plural}/scale")

    def mutate(current: dict) -> dict:
        wanted = to_scale(current)
        replicas = get_path(wanted, "spec", "replicas", default=0)
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid_object("autoscaling", "Scale", req.info.name, [errors.invalid(
                "spec.replicas", replicas, "must be greater than or equal to 0")])
        rv = get_path(wanted, "metadata", "resourceVersion")
        *parents, leaf = _scale_paths(req)[0]
        target = current
        for step in parents:
            target = target.setdefault(step, {})
        target[leaf] = replicas
        if rv:
            current["metadata"]["resourceVersion"] = rv
        return current

    result = await req.objects.update(req.rt, req.namespace, req.info.name, mutate,
                                      dry_run=req.dry_run, user=req.user, manager=req.manager)
    return json_response(_scale_of(req, result.object))


async def binding(req: ResourceRequest, pod_name: str | None = None) -> web.Response:
    raw = await req.http.read()
    body = decode_body(raw, req.content_type)
    pods = req.ctx.registry.get("", "v1", "pods")
    binding_rt = req.ctx.registry.get("", "v1", "bindings")
    check_fields(req, body, None, binding_rt)
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request was not a JSON object")
    name = pod_name or req.info.name
    node = get_path(body, "target", "name")
    if not node:
        raise errors.invalid_object("", "Binding", name, [errors.required("target.name")])

    def assign(pod: dict) -> dict:
        if get_path(pod, "metadata", "deletionTimestamp"):
            raise errors.conflict("", "pods", name, "pod is being deleted")
        current = get_path(pod, "spec", "nodeName")
        if current:
            raise errors.conflict("", "pods/binding", name,
                                  f'pod {name} is already assigned to node "{current}"')
        pod["spec"]["nodeName"] = node
        annotations = get_path(body, "metadata", "annotations")
        if annotations:
            pod["metadata"].setdefault("annotations", {}).update(annotations)
        conditions = pod.setdefault("status", {}).setdefault("conditions", [])
        for cond in conditions:
            if cond.get("type") == "PodScheduled":
                cond["status"] = "True"
                cond.pop("reason", None)
                cond.pop("message", None)
                break
        else:
            conditions.append({"type": "PodScheduled", "status": "True",
                               "lastProbeTime": None,
                               "lastTransitionTime": _now()})
        return pod

    await req.objects.update(pods, req.namespace, name, assign, subresource="binding",
                             dry_run=req.dry_run, client_rv_from_body=False,
                             user=req.user, manager=req.manager)
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                          "status": "Success", "code": 201}, 201)


def _now() -> str:
    from ..objects import now_rfc3339

    return now_rfc3339()


async def eviction(req: ResourceRequest) -> web.Response:
    raw = await req.http.read()
    body = decode_body(raw, req.content_type) if raw.strip() else {}
    status, code = await evict(req, body or {})
    return json_response(status, code)


async def finalize(req: ResourceRequest) -> web.Response:
    raw = await req.http.read()
    body = decode_body(raw, req.content_type)
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request was not a JSON object")
    finalizers = get_path(body, "spec", "finalizers", default=[])

    def mutate(ns: dict) -> dict:
        ns = copy.deepcopy(ns)
        ns.setdefault("spec", {})["finalizers"] = finalizers
        if not finalizers:
            ns["spec"].pop("finalizers")
        return ns

    result = await req.objects.update(req.rt, None, req.info.name, mutate,
                                      subresource="finalize", dry_run=req.dry_run,
                                      client_rv_from_body=False, user=req.user, manager=req.manager)
    return render_object(req, result.object)
