"""Authorization: may this user do this verb on this resource or path?

Requests are described by :class:`Attributes` (authorizer.Attributes upstream) and
judged by a chain of authorizers; the first that allows or denies decides, and a
request no authorizer allows is refused with upstream's 403 message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .. import errors
from ..selectors import parse_field_selector
from ..user import MASTERS, UserInfo

ALLOW, DENY, NO_OPINION = "allow", "deny", "no-opinion"

PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")


@dataclass(frozen=True)
class Attributes:
    user: UserInfo
    verb: str
    resource_request: bool
    path: str = ""
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""


@dataclass(frozen=True)
class Decision:
    verdict: str
    reason: str = ""


class Authorizer(Protocol):
    async def authorize(self, attrs: Attributes) -> Decision: ...


class Chain:
    """Asks each authorizer in turn, as kube-apiserver's union authorizer."""

    def __init__(self, authorizers: list[Authorizer]) -> None:
        self.authorizers = authorizers

    async def authorize(self, attrs: Attributes) -> Decision:
        reasons = []
        for authorizer in self.authorizers:
            decision = await authorizer.authorize(attrs)
            if decision.verdict != NO_OPINION:
                return decision
            if decision.reason:
                reasons.append(decision.reason)
        return Decision(NO_OPINION, ", ".join(reasons))


class MastersAuthorizer:
    """system:masters may do anything (the privileged group, before RBAC)."""

    async def authorize(self, attrs: Attributes) -> Decision:
        if MASTERS in attrs.user.groups:
            return Decision(ALLOW)
        return Decision(NO_OPINION)


class PublicPathsAuthorizer:
    """Anyone may read health and version (RBAC's system:public-info-viewer)."""

    async def authorize(self, attrs: Attributes) -> Decision:
        if not attrs.resource_request and attrs.verb == "get" and (
                attrs.path in PUBLIC_PATHS or attrs.path.startswith(
                    tuple(p + "/" for p in PUBLIC_PATHS[:3]))):
            return Decision(ALLOW)
        return Decision(NO_OPINION)


class AlwaysAllowAuthorizer:
    """``--authorization-mode=AlwaysAllow``: every request is allowed."""

    async def authorize(self, attrs: Attributes) -> Decision:
        return Decision(ALLOW)

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[dict], list[str]]:
        return [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                {"verbs": ["*"], "nonResourceURLs": ["*"]}], []


class AlwaysDenyAuthorizer:
    """``--authorization-mode=AlwaysDeny``: no opinion on anything (so: refused)."""

    async def authorize(self, attrs: Attributes) -> Decision:
        return Decision(NO_OPINION, "Everything is forbidden.")


def default_authorizer() -> Chain:
    return Chain([MastersAuthorizer(), PublicPathsAuthorizer()])


MODES = ("AlwaysAllow", "AlwaysDeny", "Node", "RBAC")


def build(opts, ctx) -> Chain:
    """The authorizers named by ``--authorization-mode``, in its order, after
    system:masters. RBAC also serves the escalation check (ctx.config)."""
    from .escalation import RBAC_KEY
    from .node import CacheGraph, NodeAuthorizer
    from .rbac import CacheIndex, RBACAuthorizer

    authorizers: list[Authorizer] = [MastersAuthorizer(), PublicPathsAuthorizer()]
    for mode in (m.strip() for m in opts.authorization_mode.split(",")):
        if mode == "AlwaysAllow":
            authorizers.append(AlwaysAllowAuthorizer())
        elif mode == "AlwaysDeny":
            authorizers.append(AlwaysDenyAuthorizer())
        elif mode == "Node":
            authorizers.append(NodeAuthorizer(CacheGraph(ctx)))
        elif mode == "RBAC":
            rbac = RBACAuthorizer(CacheIndex(ctx))
            ctx.config[RBAC_KEY] = rbac
            authorizers.append(rbac)
        else:
            raise ValueError(f"unknown authorization mode {mode!r} (want one of "
                             f"{', '.join(MODES)})")
    return Chain(authorizers)


