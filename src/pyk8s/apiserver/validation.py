"""Metadata validation every kind shares, with apimachinery's exact messages.

The generic object store validates metadata here before a kind's strategy looks at
its spec (upstream's ValidateObjectMeta / ValidateObjectMetaUpdate). The string
checks (DNS names, qualified names, label values, ports, IPs) and label selector
helpers are reused by the strategies in :mod:`pyk8s.apiserver.kinds`, so that a
given mistake yields the same words kubectl prints against kube-apiserver.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable

from .errors import FieldError, forbidden, invalid, required

# ---- string formats (k8s.io/apimachinery/pkg/util/validation) --------------

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + QUALIFIED_NAME_FMT + ")?"
CONFIG_MAP_KEY_FMT = "[-._a-zA-Z0-9]+"
PERCENT_FMT = "[0-9]+%"
HTTP_HEADER_NAME_FMT = "[-A-Za-z0-9]+"

_LABEL_RE = re.compile(f"^{DNS1123_LABEL_FMT}$")
_SUBDOMAIN_RE = re.compile(f"^{DNS1123_SUBDOMAIN_FMT}$")
_DNS1035_RE = re.compile(f"^{DNS1035_LABEL_FMT}$")
_QUALIFIED_RE = re.compile(f"^{QUALIFIED_NAME_FMT}$")
_LABEL_VALUE_RE = re.compile(f"^{LABEL_VALUE_FMT}$")
_CONFIG_KEY_RE = re.compile(f"^{CONFIG_MAP_KEY_FMT}$")
_PERCENT_RE = re.compile(f"^{PERCENT_FMT}$")
_HEADER_RE = re.compile(f"^{HTTP_HEADER_NAME_FMT}$")

FIELD_IMMUTABLE = "field is immutable"
NEGATIVE = "must be greater than or equal to 0"
TOTAL_ANNOTATION_SIZE = 256 * 1024


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """apimachinery's RegexError, including its double space before ' or '."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    parts = "".join((" or " if i else "") + f"'{e}', " for i, e in enumerate(examples))
    return f"{msg} (e.g. {parts}regex used for validation is '{fmt}')"


def max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


