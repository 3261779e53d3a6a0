"""The /openapi/v3 and /openapi/v2 documents kube-apiserver publishes, built from data.

Why this exists: ``kubectl apply``/``create`` (default ``--validate=strict``) first
fetch ``/openapi/v3`` and the group-version document of each object to check that
its PATCH operations accept ``fieldValidation``; if that fails kubectl falls back to
``/openapi/v2`` *as protobuf only*, and failing both aborts the command ("failed to
download openapi"). ``kubectl explain`` renders the same v3 documents, and client-side
apply reads their ``x-kubernetes-patch-strategy``/``-merge-key`` to build strategic
merge patches. v2 is served as JSON (the Python client, kopf) and as gnostic
protobuf (:mod:`.v2proto`), which kubectl needs for client-side validation of kinds
no server knows, such as ``kind: List`` files.

Everything here is pure and cached; HTTP handlers only call:

* :func:`v3_index` - body of ``GET /openapi/v3``;
* :func:`v3_document_for_path` / :func:`v3_document_and_hash` - body (and ETag hash) of
  ``GET /openapi/v3/<path>`` for each path the index lists;
* :func:`v3_document` - one group-version's document;
* :func:`v2_document` - body of ``GET /openapi/v2`` (JSON; protobuf in v2proto).

Custom resources (later) add their kinds' schemas with :func:`register_definition`
keyed by GVK; documents and field validation pick them up (caches are keyed by
:func:`definitions.generation`).
"""

from .definitions import register_definition, unregister_definition
from .documents import (
    KUBERNETES_VERSION,
    document_hash,
    index_paths,
    v2_document,
    v2_document_and_hash,
    v3_document,
    v3_document_and_hash,
    v3_document_for_path,
    v3_index,
)

__all__ = [
    "KUBERNETES_VERSION",
    "document_hash",
    "index_paths",
    "register_definition",
    "unregister_definition",
    "v2_document",
    "v2_document_and_hash",
    "v3_document",
    "v3_document_and_hash",
    "v3_document_for_path",
    "v3_index",
]
