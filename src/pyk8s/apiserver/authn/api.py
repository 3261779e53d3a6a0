"""The authentication.k8s.io API: who am I (SelfSubjectReview), who is this token
(TokenReview), and tokens for service accounts (serviceaccounts/NAME/token)."""

from __future__ import annotations

from ..handlers.common import ResourceRequest
from ..handlers.extensions import on_create
from ..objects import now_rfc3339


@on_create("authentication.k8s.io", "selfsubjectreviews")
async def self_subject_review(req: ResourceRequest, body: dict) -> dict:
    """``kubectl auth whoami``: echo the authenticated user back."""
    return {
        "kind": "SelfSubjectReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": now_rfc3339()},
        "status": {"userInfo": req.user.as_dict()},
    }
