"""JSON patch (RFC 6902), as kube-apiserver applies ``application/json-patch+json``.

Why it exists: ``kubectl patch --type json``, ``kubectl rollout undo`` (Deployment),
admission webhooks' patches and many operators send RFC 6902 operation lists.

Behaviour follows the library kube-apiserver 1.32 uses (evanphx/json-patch v4.12),
including its quirks, because clients see them:

- ``replace`` of a missing object member succeeds and adds it (only a missing
  array index fails); ``copy`` from a missing member copies ``null``;
- negative array indices count from the end; ``-`` appends (``add`` only);
- ``test`` against a missing member passes only for ``"value": null``;
- ``test`` compares scalars as encoded text, so a patch's ``1.0`` never equals ``1``.

Errors: a body that is not a list of operation objects is 400 BadRequest; more than
10000 operations is 413; an operation that does not apply is 422 Invalid with the
message "the server rejected our request due to an error in our request" and the
library's own text as the cause, which is what kube-apiserver answers.
"""

from __future__ import annotations

import re

from ..errors import APIError, bad_request
from .mergepatch import deep_copy, json_kind

MAX_OPERATIONS = 10000

_INDEX = re.compile(r"[+-]?[0-9]+\Z")
_UNESCAPE = re.compile(r"~[01]")
_MISSING = "missing value"
_INVALID_INDEX = "invalid index referenced"


class _PatchError(Exception):
    """An operation that does not apply; becomes a 422."""


def apply_json_patch(doc: dict, ops) -> dict:
    """Apply the RFC 6902 operations ``ops`` to ``doc`` and return the result (a new object)."""
    _check_decodable(ops)
    if len(ops) > MAX_OPERATIONS:
        raise APIError(413, "RequestEntityTooLarge",
                       "Request entity too large: The allowed maximum operations in a JSON "
                       f"patch is {MAX_OPERATIONS}, got {len(ops)}")
    root = deep_copy(doc)
    try:
        for op in ops:
            root = _apply_one(root, op)
    except _PatchError as err:
        raise _unprocessable(str(err)) from None
    if not isinstance(root, dict):
        raise APIError(422, "Invalid",
                       f'"" is invalid: patch: Invalid value: "{json_kind(root)}": json: '
                       f"cannot unmarshal {json_kind(root)} into Go value of type "
                       "map[string]interface {}")
    return root


def _unprocessable(cause: str) -> APIError:
    # errors.NewGenericServerResponse(422, ...) upstream: fixed message, text as cause
    return APIError(422, "Invalid", "the server rejected our request due to an error in our request",
                    {"causes": [{"reason": "UnexpectedServerResponse", "message": cause}]})


def _check_decodable(ops) -> None:
    """The strict decode kube-apiserver runs first (into []jsonPatchOp): 400 on type errors."""
    prefix = "error decoding patch: json: cannot unmarshal"
    if not isinstance(ops, list):
        raise bad_request(f"{prefix} {json_kind(ops)} into Go value of type []handlers.jsonPatchOp")
    for op in ops:
        if not isinstance(op, dict):
            if op is None:
                continue
            raise bad_request(f"{prefix} {json_kind(op)} into Go value of type handlers.jsonPatchOp")
        for field in ("op", "path", "from"):
            value = op.get(field)
            if value is not None and not isinstance(value, str):
                raise bad_request(f"{prefix} {json_kind(value)} into Go struct field "
                                  f"jsonPatchOp.{field} of type string")


def _unescape(token: str) -> str:
    return _UNESCAPE.sub(lambda m: "/" if m.group(0) == "~1" else "~", token)


def _find_container(root, path: str):
    """(parent container, last token) for ``path``, or (None, "") when the parent is missing.

    Like upstream, the first segment is not looked at (a pointer must start with "/").
    """
    parts = path.split("/")
    if len(parts) < 2:
        return None, ""
    node = root
    for part in parts[1:-1]:
        try:
            node = _get(node, _unescape(part))
        except _PatchError:
            return None, ""
        if not isinstance(node, (dict, list)):
            return None, ""
    return node, _unescape(parts[-1])


