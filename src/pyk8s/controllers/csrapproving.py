"""CSR approving controller: approves kubelet client certificates the requester may get.

A kubelet joining with a bootstrap token, or renewing its own client certificate, asks for a
``kubernetes.io/kube-apiserver-client-kubelet`` certificate. As upstream's csrapproving
(sarapprove.go), a pending CSR of that kubelet-client shape is recognized as

* ``selfnodeclient`` when the requester (``spec.username``) is the node named in the CN
  (a renewal), and as
* ``nodeclient`` in any case (a new node);

for each recognition in that order a SubjectAccessReview asks whether the requester (with the
groups, uid and extra the API server recorded on the CSR) may ``create``
``certificatesigningrequests/<subresource>``; the first allowed one approves it through the
``/approval`` subresource with reason AutoApproved. A CSR recognized but allowed by none is
retried with backoff (RBAC may change), as upstream; anything else is left to humans. The
approver never denies.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from ..client import NotFound
from . import register
from .base import Controller
from .util.csr import (
    KUBE_APISERVER_CLIENT_KUBELET,
    Request,
    RequestError,
    approval,
    kubelet_client_problem,
    parse_request,
    usages_of,
)
from .util.times import format_time

CERTIFICATES_GROUP = "certificates.k8s.io"


@dataclass(frozen=True)
class Recognizer:
    subresource: str
    message: str


SELF_NODE_CLIENT = Recognizer(
    "selfnodeclient", "Auto approving self kubelet client certificate after SubjectAccessReview.")
NODE_CLIENT = Recognizer(
    "nodeclient", "Auto approving kubelet client certificate after SubjectAccessReview.")


class NotApproved(Exception):
    """Recognized, but no SubjectAccessReview allowed it; retried with backoff."""


def needs_decision(obj: dict) -> bool:
    """Pending: no certificate issued, neither approved nor denied."""
    approved, denied = approval(obj)
    return not (obj.get("status") or {}).get("certificate") and not approved and not denied


def recognize(obj: dict, req: Request) -> list[Recognizer]:
    """The permissions to check for this CSR, in order (empty: not a kubelet client CSR)."""
    spec = obj.get("spec") or {}
    if spec.get("signerName") != KUBE_APISERVER_CLIENT_KUBELET:
        return []
    if kubelet_client_problem(req, usages_of(obj)) is not None:
        return []
    if spec.get("username") == req.common_name:
        return [SELF_NODE_CLIENT, NODE_CLIENT]
    return [NODE_CLIENT]


def access_review(obj: dict, subresource: str) -> dict:
    """The SubjectAccessReview asking whether the CSR's requester may create ``subresource``."""
    spec = obj.get("spec") or {}
    review = {"user": spec.get("username") or "", "groups": list(spec.get("groups") or ()),
              "resourceAttributes": {"group": CERTIFICATES_GROUP,
                                     "resource": "certificatesigningrequests",
                                     "verb": "create", "subresource": subresource}}
    if spec.get("uid"):
        review["uid"] = spec["uid"]
    if spec.get("extra"):
        review["extra"] = spec["extra"]
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": review}


def approved_copy(obj: dict, message: str, now: str) -> dict:
    """A copy of the CSR with the AutoApproved condition appended."""
    out = copy.deepcopy(obj)
    status = out.setdefault("status", {})
    status["conditions"] = list(status.get("conditions") or ()) + [{
        "type": "Approved", "status": "True", "reason": "AutoApproved", "message": message,
        "lastUpdateTime": now, "lastTransitionTime": now}]
    return out


@register("csrapproving")
class CSRApprovingController(Controller):
    def setup(self) -> None:
        self.csrs = self.ctx.informers.informer("certificates.k8s.io/v1",
                                                "CertificateSigningRequest")
        self.csrs.add_event_handler(on_add=self.enqueue,
                                    on_update=lambda old, new: self.enqueue(new))
        self.api = self.client.api("certificates.k8s.io/v1", "CertificateSigningRequest")
        self.reviews = self.client.api("authorization.k8s.io/v1", "SubjectAccessReview")

    async def sync(self, key: str) -> None:
        obj = self.csrs.store.get(key)
        if obj is None or not needs_decision(obj):
            return
        try:
            req = parse_request(obj)
        except RequestError as err:
            # spec is immutable: the next update of this CSR brings it back, nothing else will
            self.log.info("csr %s: %s", key, err)
            return
        tried = recognize(obj, req)
        for recognizer in tried:
            review = await self.reviews.create(access_review(obj, recognizer.subresource))
            if (review.get("status") or {}).get("allowed"):
                await self._approve(obj, recognizer)
                return
        if tried:
            raise NotApproved(f"recognized csr {key!r} as "
                              f"{[r.subresource for r in tried]} but subject access review "
                              "was not approved")

    async def _approve(self, obj: dict, recognizer: Recognizer) -> None:
        try:
            await self.api.update(approved_copy(obj, recognizer.message, format_time()),
                                  subresource="approval")
        except NotFound:
            return
        self.log.info("approved csr %s (%s)", obj["metadata"]["name"], recognizer.subresource)
