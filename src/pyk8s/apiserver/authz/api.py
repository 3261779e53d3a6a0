"""The authorization.k8s.io API: SubjectAccessReview and its self/local/rules forms,
answered by the same authorizer chain that guards every request."""

from __future__ import annotations

from .. import errors
from ..handlers.common import ResourceRequest
from ..handlers.extensions import on_create
from ..user import MASTERS, UserInfo
from . import ALLOW, DENY, Attributes, Chain, MastersAuthorizer

GROUP = "authorization.k8s.io"
API_VERSION = f"{GROUP}/v1"
FULL_RESOURCE_RULE = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
FULL_URL_RULE = {"verbs": ["*"], "nonResourceURLs": ["*"]}


def _attributes(user: UserInfo, spec: dict) -> Attributes:
    res = spec.get("resourceAttributes")
    if res is not None:
        return Attributes(user=user, verb=res.get("verb", ""), resource_request=True,
                          namespace=res.get("namespace", ""), api_group=res.get("group", ""),
                          api_version=res.get("version", ""), resource=res.get("resource", ""),
                          subresource=res.get("subresource", ""), name=res.get("name", ""))
    non = spec.get("nonResourceAttributes") or {}
    return Attributes(user=user, verb=non.get("verb", ""), resource_request=False,
                      path=non.get("path", ""))


def _validate_attributes(kind: str, spec: dict) -> list:
    errs = []
    if spec.get("resourceAttributes") is not None and \
            spec.get("nonResourceAttributes") is not None:
        errs.append(errors.invalid("spec.nonResourceAttributes", spec["nonResourceAttributes"],
                                   "cannot be specified in combination with resourceAttributes"))
    if spec.get("resourceAttributes") is None and spec.get("nonResourceAttributes") is None:
        errs.append(errors.invalid("spec.resourceAttributes", None, "exactly one of "
                                   "nonResourceAttributes or resourceAttributes must be "
                                   "specified"))
    return errs


async def _review(req: ResourceRequest, body: dict, kind: str, user: UserInfo) -> dict:
    spec = body.get("spec") or {}
    decision = await req.ctx.authorizer.authorize(_attributes(user, spec))
    status: dict = {"allowed": decision.verdict == ALLOW}
    if decision.verdict == DENY:
        status["denied"] = True
    if decision.reason:
        status["reason"] = decision.reason
    meta = dict(body.get("metadata") or {})
    meta["creationTimestamp"] = None
    return {"kind": kind, "apiVersion": API_VERSION, "metadata": meta, "spec": spec,
            "status": status}


def _spec_user(spec: dict) -> UserInfo:
    extra = {k: tuple(v or ()) for k, v in (spec.get("extra") or {}).items()}
    return UserInfo(spec.get("user", ""), spec.get("uid", ""), tuple(spec.get("groups") or ()),
                    extra)


def _check_subject(kind: str, body: dict) -> dict:
    spec = body.get("spec") or {}
    errs = _validate_attributes(kind, spec)
    if not spec.get("user") and not spec.get("groups"):
        errs.append(errors.invalid("spec.user", spec.get("user", ""),
                                   "at least one of user or group must be specified"))
    if errs:
        raise errors.invalid_object(GROUP, kind, "", errs)
    return spec


@on_create(GROUP, "subjectaccessreviews")
async def subject_access_review(req: ResourceRequest, body: dict) -> dict:
    spec = _check_subject("SubjectAccessReview", body)
    return await _review(req, body, "SubjectAccessReview", _spec_user(spec))


@on_create(GROUP, "localsubjectaccessreviews")
async def local_subject_access_review(req: ResourceRequest, body: dict) -> dict:
    spec = _check_subject("LocalSubjectAccessReview", body)
    namespace = req.info.namespace or ""
    res = spec.get("resourceAttributes")
    if res is None:
        raise errors.invalid_object(GROUP, "LocalSubjectAccessReview", "", [errors.invalid(
            "spec.nonResourceAttributes", spec.get("nonResourceAttributes"),
            "disallowed on this kind of request")])
    if res.get("namespace", "") != namespace:
        raise errors.bad_request(
            f"spec.resourceAttributes.namespace must match namespace: {namespace}")
    return await _review(req, body, "LocalSubjectAccessReview", _spec_user(spec))


@on_create(GROUP, "selfsubjectaccessreviews")
async def self_subject_access_review(req: ResourceRequest, body: dict) -> dict:
    errs = _validate_attributes("SelfSubjectAccessReview", body.get("spec") or {})
    if errs:
        raise errors.invalid_object(GROUP, "SelfSubjectAccessReview", "", errs)
    return await _review(req, body, "SelfSubjectAccessReview", req.user)


def rules_for(chain, user: UserInfo, namespace: str) -> tuple[list[dict], list[str]]:
    """Every rule the chain's authorizers grant ``user`` in ``namespace``, and errors."""
    rules: list[dict] = []
    problems: list[str] = []
    for authorizer in chain.authorizers if isinstance(chain, Chain) else ():
        if isinstance(authorizer, MastersAuthorizer):
            if MASTERS in user.groups:
                rules += [FULL_RESOURCE_RULE, FULL_URL_RULE]
        elif hasattr(authorizer, "rules_for"):
            found, errs = authorizer.rules_for(user, namespace)
            rules += found
            problems += errs
    return rules, problems


@on_create(GROUP, "selfsubjectrulesreviews")
async def self_subject_rules_review(req: ResourceRequest, body: dict) -> dict:
    spec = body.get("spec") or {}
    namespace = spec.get("namespace", "")
    rules, problems = rules_for(req.ctx.authorizer, req.user, namespace)
    resource_rules, url_rules = [], []
    for rule in rules:
        if rule.get("resources"):
            out = {"verbs": list(rule.get("verbs") or [])}
            for key in ("apiGroups", "resources", "resourceNames"):
                if rule.get(key):
                    out[key] = list(rule[key])
            resource_rules.append(out)
        if rule.get("nonResourceURLs"):
            url_rules.append({"verbs": list(rule.get("verbs") or []),
                              "nonResourceURLs": list(rule["nonResourceURLs"])})
    status: dict = {"resourceRules": resource_rules, "nonResourceRules": url_rules,
                    "incomplete": bool(problems)}
    if problems:
        status["evaluationError"] = ", ".join(problems)
    meta = dict(body.get("metadata") or {})
    meta["creationTimestamp"] = None
    return {"kind": "SelfSubjectRulesReview", "apiVersion": API_VERSION, "metadata": meta,
            "spec": spec, "status": status}
