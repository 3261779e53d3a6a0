"""The strategy of custom objects: one instance per served version of a CRD.

Why this exists: the generic object semantics (names, resourceVersion, finalizers,
the status split when ``status`` is a subresource) already hold for custom objects;
what a CRD adds is its version's schema. This strategy defaults objects from it
(also on read, as upstream), validates them structurally and with their CEL rules,
always tracks ``metadata.generation``, refuses creates while the CRD is being
deleted, and knows the scale subresource's paths.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from .. import errors
from ..errors import FieldError
from ..strategy import Strategy
from .celrules import validate_rules
from .defaulting import apply_defaults, has_defaults
from .structural import validate

_ROOT_FIELDS = ("apiVersion", "kind", "metadata")


@dataclass
class CRDState:
    """What the controller knows of a CRD that its objects' strategies need."""

    name: str
    plural: str
    group: str
    terminating: bool = False


class CustomResourceStrategy(Strategy):
    tracks_generation = True

    def __init__(self, state: CRDState, schema: dict | None, status_subresource: bool) -> None:
        self.state = state
        self.schema = _without_root_fields(schema)
        self.status_subresource = status_subresource
        self._defaults = has_defaults(self.schema)

    def prepare_for_create(self, obj: dict) -> None:
        if self.status_subresource:
            obj.pop("status", None)

    def default(self, obj: dict) -> None:
        if self._defaults:
            apply_defaults(obj, self.schema)

    def on_read(self, obj: dict) -> dict:
        if not self._defaults:
            return obj
        obj = copy.deepcopy(obj)
        apply_defaults(obj, self.schema)
        return obj

    def validate(self, obj: dict) -> list[FieldError]:
        body = _body(obj)
        return validate(body, self.schema) + validate_rules(body, self.schema)

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        body = _body(obj)
        return validate(body, self.schema) + validate_rules(body, self.schema, _body(old))

    async def before_create(self, ctx, obj: dict) -> None:
        if self.state.terminating:
            raise errors.APIError(
                405, "MethodNotAllowed",
                "create not allowed while custom resource definition is terminating")


def _body(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in _ROOT_FIELDS}


def _without_root_fields(schema: dict | None) -> dict | None:
    """The schema without apiVersion/kind/metadata (checked generically, not here)."""
    if not schema:
        return schema
    props = schema.get("properties")
    if not props:
        return schema
    kept = {k: v for k, v in props.items() if k not in _ROOT_FIELDS}
    required = [r for r in schema.get("required") or () if r not in _ROOT_FIELDS]
    out = {**schema, "properties": kept}
    if "required" in schema:
        out["required"] = required
    return out
