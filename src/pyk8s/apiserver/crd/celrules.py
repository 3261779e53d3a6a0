"""``x-kubernetes-validations`` rules: checked when a CRD is written, run on each write.

Why this exists: a rule sits on a schema node and sees that node's value as
``self`` (and, on updates, the previous value as ``oldSelf``). This module walks an
object with its schema, pairs each node with its old counterpart the way upstream
correlates them (object properties and map values by key, ``list-type=map`` items by
their keys; other list items are not correlated), and turns failed rules into field
errors worded as kube-apiserver's::

    spec: Invalid value: "object": replicas must not exceed maxReplicas

Transition rules (those using ``oldSelf``) only run when an old value exists.
"""

from __future__ import annotations

from .. import errors
from ..errors import FieldError
from .cel import CelError, compile_rule, uses_old_self
from .celeval import eval_node
from .structural import json_type

RULES = "x-kubernetes-validations"
_MISSING = object()
_REASONS = {"FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired",
            "FieldValueDuplicate"}


def check_schema_rules(schema: object, path: str) -> list[FieldError]:
    """Errors for rules that do not compile, anywhere in a CRD schema at ``path``."""
    out: list[FieldError] = []
    if isinstance(schema, dict):
        for i, rule in enumerate(schema.get(RULES) or ()):
            out += _check_rule(rule, f"{path}.{RULES}[{i}]")
        for key, sub in (schema.get("properties") or {}).items():
            out += check_schema_rules(sub, f"{path}.properties[{key}]")
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                out += check_schema_rules(schema[key], f"{path}.{key}")
    return out


def _check_rule(rule: object, path: str) -> list[FieldError]:
    if not isinstance(rule, dict) or not isinstance(rule.get("rule"), str) or not rule["rule"]:
        return [errors.required(f"{path}.rule")]
    try:
        compile_rule(rule["rule"])
    except CelError as exc:
        return [errors.invalid(f"{path}.rule", rule["rule"], f"compilation failed: {exc}")]
    reason = rule.get("reason")
    if reason is not None and reason not in _REASONS:
        return [errors.not_supported(f"{path}.reason", reason, sorted(_REASONS))]
    return []


def validate_rules(value: object, schema: dict | None, old: object = _MISSING,
                   path: str = "") -> list[FieldError]:
    """Errors of the rules in ``schema`` for ``value`` (``old``: its previous version)."""
    out: list[FieldError] = []
    if schema:
        _walk(value, schema, old, path, out)
    return out


def _walk(value: object, schema: dict, old: object, path: str, out: list[FieldError]) -> None:
    if value is None:
        return
    for rule in schema.get(RULES) or ():
        _run(rule, value, schema, old, path, out)
    if isinstance(value, dict):
        _walk_object(value, schema, old if isinstance(old, dict) else {}, path, out)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        _walk_list(value, schema, old if isinstance(old, list) else [], path, out)


def _walk_object(value: dict, schema: dict, old: dict, path: str, out: list[FieldError]) -> None:
    props = schema.get("properties") or {}
    addl = schema.get("additionalProperties")
    for key, item in value.items():
        sub = props.get(key) or (addl if isinstance(addl, dict) else None)
        if sub is not None:
            _walk(item, sub, old.get(key, _MISSING), f"{path}.{key}" if path else key, out)


def _walk_list(value: list, schema: dict, old: list, path: str, out: list[FieldError]) -> None:
    keys = schema.get("x-kubernetes-list-map-keys") or []
    by_key = {}
    if schema.get("x-kubernetes-list-type") == "map" and keys:
        by_key = {_map_key(o, keys): o for o in old if isinstance(o, dict)}
    for i, item in enumerate(value):
        previous = by_key.get(_map_key(item, keys), _MISSING) if by_key and isinstance(
            item, dict) else _MISSING
        _walk(item, schema["items"], previous, f"{path}[{i}]", out)


def _map_key(item: dict, keys: list[str]) -> tuple:
    return tuple(repr(item.get(k)) for k in keys)


def _run(rule: dict, value: object, schema: dict, old: object, path: str,
         out: list[FieldError]) -> None:
    text = rule.get("rule", "")
    node = compile_rule(text)
    env = {"self": value}
    if uses_old_self(node):
        if old is _MISSING:
            return
        env["oldSelf"] = old
    type_name = _type_name(schema, value)
    field_path = _rule_path(path, rule.get("fieldPath"))
    try:
        result = eval_node(node, env)
    except CelError as exc:
        out.append(errors.invalid(field_path, type_name, f"{exc} evaluating rule: {text}"))
        return
    if result is True:
        return
    message = rule.get("message") or f"failed rule: {text}"
    if result is not False:
        message = f"rule did not evaluate to a bool: {text}"
    out.append(errors.FieldError(rule.get("reason") or "FieldValueInvalid", field_path,
                                 message, type_name))


def _rule_path(path: str, field_path: object) -> str:
    if not isinstance(field_path, str) or not field_path:
        return path
    suffix = field_path.removeprefix(".")
    return f"{path}.{suffix}" if path else suffix


def _type_name(schema: dict, value: object) -> str:
    return schema.get("type") or json_type(value)
