"""JSON merge patch (RFC 7386), as kube-apiserver applies ``application/merge-patch+json``.

Why it exists: ``kubectl patch --type merge``, ``kubectl scale`` (``{"spec":{"replicas":N}}``),
client-side apply of custom resources and most controllers send merge patches.

Semantics follow the library kube-apiserver uses (evanphx/json-patch v4 ``MergePatch``):
objects merge recursively, ``null`` deletes a key, anything else replaces. Where the
value is taken whole from the patch (the key is new, or the current value is not an
object) nulls inside its objects are pruned, while nulls that are list elements stay.

This module also holds the small JSON helpers the sibling patch modules share.
"""

from __future__ import annotations

from ..errors import APIError, bad_request


def deep_copy(value):
    """A copy of a JSON value that shares no dict or list with it."""
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value


def json_kind(value) -> str:
    """The JSON kind Go's decoder names in "cannot unmarshal <kind> into ..." errors."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    return "number"


def decode_map_error(value, prefix: str = "") -> APIError:
    """400 for a patch body that is not a JSON object (Go: decoding into map[string]interface{})."""
    return bad_request(f"{prefix}json: cannot unmarshal {json_kind(value)} into Go value of type "
                       "map[string]interface {}")


def apply_merge_patch(doc: dict, patch) -> dict:
    """Apply an RFC 7386 merge patch to ``doc`` and return the result (a new object).

    A ``null`` patch is "Invalid JSON Patch" and any other non-object body fails to
    decode; both are 400 BadRequest as in kube-apiserver.
    """
    if patch is None:
        raise bad_request("Invalid JSON Patch")
    if not isinstance(patch, dict):
        raise decode_map_error(patch, "error decoding patch: ")
    result = deep_copy(doc) if isinstance(doc, dict) else {}
    _merge_objects(result, patch)
    return result


def _merge_objects(doc: dict, patch: dict) -> None:
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
            continue
        current = doc.get(key)
        if current is None:
            doc[key] = prune_nulls(deep_copy(value))
        elif not isinstance(current, dict):
            doc[key] = prune_nulls(deep_copy(value))
        elif not isinstance(value, dict):
            # an object replaced by a non-object: taken as is (upstream does not prune here)
            doc[key] = deep_copy(value)
        else:
            _merge_objects(current, value)


def prune_nulls(value):
    """Drop null members of objects, recursively (also inside lists); keeps null list elements."""
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for v in value.values():
            prune_nulls(v)
    elif isinstance(value, list):
        for v in value:
            if v is not None:
                prune_nulls(v)
    return value
