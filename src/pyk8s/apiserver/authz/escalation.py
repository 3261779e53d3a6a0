"""Privilege escalation prevention for RBAC writes (registry/rbac/validation upstream).

Nobody may grant what they do not hold: a Role or ClusterRole may carry only rules
its writer already has (in that namespace, or cluster-wide for ClusterRoles), and
a binding may refer only to a role whose rules its writer holds, unless the writer
is allowed the ``escalate`` verb on the role resource, respectively ``bind`` on
the role. system:masters is exempt. Implemented as a validating admission plugin
so dry runs and every write path are covered.
"""

from __future__ import annotations

from .. import errors
from ..admission import AdmissionPlugin, AdmissionRequest
from ..user import MASTERS, UserInfo
from . import ALLOW, Attributes
from .policydata import GROUP
from .rules import compact, compact_string, uncovered

RBAC_KEY = "rbac_authorizer"  # ServerContext.config entry holding the RBACAuthorizer
FULL_AUTHORITY = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                  {"nonResourceURLs": ["*"], "verbs": ["*"]}]


def _go_groups(groups) -> str:
    return "[" + " ".join(f'"{g}"' for g in groups) + "]"


def escalation_message(user: UserInfo, missing: list[dict], resolution_errors: list[str]) -> str:
    lines = sorted({compact_string(r) for r in compact(missing)})
    text = (f'user "{user.name}" (groups={_go_groups(user.groups)}) is attempting to grant RBAC '
            "permissions not currently held:\n" + "\n".join(lines))
    if resolution_errors:
        text += f"; resolution errors: [{', '.join(resolution_errors)}]"
    return text


class RBACEscalation(AdmissionPlugin):
    """Refuses Role/ClusterRole/binding writes that would grant permissions not held."""

    name = "RBACEscalation"

    async def validate(self, ctx, req: AdmissionRequest) -> None:
        rt = req.rt
        if rt.group != GROUP or req.operation not in ("CREATE", "UPDATE") or req.subresource:
            return
        rbac = ctx.config.get(RBAC_KEY)
        if rbac is None or MASTERS in req.user.groups or req.object is None:
            return
        namespace = req.namespace or ""
        if rt.plural in ("roles", "clusterroles"):
            await self._check_role(ctx, rbac, req, namespace)
        elif rt.plural in ("rolebindings", "clusterrolebindings"):
            await self._check_binding(ctx, rbac, req, namespace)

    async def _allowed(self, ctx, user: UserInfo, verb: str, resource: str, namespace: str,
                       name: str) -> bool:
        attrs = Attributes(user=user, verb=verb, resource_request=True, namespace=namespace,
                           api_group=GROUP, api_version="v1", resource=resource, name=name)
        return (await ctx.authorizer.authorize(attrs)).verdict == ALLOW

    def _confirm(self, rbac, req: AdmissionRequest, namespace: str, wanted: list[dict]) -> None:
        held, resolution_errors = rbac.rules_for(req.user, namespace)
        missing = uncovered(held, wanted)
        if missing:
            raise errors.forbidden_error(GROUP, req.rt.plural, req.name, escalation_message(
                req.user, missing, resolution_errors))

    async def _check_role(self, ctx, rbac, req: AdmissionRequest, namespace: str) -> None:
        new, old = req.object, req.old_object
        if old is not None and (new.get("rules") or []) == (old.get("rules") or []) and \
                new.get("aggregationRule") == old.get("aggregationRule"):
            return
        if await self._allowed(ctx, req.user, "escalate", req.rt.plural, namespace, req.name):
            return
        if new.get("aggregationRule") and (
                old is None or new.get("aggregationRule") != old.get("aggregationRule")):
            self._confirm(rbac, req, namespace, FULL_AUTHORITY)
        self._confirm(rbac, req, namespace, new.get("rules") or [])

    async def _check_binding(self, ctx, rbac, req: AdmissionRequest, namespace: str) -> None:
        ref = req.object.get("roleRef") or {}
        if req.old_object is not None and req.old_object.get("roleRef") == ref:
            return
        kind, name = ref.get("kind", ""), ref.get("name", "")
        plural = "clusterroles" if kind == "ClusterRole" else "roles"
        if await self._allowed(ctx, req.user, "bind", plural, namespace, name):
            return
        index = rbac.index
        if kind == "ClusterRole":
            rules = index.cluster_roles.get(name)
        else:
            rules = index.roles.get((namespace, name))
        if rules is None:
            raise errors.not_found(GROUP, plural, name)
        self._confirm(rbac, req, namespace, rules)
