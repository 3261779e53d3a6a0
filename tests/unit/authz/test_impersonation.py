"""Impersonation headers: who may act as whom, and the user that results."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from pyk8s.apiserver import errors
from pyk8s.apiserver.authz import ALLOW, NO_OPINION, Decision
from pyk8s.apiserver.authz.impersonation import impersonate
from pyk8s.apiserver.user import UserInfo


class Recorder:
    def __init__(self, allowed=True):
        self.asked = []
        self.allowed = allowed

    async def authorize(self, attrs):
        self.asked.append((attrs.verb, attrs.api_group, attrs.resource, attrs.subresource,
                           attrs.namespace, attrs.name))
        return Decision(ALLOW if self.allowed else NO_OPINION)


def request(*pairs):
    return SimpleNamespace(headers=CIMultiDictProxy(CIMultiDict(pairs)))


ADMIN = UserInfo("admin", groups=("system:masters",))


async def test_no_headers_keeps_the_user():
    assert await impersonate(request(), ADMIN, Recorder()) is ADMIN


async def test_user_and_groups():
    rec = Recorder()
    user = await impersonate(request(("Impersonate-User", "bob"), ("Impersonate-Group", "g1"),
                                     ("Impersonate-Group", "g2"), ("Impersonate-Uid", "42"),
                                     ("Impersonate-Extra-Scopes", "s")), ADMIN, rec)
    assert user == UserInfo("bob", "42", ("g1", "g2", "system:authenticated"),
                            {"scopes": ("s",)})
    assert rec.asked == [("impersonate", "", "users", "", "", "bob"),
                         ("impersonate", "", "groups", "", "", "g1"),
                         ("impersonate", "", "groups", "", "", "g2"),
                         ("impersonate", "authentication.k8s.io", "uids", "", "", "42"),
                         ("impersonate", "authentication.k8s.io", "userextras", "scopes", "",
                          "s")]


async def test_service_account_gets_its_groups():
    rec = Recorder()
    user = await impersonate(request(("Impersonate-User", "system:serviceaccount:ns:sa")),
                             ADMIN, rec)
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:ns",
                           "system:authenticated")
    assert rec.asked == [("impersonate", "", "serviceaccounts", "", "ns", "sa")]


async def test_refused_with_upstream_message():
    with pytest.raises(errors.APIError) as err:
        await impersonate(request(("Impersonate-User", "bob")), UserInfo("alice"),
                          Recorder(allowed=False))
    assert err.value.code == 403
    assert err.value.message == ('users "bob" is forbidden: User "alice" cannot impersonate '
                                 'resource "users" in API group "" at the cluster scope')
