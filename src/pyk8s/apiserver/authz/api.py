"""The authorization.k8s.io API: SubjectAccessReview and its self/local/rules forms,
answered by the same authorizer chain that guards every request."""

from __future__ import annotations