_LABEL_MSG = regex_error(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character", DNS1123_LABEL_FMT, "my-name", "123-abc")
_SUBDOMAIN_MSG = regex_error(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character", DNS1123_SUBDOMAIN_FMT,
    "example.com")
_DNS1035_MSG = regex_error(
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character", DNS1035_LABEL_FMT,
    "my-name", "abc-123")
_QUALIFIED_MSG = regex_error(
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character", QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
_LABEL_VALUE_MSG = regex_error(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character", LABEL_VALUE_FMT, "MyValue",
    "my_value", "12345")
_CONFIG_KEY_MSG = regex_error(
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
    CONFIG_MAP_KEY_FMT, "key.name", "KEY_NAME", "key-name")


def is_dns1123_label(value: str) -> list[str]:
    errs = [max_len_error(63)] if len(value) > 63 else []
    if not _LABEL_RE.match(value):
        errs.append("must not contain dots" if _SUBDOMAIN_RE.match(value) else _LABEL_MSG)
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = [max_len_error(253)] if len(value) > 253 else []
    return errs + ([] if _SUBDOMAIN_RE.match(value) else [_SUBDOMAIN_MSG])


def is_dns1035_label(value: str) -> list[str]:
    errs = [max_len_error(63)] if len(value) > 63 else []
    return errs + ([] if _DNS1035_RE.match(value) else [_DNS1035_MSG])


def is_qualified_name(value: str) -> list[str]:
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) > 2:
        return [f"a qualified name {_QUALIFIED_MSG} with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(parts[0]))
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _QUALIFIED_RE.match(name):
        errs.append("name part " + _QUALIFIED_MSG)
    return errs


def is_valid_label_value(value: str) -> list[str]:
    errs = [max_len_error(63)] if len(value) > 63 else []
    return errs + ([] if _LABEL_VALUE_RE.match(value) else [_LABEL_VALUE_MSG])


def is_config_map_key(value: str) -> list[str]:
    errs = [max_len_error(253)] if len(value) > 253 else []
    if not _CONFIG_KEY_RE.match(value):
        errs.append(_CONFIG_KEY_MSG)
    if value in (".", ".."):
        errs.append(f"must not be '{value}'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def is_valid_port_num(port: Any) -> list[str]:
    if isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535:
        return []
    return [inclusive_range_error(1, 65535)]


def is_valid_port_name(port: str) -> list[str]:
    errs = [max_len_error(15)] if len(port) > 15 else []
    if not re.fullmatch("[-a-z0-9]+", port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_valid_percent(value: str) -> list[str]:
    if _PERCENT_RE.match(value):
        return []
    return [
        regex_error(
            "a valid percent string must be a numeric string followed by an ending '%'",
            PERCENT_FMT,
            "1%",
            "93%",
        )
    ]


def is_http_header_name(value: str) -> list[str]:
    if _HEADER_RE.match(value):
        return []
    return [
        regex_error(
            "a valid HTTP header must consist of alphanumeric characters or '-'",
            HTTP_HEADER_NAME_FMT,
            "X-Header-Name",
        )
    ]


def parse_ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def validate_ip(path: str, value: Any) -> list[FieldError]:
    if parse_ip(value) is None:
        return [
            invalid(path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
        ]
    return []


def validate_cidr(path: str, value: Any) -> list[FieldError]:
    try:
        ipaddress.ip_network(value, strict=False)
    except (ValueError, TypeError):
        return [
            invalid(path, value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")
        ]
    return []


# ---- field-level helpers shared by strategies ------------------------------


def validate_nonnegative(path: str, value: Any) -> list[FieldError]:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return [invalid(path, value, NEGATIVE)]
    return []


def validate_immutable(path: str, new: Any, old: Any) -> list[FieldError]:
    return [] if new == old else [invalid(path, new, FIELD_IMMUTABLE)]


def validate_port_num_or_name(path: str, port: Any) -> list[FieldError]:
    if isinstance(port, str):
        return [invalid(path, port, m) for m in is_valid_port_name(port)]
    return [invalid(path, port, m) for m in is_valid_port_num(port)]


def validate_dns1123_label(path: str, value: str) -> list[FieldError]:
    return [invalid(path, value, m) for m in is_dns1123_label(value)]


def validate_dns1123_subdomain(path: str, value: str) -> list[FieldError]:
    return [invalid(path, value, m) for m in is_dns1123_subdomain(value)]


def validate_qualified_name(path: str, value: str) -> list[FieldError]:
    return [invalid(path, value, m) for m in is_qualified_name(value)]


def validate_labels(path: str, labels: Any) -> list[FieldError]:
    errs: list[FieldError] = []
    for key, value in (labels or {}).items():
        errs += [invalid(path, key, m) for m in is_qualified_name(key)]
        errs += [invalid(path, value, m) for m in is_valid_label_value(str(value))]
    return errs


def validate_annotations(path: str, annotations: Any) -> list[FieldError]:
    annotations = annotations or {}
    errs: list[FieldError] = []
    for key in annotations:
        errs += [invalid(path, key, m) for m in is_qualified_name(key.lower())]
    total = sum(len(k) + len(str(v)) for k, v in annotations.items())
    if total > TOTAL_ANNOTATION_SIZE:
        errs.append(
            FieldError(
                "FieldValueTooLong", path, f"must have at most {TOTAL_ANNOTATION_SIZE} bytes"
            )
        )
    return errs


def validate_label_selector(path: str, selector: Any) -> list[FieldError]:
    """metav1.LabelSelector: label keys/values and well-formed matchExpressions."""
    if not selector:
        return []
    errs = validate_labels(f"{path}.matchLabels", selector.get("matchLabels"))
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        p = f"{path}.matchExpressions[{i}]"
        op, values = expr.get("operator"), expr.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                errs.append(
                    required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'")
                )
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(
                    forbidden(
                        f"{p}.values",
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            errs.append(invalid(f"{p}.operator", op, "not a valid selector operator"))
        errs += [
            invalid(f"{p}.key", expr.get("key", ""), m)
            for m in is_qualified_name(expr.get("key", ""))
        ]
        for j, v in enumerate(values):
            errs += [invalid(f"{p}.values[{j}]", v, m) for m in is_valid_label_value(str(v))]
    return errs


def selector_matches(selector: Any, labels: Any) -> bool:
    """Whether a metav1.LabelSelector selects ``labels`` (a nil selector selects nothing)."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        matched = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(op, False)
        if not matched:
            return False
    return True


def selector_is_empty(selector: Any) -> bool:
    return not (selector or {}).get("matchLabels") and not (selector or {}).get("matchExpressions")


# ---- object names ----------------------------------------------------------


def _mask_trailing_dash(name: str) -> str:
    """generateName prefixes may end in '-': validate as if a character followed."""
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def _path_segment(name: str, prefix: bool) -> list[str]:
    if not prefix:
        for bad in (".", ".."):
            if name == bad:
                return [f"may not be '{bad}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


NAME_RULES: dict[str, Callable[[str, bool], list[str]]] = {
    "subdomain": lambda n, prefix: is_dns1123_subdomain(_mask_trailing_dash(n) if prefix else n),
    "label": lambda n, prefix: is_dns1123_label(_mask_trailing_dash(n) if prefix else n),
    "dns1035": lambda n, prefix: is_dns1035_label(_mask_trailing_dash(n) if prefix else n),
    "path": _path_segment,
}

# Kinds whose names follow a rule other than DNS-1123 subdomain (upstream's
# ValidateXName functions); everything else, custom resources included, uses subdomains.
_NAME_RULE_BY_KIND = {
    ("", "Namespace"): "label",
    ("", "Service"): "dns1035",
    ("apps", "StatefulSet"): "label",
    ("", "PersistentVolume"): "path",
    # core/v1 events skip metadata validation (legacy); only the store key must be safe.
    ("", "Event"): "path",
    ("certificates.k8s.io", "CertificateSigningRequest"): "path",
}


def name_rule_for(group: str, kind: str) -> str:
    if group == "rbac.authorization.k8s.io":
        return "path"
    return _NAME_RULE_BY_KIND.get((group, kind), "subdomain")


# ---- ObjectMeta ------------------------------------------------------------


def validate_object_meta(
    obj: dict, *, namespaced: bool, name_rule: str = "subdomain"
) -> list[FieldError]:
    """ValidateObjectMeta: name, namespace scope, labels, annotations, owners, finalizers."""
    meta = obj.get("metadata") or {}
    rule = NAME_RULES[name_rule]
    errs: list[FieldError] = []
    name, generate = meta.get("name") or "", meta.get("generateName") or ""
    if generate:
        errs += [invalid("metadata.generateName", generate, m) for m in rule(generate, True)]
    if name:
        errs += [invalid("metadata.name", name, m) for m in rule(name, False)]
    elif not generate:
        errs.append(required("metadata.name", "name or generateName is required"))
    namespace = meta.get("namespace") or ""
    if namespaced:
        if not namespace:
            errs.append(required("metadata.namespace"))
        else:
            errs += [
                invalid("metadata.namespace", namespace, m) for m in is_dns1123_label(namespace)
            ]
    elif namespace:
        errs.append(forbidden("metadata.namespace", "not allowed on this type"))
    errs += validate_nonnegative("metadata.generation", meta.get("generation"))
    errs += validate_labels("metadata.labels", meta.get("labels"))
    errs += validate_annotations("metadata.annotations", meta.get("annotations"))
    errs += validate_owner_references("metadata.ownerReferences", meta.get("ownerReferences"))
    errs += validate_finalizers("metadata.finalizers", meta.get("finalizers"))
    return errs


def validate_owner_references(path: str, refs: Any) -> list[FieldError]:
    errs: list[FieldError] = []
    controller = ""
    for ref in refs or []:
        api_version, kind = ref.get("apiVersion") or "", ref.get("kind") or ""
        parts = api_version.split("/")
        version = parts[-1] if len(parts) <= 2 else ""
        group = parts[0] if len(parts) == 2 else ""
        if not version:
            errs.append(invalid(f"{path}.apiVersion", api_version, "version must not be empty"))
        if not kind:
            errs.append(invalid(f"{path}.kind", kind, "must not be empty"))
        if not ref.get("name"):
            errs.append(invalid(f"{path}.name", ref.get("name") or "", "must not be empty"))
        if not ref.get("uid"):
            errs.append(invalid(f"{path}.uid", ref.get("uid") or "", "must not be empty"))
        if (group, version, kind) == ("", "v1", "Event"):
            errs.append(invalid(path, ref, "/v1, Kind=Event is disallowed from being an owner"))
        if ref.get("controller"):
            current = f"{kind}/{ref.get('name')}"
            if controller:
                errs.append(
                    invalid(
                        path,
                        refs,
                        "Only one reference can have Controller set to "
                        f'true. Found "true" in references for {controller} and '
                        f"{current}",
                    )
                )
            else:
                controller = current
    return errs


def validate_finalizers(path: str, finalizers: Any) -> list[FieldError]:
    finalizers = finalizers or []
    errs: list[FieldError] = []
    for f in finalizers:
        errs += [invalid(path, f, m) for m in is_qualified_name(f)]
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errs.append(
            invalid(path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set")
        )
    return errs


def validate_object_meta_update(new: dict, old: dict) -> list[FieldError]:
    """ValidateObjectMetaUpdate: identity fields stay, generation never goes back.

    Labels, annotations, owners and finalizers of the new object are checked by
    :func:`validate_object_meta`, which the store runs on updates as well.
    """
    meta, old_meta = new.get("metadata") or {}, old.get("metadata") or {}
    errs: list[FieldError] = []
    if (meta.get("generation") or 0) < (old_meta.get("generation") or 0):
        errs.append(
            invalid("metadata.generation", meta.get("generation") or 0, "must not be decremented")
        )
    for field in (
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ):
        errs += validate_immutable(f"metadata.{field}", meta.get(field), old_meta.get(field))
    return errs
