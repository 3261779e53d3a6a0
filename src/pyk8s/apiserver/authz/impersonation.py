"""User impersonation: ``Impersonate-User``/``-Group``/``-Uid``/``-Extra-*`` headers.

``kubectl --as=bob --as-group=dev`` sends these; the request then runs as the
impersonated user, provided the real user may ``impersonate`` each part (users,
serviceaccounts, groups, uids, userextras), as upstream's impersonation filter.
"""

from __future__ import annotations

from urllib.parse import unquote

from .. import errors
from ..user import ANONYMOUS, AUTHENTICATED, UNAUTHENTICATED, UserInfo
from . import ALLOW, Attributes, forbidden

USER, GROUP, UID = "Impersonate-User", "Impersonate-Group", "Impersonate-Uid"
EXTRA_PREFIX = "Impersonate-Extra-"
SA_PREFIX = "system:serviceaccount:"


def _split_sa(name: str) -> tuple[str, str] | None:
    if not name.startswith(SA_PREFIX):
        return None
    namespace, colon, sa = name[len(SA_PREFIX):].partition(":")
    if not colon or not namespace or not sa or ":" in sa:
        return None
    return namespace, sa


def _requests(headers) -> tuple[str, list[str], str | None, dict[str, list[str]]]:
    name = headers.get(USER, "")
    groups = headers.getall(GROUP, [])
    uid = headers.get(UID)
    extra: dict[str, list[str]] = {}
    for key, value in headers.items():
        if key.lower().startswith(EXTRA_PREFIX.lower()):
            extra.setdefault(unquote(key[len(EXTRA_PREFIX):]).lower(), []).append(value)
    return name, list(groups), uid, extra


async def _check(authorizer, attrs: Attributes) -> None:
    decision = await authorizer.authorize(attrs)
    if decision.verdict != ALLOW:
        raise forbidden(attrs, decision.reason)


async def impersonate(request, user: UserInfo, authorizer) -> UserInfo:
    """The user the request acts as: ``user`` itself unless it asks to impersonate."""
    headers = request.headers
    name, groups, uid, extra = _requests(headers)
    if not name and not groups and uid is None and not extra:
        return user
    if not name:
        raise errors.APIError(500, "InternalError", "Internal error occurred: requested "
                              "impersonation of groups, uid or extra without impersonating "
                              "a user")

    def attrs(resource: str, target: str, group: str = "", namespace: str = "",
              subresource: str = "") -> Attributes:
        return Attributes(user=user, verb="impersonate", resource_request=True,
                          namespace=namespace, api_group=group, resource=resource,
                          subresource=subresource, name=target)

    requested_groups = list(groups)
    sa = _split_sa(name)
    if sa is not None:
        await _check(authorizer, attrs("serviceaccounts", sa[1], namespace=sa[0]))
        if not groups:
            groups = ["system:serviceaccounts", f"system:serviceaccounts:{sa[0]}"]
    else:
        await _check(authorizer, attrs("users", name))
    for group in requested_groups:
        await _check(authorizer, attrs("groups", group))
    if uid is not None:
        await _check(authorizer, attrs("uids", uid, group="authentication.k8s.io"))
    for key, values in extra.items():
        for value in values:
            await _check(authorizer, attrs("userextras", value, group="authentication.k8s.io",
                                           subresource=key))
    if name != ANONYMOUS and not any(g in (AUTHENTICATED, UNAUTHENTICATED) for g in groups):
        groups.append(AUTHENTICATED)
    return UserInfo(name, uid or "", tuple(groups), {k: tuple(v) for k, v in extra.items()})

