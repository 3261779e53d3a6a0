"""Validation of custom objects against a CRD version's ``openAPIV3Schema``.

Why this exists: custom resources have no Python strategy of their own, so every
constraint a CRD author writes (types, required, enum, bounds, lengths, patterns,
formats, list types...) must be checked here, and reported with the field paths and
words kube-apiserver uses (kube-openapi's validator as translated by
apiextensions-apiserver), e.g.::

    spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"

:func:`validate` walks a value and its schema together and returns
:class:`~pyk8s.apiserver.errors.FieldError` s; CEL rules are evaluated separately
(:mod:`.celrules`).
"""

from __future__ import annotations

import datetime
import re
from functools import lru_cache

from .. import errors
from ..errors import FieldError

PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"
EMBEDDED = "x-kubernetes-embedded-resource"


def json_type(value: object) -> str:
    """The JSON type name of a decoded value, as the validator words it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_matches(wanted: str, value: object) -> bool:
    actual = json_type(value)
    if wanted == actual:
        return True
    if wanted == "number" and actual == "integer":
        return True
    return wanted == "integer" and isinstance(value, float) and value.is_integer()


def validate(value: object, schema: dict | None, path: str = "") -> list[FieldError]:
    """Errors of ``value`` against ``schema`` (a node of a structural schema)."""
    if not schema:
        return []
    out: list[FieldError] = []
    _check(value, schema, path, out)
    return out


def _check(value: object, schema: dict, path: str, out: list[FieldError]) -> None:
    if value is None:
        if not schema.get("nullable") and schema.get("type"):
            out.append(_wrong_type(path, value, schema["type"]))
        return
    if schema.get(INT_OR_STRING):
        if json_type(value) not in ("integer", "string"):
            out.append(_wrong_type(path, value, "integer,string"))
            return
    else:
        wanted = schema.get("type")
        if wanted and not _type_matches(wanted, value):
            out.append(_wrong_type(path, value, wanted))
            return
    _check_enum(value, schema, path, out)
    if isinstance(value, str):
        _check_string(value, schema, path, out)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, path, out)
    elif isinstance(value, list):
        _check_list(value, schema, path, out)
    elif isinstance(value, dict):
        _check_object(value, schema, path, out)
    for sub in schema.get("allOf") or ():
        _check(value, sub, path, out)


def _wrong_type(path: str, value: object, wanted: str) -> FieldError:
    actual = json_type(value)
    return errors.invalid(path, actual, f'{path} in body must be of type {wanted}: "{actual}"')


def _check_enum(value: object, schema: dict, path: str, out: list[FieldError]) -> None:
    enum = schema.get("enum")
    if enum and value not in enum:
        out.append(errors.FieldError(
            "FieldValueNotSupported", path,
            "supported values: " + ", ".join(_enum_text(v) for v in enum), value))


def _enum_text(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else errors._quote(value)


def _check_string(value: str, schema: dict, path: str, out: list[FieldError]) -> None:
    max_len, min_len = schema.get("maxLength"), schema.get("minLength")
    if max_len is not None and len(value) > max_len:
        unit = "byte" if max_len == 1 else "bytes"
        out.append(FieldError("FieldValueTooLong", path,
                              f"may not be more than {max_len} {unit}", value))
    if min_len is not None and len(value) < min_len:
        out.append(errors.invalid(path, value,
                                  f"{path} in body should be at least {min_len} chars long"))
    pattern = schema.get("pattern")
    if pattern and not _regex(pattern).search(value):
        out.append(errors.invalid(path, value, f"{path} in body should match '{pattern}'"))
    fmt = schema.get("format")
    if fmt and not format_ok(fmt, value):
        out.append(errors.invalid(path, value, f"{path} in body must be of type {fmt}: "
                                               f'"{value}"'))


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _check_number(value: float, schema: dict, path: str, out: list[FieldError]) -> None:
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    if minimum is not None:
        if schema.get("exclusiveMinimum") and value <= minimum:
            out.append(errors.invalid(path, value,
                                      f"{path} in body should be greater than {_num(minimum)}"))
        elif value < minimum:
            out.append(errors.invalid(
                path, value, f"{path} in body should be greater than or equal to {_num(minimum)}"))
    if maximum is not None:
        if schema.get("exclusiveMaximum") and value >= maximum:
            out.append(errors.invalid(path, value,
                                      f"{path} in body should be less than {_num(maximum)}"))
        elif value > maximum:
            out.append(errors.invalid(
                path, value, f"{path} in body should be less than or equal to {_num(maximum)}"))
    multiple = schema.get("multipleOf")
    if multiple and (value / multiple) != int(value / multiple):
        out.append(errors.invalid(path, value,
                                  f"{path} in body should be a multiple of {_num(multiple)}"))
    fmt = schema.get("format")
    if fmt in ("int32", "int64") and not format_ok(fmt, value):
        out.append(errors.invalid(path, value, f"{path} in body must be of type {fmt}: "
                                               f'"{value}"'))


def _num(value: float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _check_list(value: list, schema: dict, path: str, out: list[FieldError]) -> None:
    max_items, min_items = schema.get("maxItems"), schema.get("minItems")
    if max_items is not None and len(value) > max_items:
        out.append(FieldError("FieldValueTooMany", path,
                              f"{len(value)}: must have at most {max_items} items", value))
    if min_items is not None and len(value) < min_items:
        out.append(errors.invalid(path, value,
                                  f"{path} in body should have at least {min_items} items"))
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _check(item, items, f"{path}[{i}]", out)
    list_type = schema.get("x-kubernetes-list-type")
    if schema.get("uniqueItems") or list_type == "set":
        _check_unique(value, path, out)
    elif list_type == "map":
        _check_map_keys(value, schema.get("x-kubernetes-list-map-keys") or [], path, out)


def _check_unique(value: list, path: str, out: list[FieldError]) -> None:
    seen: list = []
    for i, item in enumerate(value):
        if item in seen:
            out.append(errors.duplicate(f"{path}[{i}]", item))
        else:
            seen.append(item)


def _check_map_keys(value: list, keys: list[str], path: str, out: list[FieldError]) -> None:
    seen: list = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            continue
        key = {k: item.get(k) for k in keys}
        if key in seen:
            out.append(errors.duplicate(f"{path}[{i}]", key))
        else:
            seen.append(key)


def _check_object(value: dict, schema: dict, path: str, out: list[FieldError]) -> None:
    for name in schema.get("required") or ():
        if name not in value:
            out.append(errors.required(join(path, name)))
    max_p, min_p = schema.get("maxProperties"), schema.get("minProperties")
    if max_p is not None and len(value) > max_p:
        out.append(FieldError("FieldValueTooMany", path,
                              f"{len(value)}: must have at most {max_p} items", value))
    if min_p is not None and len(value) < min_p:
        out.append(errors.invalid(path, value,
                                  f"{path} in body should have at least {min_p} properties"))
    if schema.get(EMBEDDED):
        _check_embedded(value, path, out)
    props = schema.get("properties") or {}
    addl = schema.get("additionalProperties")
    for key, item in value.items():
        sub = props.get(key)
        if sub is None and isinstance(addl, dict):
            sub = addl
        if sub is not None:
            _check(item, sub, join(path, key), out)


def _check_embedded(value: dict, path: str, out: list[FieldError]) -> None:
    for key in ("apiVersion", "kind"):
        if not value.get(key):
            out.append(errors.required(join(path, key), "must not be empty"))
    meta = value.get("metadata")
    if isinstance(meta, dict) and meta.get("name") is not None:
        name = meta["name"]
        if not isinstance(name, str) or not _DNS_SUBDOMAIN.match(name):
            out.append(errors.invalid(join(path, "metadata.name"), name,
                                      "a lowercase RFC 1123 subdomain must consist of lower "
                                      "case alphanumeric characters, '-' or '.', and must "
                                      "start and end with an alphanumeric character"))


_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_FORMATS = {
    "byte": re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"),
    "uuid": re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                       r"[0-9a-fA-F]{12}$"),
    "hostname": re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]{0,62})?(\.[a-zA-Z0-9]([-a-zA-Z0-9]"
                           r"{0,62})?)*\.?$"),
    "email": re.compile(r"^[^@\s]+@[^@\s]+$"),
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "duration": re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"),
}
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def format_ok(fmt: str, value: object) -> bool:
    """Whether ``value`` has format ``fmt``; unknown formats accept anything, as upstream."""
    if fmt in _INT_RANGES:
        lo, hi = _INT_RANGES[fmt]
        return not isinstance(value, (int, float)) or lo <= value <= hi
    if not isinstance(value, str):
        return True
    if fmt == "date-time":
        return _datetime_ok(value)
    if fmt in ("ipv4", "ipv6", "cidr"):
        return _ip_ok(fmt, value)
    rx = _FORMATS.get(fmt)
    return rx is None or rx.match(value) is not None


def _datetime_ok(value: str) -> bool:
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return "T" in value.upper()


def _ip_ok(fmt: str, value: str) -> bool:
    import ipaddress

    try:
        if fmt == "cidr":
            ipaddress.ip_network(value, strict=False)
            return "/" in value
        addr = ipaddress.ip_address(value)
    except ValueError:
        return False
    return addr.version == (4 if fmt == "ipv4" else 6)
