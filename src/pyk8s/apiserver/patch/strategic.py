"""Strategic merge patch, as kube-apiserver applies ``application/strategic-merge-patch+json``.

Why it exists: client-side ``kubectl apply`` sends a three-way strategic merge patch
for every change to a built-in object, and ``kubectl patch``/``edit`` default to it.
The stored result must be what kube-apiserver stores, list order included.

Rules (k8s.io/apimachinery ``strategicpatch``, apply half, server-side options):
maps merge recursively and ``null`` deletes; lists are replaced unless the field's
``x-kubernetes-patch-strategy`` has ``merge``: lists of maps then merge by
``x-kubernetes-patch-merge-key``, lists of scalars as a set; strategy ``replace``
(PDB ``spec.selector``) replaces a map. Directives: ``$patch: replace|delete`` on
maps and as list items, ``$retainKeys``, ``$setElementOrder/<f>``,
``$deleteFromPrimitiveList/<f>``; ``$patch: merge`` is refused, as upstream does.
Order: ``$setElementOrder`` first, then the patch's order; items only on the server
keep their place relative to their neighbours. Fields the schema does not describe
have no metadata (lists replace, maps merge).

Values taken whole from the patch (new fields, replaced lists, added items) lose nulls
and directive keys, as kube-apiserver's typed decode would drop them. Errors carry
upstream's texts: bad directive lists 400, lists of lists 422, others (missing merge
key, ``$setElementOrder`` contradicting the patch list) a 400 BadRequest (upstream: a
500 with empty reason; pyk8s never answers bad input with a 5xx).
"""

from __future__ import annotations

from decimal import Decimal

from .. import schemas
from ..errors import APIError, bad_request
from .mergepatch import apply_merge_patch, decode_map_error, deep_copy

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder"
DELETE_PRIMITIVES = "$deleteFromPrimitiveList"

BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
BAD_SET_ORDER = "invalid patch format of setElementOrder list"


class _Failure(Exception):
    """An upstream error text plus the status it maps to (interpretStrategicMergePatchError)."""

    def __init__(self, message: str, code: int = 400):
        super().__init__(message)
        self.code = code

    def api_error(self) -> APIError:
        message = str(self)
        if self.code == 400:
            return bad_request(message)
        if self.code == 422:
            return APIError(422, "Invalid", "the server rejected our request due to an error in our request",
                            {"causes": [{"reason": "UnexpectedServerResponse", "message": message}]})
        return bad_request(message)


def apply_strategic_merge_patch(doc: dict, patch, schema: dict | None) -> dict:
    """Apply a strategic merge patch to ``doc`` using the kind's top-level JSON ``schema``.

    ``schema=None`` (no type information at all) applies ``patch`` as a JSON merge patch.
    """
    if patch is None:
        return deep_copy(doc)
    if not isinstance(patch, dict):
        raise decode_map_error(patch)
    if schema is None:
        return apply_merge_patch(doc, patch)
    original = deep_copy(doc) if isinstance(doc, dict) else {}
    try:
        return _merge_map(original, deep_copy(patch), schemas.resolve(schema))
    except _Failure as failure:
        raise failure.api_error() from None


# ---------------------------------------------------------------- schema metadata

def _field_meta(schema: dict | None, key: str) -> tuple[str, str, dict | None]:
    """(patch strategy without retainKeys, merge key, schema of the field) of ``key``."""
    if schema is None:
        return "", "", None
    prop = (schema.get("properties") or {}).get(key)
    if prop is None:
        extra = schema.get("additionalProperties")
        return "", "", schemas.resolve(extra) if isinstance(extra, dict) else None
    strategies = [s for s in prop.get("x-kubernetes-patch-strategy", "").split(",") if s]
    others = [s for s in strategies if s != "retainKeys"]
    if len(strategies) > 2 or (len(strategies) == 2 and len(others) != 1):
        raise _Failure(f"unexpected patch strategy: [{' '.join(strategies)}]")
    return (others[0] if others else ""), prop.get("x-kubernetes-patch-merge-key", ""), schemas.resolve(prop)


def _items_schema(field_schema: dict | None) -> dict | None:
    items = (field_schema or {}).get("items")
    return schemas.resolve(items) if isinstance(items, dict) else None


def _items_name(field_schema: dict | None) -> str:
    kind = ((field_schema or {}).get("items") or {}).get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    return kind if isinstance(kind, str) and kind != "object" else "struct"


# ---------------------------------------------------------------- Go-flavoured values

_GO_TYPES = {dict: "map[string]interface {}", list: "[]interface {}", str: "string", bool: "bool",
             int: "int64", float: "float64"}