def _atoi(key: str) -> int:
    if not _INDEX.match(key):
        raise _PatchError(f'strconv.Atoi: parsing "{key}": invalid syntax')
    return int(key)


def _bad_index(idx: int) -> _PatchError:
    return _PatchError(f"Unable to access invalid index: {idx}: {_INVALID_INDEX}")


def _list_index(lst: list, key: str) -> int:
    """An existing index of ``lst`` (negative counts from the end)."""
    idx = _atoi(key)
    size = len(lst)
    if idx < 0:
        if idx < -size:
            raise _bad_index(idx)
        idx += size
    if idx >= size:
        raise _bad_index(idx)
    return idx


def _get(node, key: str):
    if isinstance(node, dict):
        return node.get(key)
    return node[_list_index(node, key)]


def _set(node, key: str, value) -> None:
    if isinstance(node, dict):
        node[key] = value
    else:
        node[_list_index(node, key)] = value


def _add(node, key: str, value) -> None:
    if isinstance(node, dict):
        node[key] = value
        return
    if key == "-":
        node.append(value)
        return
    try:
        idx = _atoi(key)
    except _PatchError as err:
        raise _PatchError(f"value was not a proper array index: '{key}': {err}") from None
    size = len(node) + 1
    if idx >= size or idx < -size:
        raise _bad_index(idx)
    if idx < 0:
        idx += size
    node.insert(idx, value)


def _remove(node, key: str) -> None:
    if isinstance(node, dict):
        if key not in node:
            raise _PatchError(f"Unable to remove nonexistent key: {key}: {_MISSING}")
        del node[key]
    else:
        del node[_list_index(node, key)]


def _field(op: dict, name: str, missing: str) -> str:
    value = op.get(name)
    if value is None:
        raise _PatchError(missing)
    return value


def _apply_one(root, op):
    if not isinstance(op, dict):
        op = {}
    kind = op.get("op")
    kind = kind if isinstance(kind, str) else "unknown"
    handler = _OPERATIONS.get(kind)
    if handler is None:
        raise _PatchError(f"Unexpected kind: {kind}")
    return handler(root, op)


def _path(op: dict, what: str, wrap_cause: bool) -> str:
    try:
        return _field(op, "path", f"operation missing path field: {_MISSING}")
    except _PatchError as err:
        cause = str(err) if wrap_cause else _MISSING
        raise _PatchError(f"{what} operation failed to decode path: {cause}") from None


def _from(op: dict, what: str) -> str:
    try:
        return _field(op, "from", f"operation, missing from field: {_MISSING}")
    except _PatchError as err:
        raise _PatchError(f"{what} operation failed to decode from: {err}") from None


def _op_add(root, op):
    path = _path(op, "add", wrap_cause=False)
    node, key = _find_container(root, path)
    if node is None:
        raise _PatchError(f'add operation does not apply: doc is missing path: "{path}": {_MISSING}')
    try:
        _add(node, key, deep_copy(op.get("value")))
    except _PatchError as err:
        raise _PatchError(f"error in add for path: '{path}': {err}") from None
    return root


def _op_remove(root, op):
    path = _path(op, "remove", wrap_cause=False)
    node, key = _find_container(root, path)
    if node is None:
        raise _PatchError(f'remove operation does not apply: doc is missing path: "{path}": {_MISSING}')
    try:
        _remove(node, key)
    except _PatchError as err:
        raise _PatchError(f"error in remove for path: '{path}': {err}") from None
    return root


