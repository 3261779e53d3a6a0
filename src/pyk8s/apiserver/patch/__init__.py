"""The three PATCH formats kube-apiserver accepts besides server-side apply.

Each applies a patch document to a plain JSON object (dicts, lists, scalars) and
returns a new object; the input document and the patch are never mutated. Errors
are :class:`pyk8s.apiserver.errors.APIError` with the status codes and messages
kube-apiserver answers for the same bad patch.

- :func:`apply_json_patch`: RFC 6902, ``application/json-patch+json``.
- :func:`apply_merge_patch`: RFC 7386, ``application/merge-patch+json``.
- :func:`apply_strategic_merge_patch`: ``application/strategic-merge-patch+json``,
  what ``kubectl apply`` (client-side), ``kubectl edit`` and ``kubectl patch`` send.
"""

from .jsonpatch import apply_json_patch
from .mergepatch import apply_merge_patch
from .strategic import apply_strategic_merge_patch

__all__ = ["apply_json_patch", "apply_merge_patch", "apply_strategic_merge_patch"]