def _go_type(value) -> str:
    """The Go dynamic type the value would have after kube-apiserver's decode."""
    return _GO_TYPES.get(type(value), "<nil>")


def _go_eq(a, b) -> bool:
    """Go interface equality: same dynamic type and equal value."""
    return _go_type(a) == _go_type(b) and a == b


def _go_fmt(value) -> str:
    """Go's ``%v`` rendering, used inside upstream error texts."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_fmt(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_fmt(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_float(value: float) -> str:
    """strconv's shortest 'g' form, as ``%v`` prints a float64 (1e+06, 0.5, 1.5e-07)."""
    if value != value or value in (float("inf"), float("-inf")):
        return "NaN" if value != value else ("+Inf" if value > 0 else "-Inf")
    number = Decimal(repr(value)).normalize()
    if number == 0:
        return "0"
    sign, digits, exponent = number.as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + exponent - 1  # decimal exponent of the first digit
    if point < -4 or point >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{'-' if sign else ''}{mantissa}e{'-' if point < 0 else '+'}{abs(point):02d}"
    return format(number, "f")


def _no_merge_key(item, key: str) -> _Failure:
    return _Failure(f"map: {_go_fmt(item)} does not contain declared merge key: {key}")


def _bad_arg_type(expected: str, actual) -> _Failure:
    got = _go_type(actual) if actual is not None else "%!s(<nil>)"
    return _Failure(f"expected a {expected}, but received a {got}")


def _element_kind(*lists: list) -> str | None:
    """The common Go type of the elements (sliceElementType); None when all are empty."""
    kind = None
    for lst in lists:
        for value in lst:
            current = _go_type(value)
            if kind is None:
                if current == "[]interface {}":
                    raise _Failure("lists of lists are not supported", 422)
                kind = current
            elif current != kind:
                raise _Failure(f"list element types are not identical: {_go_fmt(list(lists))}")
    return kind


# ---------------------------------------------------------------- values taken whole

_DROP = object()


def _is_directive_key(key: str) -> bool:
    return (key in (DIRECTIVE, RETAIN_KEYS) or key.startswith(SET_ORDER + "/")
            or key.startswith(DELETE_PRIMITIVES + "/"))


def _clean(value, drop_directive_maps: bool = False):
    """A patch value ready to store: null members and directive keys removed.

    With ``drop_directive_maps`` a map carrying ``$patch`` is dropped as a whole
    (upstream's removeDirectives, used for fields missing from the original).
    """
    if isinstance(value, dict):
        if drop_directive_maps and DIRECTIVE in value:
            return _DROP
        out = {}
        for key, item in value.items():
            if item is None or _is_directive_key(key):
                continue
            item = _clean(item, drop_directive_maps)
            if item is not _DROP:
                out[key] = item
        return out
    if isinstance(value, list):
        return [v for v in (_clean(item, drop_directive_maps) for item in value) if v is not _DROP]
    return value