async def post_start(ctx) -> list:
    """With RBAC: write the default policy, make sure RBAC writes are checked for
    escalation (part of RBAC's storage upstream, not an optional plugin), and start
    ClusterRole aggregation (the returned background task)."""
    import asyncio

    from ..objects import ObjectStore
    from .aggregation import Aggregator
    from .escalation import RBAC_KEY, RBACEscalation
    from .reconcile import reconcile

    if RBAC_KEY not in ctx.config:
        return []
    plugins = ctx.admission.plugins
    if not any(isinstance(p, RBACEscalation) for p in plugins):
        plugins.append(RBACEscalation())
    objects = ObjectStore(ctx)
    await reconcile(ctx, objects)
    aggregator = Aggregator(ctx, objects)
    return [asyncio.create_task(aggregator.run(), name="clusterrole-aggregation")]


def forbidden_message(attrs: Attributes, reason: str = "") -> str:
    """``User "x" cannot list resource "pods" in API group "" in the namespace "y"``."""
    user = attrs.user.name
    if not attrs.resource_request:
        text = f'User "{user}" cannot {attrs.verb} path "{attrs.path}"'
    else:
        resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
        text = f'User "{user}" cannot {attrs.verb} resource "{resource}" in API group ' \
               f'"{attrs.api_group}"'
        if attrs.namespace:
            text += f' in the namespace "{attrs.namespace}"'
        else:
            text += " at the cluster scope"
    if reason:
        text += f": {reason}"
    return text


def forbidden(attrs: Attributes, reason: str = "") -> errors.APIError:
    message = forbidden_message(attrs, reason)
    if not attrs.resource_request:
        return errors.APIError(403, "Forbidden", f"forbidden: {message}", {})
    qualified = attrs.resource + (f".{attrs.api_group}" if attrs.api_group else "")
    if attrs.subresource:
        qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    subject = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    return errors.APIError(403, "Forbidden", f"{subject} is forbidden: {message}",
                           {"name": attrs.name, "group": attrs.api_group,
                            "kind": attrs.resource})


_READ_VERBS = {"GET": "get", "HEAD": "get"}
_WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}
_TRUE = ("1", "t", "T", "TRUE", "true", "True")


def attributes_for(method: str, path: str, info, query, user: UserInfo) -> Attributes:
    """Describe an HTTP request for the authorizers (RequestInfo + verb upstream)."""
    if info is None:
        return Attributes(user=user, verb=method.lower() if method != "HEAD" else "get",
                          resource_request=False, path=path)
    if method in _READ_VERBS:
        if info.watch_path or query.get("watch") in _TRUE:
            verb = "watch"
        elif info.name:
            verb = "get"
        else:
            verb = "list"
    elif method == "DELETE":
        verb = "delete" if info.name else "deletecollection"
    else:
        verb = _WRITE_VERBS.get(method, method.lower())
    namespace = info.namespace or ""
    if info.resource == "namespaces" and info.name and not info.namespace:
        namespace = info.name
    name = info.name or ""
    if verb in ("list", "watch") and not name:
        name = _selected_name(query.get("fieldSelector"))
    return Attributes(user=user, verb=verb, resource_request=True, path=path,
                      namespace=namespace, api_group=info.group, api_version=info.version,
                      resource=info.resource, subresource=info.subresource, name=name)


def _selected_name(field_selector: str | None) -> str:
    """The name a list or watch pins with ``fieldSelector=metadata.name=X``: upstream's
    RequestInfo takes it as the request's name, so the Node authorizer and RBAC's
    resourceNames can judge single-object watches."""
    try:
        name = parse_field_selector(field_selector).exact("metadata.name") or ""
    except errors.APIError:
        return ""
    if name in (".", "..") or "/" in name or "%" in name:
        return ""
    return name