def _op_replace(root, op):
    path = _path(op, "replace", wrap_cause=True)
    value = deep_copy(op.get("value"))
    if path == "":
        # the whole document; a scalar value is silently ignored upstream
        return value if isinstance(value, (dict, list)) else root
    node, key = _find_container(root, path)
    if node is None:
        raise _PatchError(f"replace operation does not apply: doc is missing path: {path}: {_MISSING}")
    try:
        _get(node, key)
    except _PatchError:
        raise _PatchError(f"replace operation does not apply: doc is missing key: {path}: "
                          f"{_MISSING}") from None
    _set(node, key, value)
    return root


def _op_move(root, op):
    source = _from(op, "move")
    node, key = _find_container(root, source)
    if node is None:
        raise _PatchError(f"move operation does not apply: doc is missing from path: {source}: "
                          f"{_MISSING}")
    try:
        value = _get(node, key)
        _remove(node, key)
    except _PatchError as err:
        raise _PatchError(f"error in move for path: '{key}': {err}") from None
    path = _path(op, "move", wrap_cause=True)
    node, key = _find_container(root, path)
    if node is None:
        raise _PatchError(f"move operation does not apply: doc is missing destination path: {path}: "
                          f"{_MISSING}")
    try:
        _add(node, key, value)
    except _PatchError as err:
        raise _PatchError(f"error in move for path: '{path}': {err}") from None
    return root


def _op_copy(root, op):
    source = _from(op, "copy")
    node, key = _find_container(root, source)
    if node is None:
        raise _PatchError(f"copy operation does not apply: doc is missing from path: {source}: "
                          f"{_MISSING}")
    try:
        value = _get(node, key)
    except _PatchError as err:
        raise _PatchError(f"error in copy for from: '{source}': {err}") from None
    path = _path(op, "copy", wrap_cause=False)
    node, key = _find_container(root, path)
    if node is None:
        raise _PatchError(f"copy operation does not apply: doc is missing destination path: {path}: "
                          f"{_MISSING}")
    try:
        _add(node, key, deep_copy(value))
    except _PatchError as err:
        raise _PatchError(f"error while adding value during copy: {err}") from None
    return root


def _op_test(root, op):
    path = _path(op, "test", wrap_cause=True)
    failed = _PatchError(f"testing value {path} failed: test failed")
    if path == "":
        if "value" in op and json_equal(root, op["value"]):
            return root
        raise failed
    node, key = _find_container(root, path)
    if node is None:
        raise _PatchError(f"test operation does not apply: is missing path: {path}: {_MISSING}")
    try:
        current = _get(node, key)
    except _PatchError as err:
        raise _PatchError(f"error in test for path: '{path}': {err}") from None
    if "value" not in op:
        raise failed
    if current is None:
        if op["value"] is None:
            return root
        raise failed
    if json_equal(current, op["value"]):
        return root
    raise failed


_OPERATIONS = {"add": _op_add, "remove": _op_remove, "replace": _op_replace,
               "move": _op_move, "copy": _op_copy, "test": _op_test}


def json_equal(current, wanted) -> bool:
    """Whether the document value ``current`` equals the patch value ``wanted``.

    Upstream compares scalars by their encoded bytes: the document's as Go encodes it
    (an integral number prints as ``1``), the patch's as sent. So a patch number written
    with a fraction or exponent (``1.0``, ``1e3``, decoded here as an integral float)
    never equals, and bools never equal numbers.
    """
    if isinstance(current, dict):
        return (isinstance(wanted, dict) and current.keys() == wanted.keys()
                and all(json_equal(v, wanted[k]) for k, v in current.items()))
    if isinstance(current, list):
        return (isinstance(wanted, list) and len(current) == len(wanted)
                and all(json_equal(x, y) for x, y in zip(current, wanted)))
    if isinstance(current, bool) or isinstance(wanted, bool) or current is None or wanted is None:
        return type(current) is type(wanted) and current == wanted
    if isinstance(current, (int, float)) and isinstance(wanted, (int, float)):
        if isinstance(wanted, float) and wanted.is_integer():
            return False
        return current == wanted
    return type(current) is type(wanted) and current == wanted