def _extract_key(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise _Failure(BAD_PRIMITIVE_LIST if prefix == DELETE_PRIMITIVES else BAD_SET_ORDER, 400)
    return rest


# ---------------------------------------------------------------- maps

def _merge_map(original: dict | None, patch: dict, schema: dict | None) -> dict:
    """Merge ``patch`` into ``original`` (both owned by us, mutated) and return the result."""
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == "replace":
            return _clean(patch)
        if directive == "delete":
            return {}
        raise _Failure(f"unknown patch type: {_go_fmt(directive)} in map: {_go_fmt(patch)}")
    if original is None:
        original = {}
    _apply_retain_keys(original, patch)
    _apply_element_orders(original, patch, schema)

    for key, value in patch.items():
        delete_list = key.startswith(DELETE_PRIMITIVES)
        if delete_list:
            key = _extract_key(key, DELETE_PRIMITIVES)
        if value is None:
            original.pop(key, None)
            continue
        if key not in original or _go_type(original[key]) != _go_type(value):
            if not delete_list:
                cleaned = _clean(value, drop_directive_maps=True)
                if cleaned is _DROP:
                    original.pop(key, None)
                else:
                    original[key] = cleaned
            continue
        current = original[key]
        if isinstance(current, dict):
            strategy, _, field_schema = _field_meta(schema, key)
            original[key] = _clean(value) if strategy == "replace" else _merge_map(current, value, field_schema)
        elif isinstance(current, list):
            strategy, merge_key, field_schema = _field_meta(schema, key)
            original[key] = _merge_list_field(current, value, field_schema, strategy, merge_key, delete_list)
        else:
            original[key] = value
    return original


def _apply_retain_keys(original: dict, patch: dict) -> None:
    """``$retainKeys``: clear every field of ``original`` not listed."""
    if RETAIN_KEYS not in patch:
        return
    retained = patch.pop(RETAIN_KEYS)
    if not isinstance(retained, list):
        raise _Failure(BAD_RETAIN_KEYS, 400)
    keep = {k for k in retained if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key.startswith(DELETE_PRIMITIVES) or key.startswith(SET_ORDER):
            continue
        if key not in keep:
            raise _Failure(BAD_RETAIN_KEYS, 400)
    for key in [k for k in original if k not in keep]:
        del original[key]


def _apply_element_orders(original: dict, patch: dict, schema: dict | None) -> None:
    """``$setElementOrder/<f>``: merge list ``f`` and order it as the directive says."""
    for directive in [k for k in patch if k.startswith(SET_ORDER)]:
        order = patch.pop(directive)
        if not isinstance(order, list):
            raise _bad_arg_type("[]interface {}", order)
        key = _extract_key(directive, SET_ORDER)
        in_original, in_patch = key in original, key in patch
        current, wanted = original.get(key), patch.get(key)
        if in_original and not isinstance(current, list):
            raise _bad_arg_type("[]interface {}", current)
        if in_patch and not isinstance(wanted, list):
            raise _bad_arg_type("[]interface {}", wanted)
        strategy, merge_key, field_schema = _field_meta(schema, key)
        _check_order_matches(wanted or [], order, merge_key)
        if in_original and in_patch:
            # upstream orders by its slice of the original list, whose backing array the
            # merge has meanwhile edited in place (deletions shift, additions fill the tail)
            current = list(current)
            merged = _merge_list_field(list(current), wanted, field_schema, strategy, merge_key, False,
                                       backing=current)
        elif in_original:
            merged = current
        elif in_patch:
            merged = _clean(wanted, drop_directive_maps=True)
        else:
            continue
        if merge_key:
            listed, server_only = _partition_maps(merged, order, merge_key)
        else:
            listed, server_only = _partition_scalars(merged, order)
        if _element_kind(current or [], wanted or []) is not None:
            merged = _normalize_order(listed, server_only, order, current or [], merge_key)
        original[key] = merged
        patch.pop(key, None)


def _check_order_matches(patch_list: list, order: list, merge_key: str) -> None:
    """The patch list must be a subsequence of the ``$setElementOrder`` list."""
    if not order or not patch_list:
        return
    if merge_key:
        for item in patch_list:
            if not isinstance(item, dict):
                raise _bad_arg_type("map[string]interface {}", item)
        items = [v for v in patch_list if v.get(DIRECTIVE) != "delete"]
    else:
        items = patch_list
    i = j = 0
    while i < len(items) and j < len(order):
        if isinstance(items[i], dict) and DIRECTIVE in items[i]:
            i += 1
            continue
        if _merge_key_equal(items[i], order[j], merge_key):
            i += 1
        j += 1
    if i < len(items) and j >= len(order):
        raise _Failure(f"The order in patch list:\n{_go_fmt(patch_list)}\n doesn't match "
                       f"{SET_ORDER} list:\n{_go_fmt(order)}\n")


def _merge_key_equal(left, right, merge_key: str) -> bool:
    if not merge_key:
        return _go_eq(left, right)
    for item in (left, right):
        if not isinstance(item, dict):
            raise _bad_arg_type("map[string]interface {}", item)
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
    return _go_eq(left[merge_key], right[merge_key])


# ---------------------------------------------------------------- lists

def _merge_list_field(current: list, patch: list, field_schema: dict | None, strategy: str,
                      merge_key: str, delete_list: bool, backing: list | None = None) -> list:
    """Merge list field values; ``backing`` (optional) receives the in-place edits Go makes
    to the original slice's array (see _apply_element_orders)."""
    if strategy != "merge" and not delete_list:
        return _clean(patch)
    if not current and not patch:
        return current
    kind = _element_kind(current, patch)
    if kind != "map[string]interface {}":
        if delete_list:
            doomed = {_identity(v, "") for v in patch}
            return [v for v in current if _identity(v, "") not in doomed]
        unique: dict = {}
        for value in current + patch:
            unique.setdefault(_identity(value, ""), value)
        merged, order = list(unique.values()), patch
    else:
        if not merge_key:
            raise _Failure(f"cannot merge lists without merge key for {_items_name(field_schema)}")
        backing = backing if backing is not None else list(current)
        current, order, replaced = _apply_list_directives(backing, len(current), patch, merge_key)
        merged = _merge_items(current, order, merge_key, _items_schema(field_schema),
                              None if replaced else backing)
    if merge_key:
        listed, server_only = _partition_maps(merged, order, merge_key)
    else:
        listed, server_only = _partition_scalars(merged, order)
    return _normalize_order(listed, server_only, order, current, merge_key)


def _apply_list_directives(backing: list, length: int, patch: list,
                           merge_key: str) -> tuple[list, list, bool]:
    """Handle ``$patch`` items of a patch list over ``backing[:length]``.

    Returns (the list after deletions, the other patch items, whether it was replaced).
    Deletions shift ``backing`` in place like Go's ``append(s[:i], s[i+1:]...)``.
    """
    rest = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            rest.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            index = 0
            while index < length:
                value = backing[index]
                if merge_key in value and _go_eq(value[merge_key], item[merge_key]):
                    backing[index:length - 1] = backing[index + 1:length]
                    length -= 1
                else:
                    index += 1
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise _Failure("merging lists cannot yet be specified in the patch")
        else:
            raise _Failure(f"unknown patch type: {_go_fmt(directive)} in map: {_go_fmt(item)}")
    if replace:
        return _clean(rest), [], True
    return backing[:length], rest, False


def _merge_items(current: list, patch: list, merge_key: str, item_schema: dict | None,
                 backing: list | None) -> list:
    """Merge patch items into ``current`` by merge key; new ones are appended (and written
    into ``backing`` while they fall inside it, as Go's append does)."""
    merged = list(current)
    where = {}  # merge key -> index of its first item
    for index, existing in enumerate(merged):
        if merge_key in existing:
            where.setdefault(_identity(existing, merge_key), index)
    for item in patch:
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        index = where.get(_identity(item, merge_key))
        if index is not None:
            merged[index] = _merge_map(merged[index], item, item_schema)
        else:
            index = len(merged)
            where[_identity(item, merge_key)] = index
            merged.append(_clean(item))
        if backing is not None and index < len(backing):
            backing[index] = merged[index]
    return merged


def _identity(value, merge_key: str):
    """A hashable stand-in for Go's ``==`` on the item (maps: on their merge key value)."""
    if merge_key:
        value = value.get(merge_key) if isinstance(value, dict) else None
    try:
        hash(value)
    except TypeError:
        value = repr(value)
    return _go_type(value), value


def _positions(order: list, merge_key: str) -> dict:
    positions: dict = {}
    for index, item in enumerate(order):
        positions.setdefault(_identity(item, merge_key), index)
    return positions


def _partition_scalars(merged: list, listed_by: list) -> tuple[list, list]:
    listed = {_identity(p, "") for p in listed_by}
    inside = [v for v in merged if _identity(v, "") in listed]
    return inside, [v for v in merged if _identity(v, "") not in listed]


def _partition_maps(merged: list, listed_by: list, merge_key: str) -> tuple[list, list]:
    listed = {_identity(p, merge_key) for p in listed_by if isinstance(p, dict) and merge_key in p}
    inside, others = [], []
    for item in merged:
        if not isinstance(item, dict):
            raise _bad_arg_type("map[string]interface {}", item)
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        (inside if _identity(item, merge_key) in listed else others).append(item)
    return inside, others


def _sort_by(items: list, order: list, merge_key: str) -> list:
    """``items`` stably sorted by their position in ``order``; unlisted ones go last."""
    trailing = []
    if merge_key:
        for item in items + order:
            if not isinstance(item, dict):
                raise _bad_arg_type("map[string]interface {}", item)
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
        trailing = [v for v in items if v.get(DIRECTIVE) == "delete"]
        items = [v for v in items if v.get(DIRECTIVE) != "delete"]
    positions = _positions(order, merge_key)
    return sorted(items, key=lambda v: positions.get(_identity(v, merge_key), len(order))) + trailing


def _normalize_order(listed: list, server_only: list, listed_order: list, server_order: list,
                     merge_key: str) -> list:
    """Order ``listed`` items as ``listed_order`` and interleave the server-only ones so
    that each keeps its place relative to the items it preceded on the server."""
    listed = _sort_by(listed, listed_order, merge_key)
    server_only = _sort_by(server_only, server_order, merge_key)
    positions = _positions(server_order, merge_key)
    out: list = []
    i = j = 0
    while i < len(server_only) and j < len(listed):
        left = positions.get(_identity(server_only[i], merge_key), -1)
        right = positions.get(_identity(listed[j], merge_key), -1)
        if 0 <= left < right:
            out.append(server_only[i])
            i += 1
        else:
            out.append(listed[j])
            j += 1
    return out + server_only[i:] + listed[j:]
