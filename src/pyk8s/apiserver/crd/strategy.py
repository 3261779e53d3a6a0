"""The CustomResourceDefinition kind's strategy: defaults and validation of CRDs.

Why this exists: a CRD is only served once its names, scope, versions and schemas
make sense, and a bad one must be refused at write time with the field paths
kube-apiserver uses (``metadata.name: Invalid value: "x": must be
spec.names.plural+"."+spec.group``, ``spec.versions: Invalid value: ...: must have
exactly one version marked as storage version``...). Defaults follow upstream's v1
defaulting (singular, listKind, conversion strategy None). New CRDs carry the
``customresourcecleanup.apiextensions.k8s.io`` finalizer so that deleting one first
deletes its objects (see :mod:`.controller`).
"""

from __future__ import annotations

import copy

from .. import errors, validation
from ..errors import FieldError
from ..kinds import register
from ..strategy import Strategy, get_path
from .celrules import check_schema_rules
from .schemacheck import check_schema

GROUP = "apiextensions.k8s.io"
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
SCOPES = ["Cluster", "Namespaced"]


@register(GROUP, "CustomResourceDefinition")
class CRDStrategy(Strategy):
    tracks_generation = True

    def prepare_for_create(self, obj: dict) -> None:
        obj["status"] = {"conditions": [], "acceptedNames": {"plural": "", "kind": ""},
                         "storedVersions": []}
        finalizers = obj["metadata"].setdefault("finalizers", [])
        if CLEANUP_FINALIZER not in finalizers:
            finalizers.append(CLEANUP_FINALIZER)

    def prepare_for_update(self, obj: dict, old: dict) -> None:
        obj["status"] = copy.deepcopy(old.get("status") or {})

    def default(self, obj: dict) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        names = spec.get("names")
        if isinstance(names, dict) and isinstance(names.get("kind"), str):
            names.setdefault("singular", names["kind"].lower())
            names.setdefault("listKind", names["kind"] + "List")
        conversion = spec.setdefault("conversion", {})
        if isinstance(conversion, dict):
            conversion.setdefault("strategy", "None")

    def validate(self, obj: dict) -> list[FieldError]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return [errors.required("spec")]
        out = _validate_name(obj, spec)
        out += _validate_group(spec.get("group"))
        out += _validate_names(spec.get("names"))
        scope = spec.get("scope")
        if not scope:
            out.append(errors.required("spec.scope"))
        elif scope not in SCOPES:
            out.append(errors.not_supported("spec.scope", scope, SCOPES))
        out += _validate_versions(spec.get("versions"))
        strategy = get_path(spec, "conversion", "strategy")
        if strategy not in (None, "None"):
            out.append(errors.not_supported("spec.conversion.strategy", strategy, ["None"]))
        return out

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        out = self.validate(obj)
        stored = get_path(old, "status", "storedVersions", default=[])
        served = {v.get("name") for v in get_path(obj, "spec", "versions", default=[])
                  if isinstance(v, dict)}
        for version in stored:
            if version not in served:
                out.append(errors.invalid("status.storedVersions[0]", version,
                                          "must appear in spec.versions"))
        return out


def _validate_name(obj: dict, spec: dict) -> list[FieldError]:
    name = get_path(obj, "metadata", "name", default="")
    plural, group = get_path(spec, "names", "plural"), spec.get("group")
    if plural and group and name != f"{plural}.{group}":
        return [errors.invalid("metadata.name", name,
                               'must be spec.names.plural+"."+spec.group')]
    return []


def _validate_group(group: object) -> list[FieldError]:
    if not group:
        return [errors.required("spec.group")]
    out = validation.validate_dns1123_subdomain("spec.group", group)
    if "." not in group:
        out.append(errors.invalid("spec.group", group,
                                  "should be a domain with at least one dot"))
    return out


def _validate_names(names: object) -> list[FieldError]:
    if not isinstance(names, dict):
        return [errors.required("spec.names.plural"), errors.required("spec.names.kind")]
    out: list[FieldError] = []
    for field in ("plural", "singular"):
        value = names.get(field)
        if field == "plural" and not value:
            out.append(errors.required("spec.names.plural"))
        elif value:
            out += _dns_label(f"spec.names.{field}", value)
    for field in ("kind", "listKind"):
        value = names.get(field)
        if not value:
            out.append(errors.required(f"spec.names.{field}"))
        elif not isinstance(value, str) or not _is_kind(value):
            out.append(errors.invalid(f"spec.names.{field}", value,
                                      "may have mixed case, but should otherwise match: "
                                      "[a-z]([-a-z0-9]*[a-z0-9])?"))
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        out.append(errors.invalid("spec.names.listKind", names["listKind"],
                                  "kind and listKind may not be the same"))
    for i, short in enumerate(names.get("shortNames") or ()):
        out += _dns_label(f"spec.names.shortNames[{i}]", short)
    for i, cat in enumerate(names.get("categories") or ()):
        out += _dns_label(f"spec.names.categories[{i}]", cat)
    return out


def _dns_label(path: str, value: object) -> list[FieldError]:
    if not isinstance(value, str):
        return [errors.invalid(path, value, "must be a string")]
    return validation.validate_dns1123_label(path, value)


def _is_kind(value: str) -> bool:
    return not validation.is_dns1123_label(value.lower())


def _validate_versions(versions: object) -> list[FieldError]:
    if not isinstance(versions, list) or not versions:
        return [errors.required("spec.versions", "must have at least one version")]
    out: list[FieldError] = []
    storage, names = 0, set()
    for i, version in enumerate(versions):
        path = f"spec.versions[{i}]"
        if not isinstance(version, dict):
            out.append(errors.invalid(path, version, "must be an object"))
            continue
        name = version.get("name")
        if not name:
            out.append(errors.required(f"{path}.name"))
        else:
            out += _dns_label(f"{path}.name", name)
            if name in names:
                out.append(errors.invalid("spec.versions", versions,
                                          "must contain unique version names"))
            names.add(name)
        storage += bool(version.get("storage"))
        out += _validate_version(version, path)
    if storage != 1:
        out.append(errors.invalid("spec.versions", _versions_repr(versions),
                                  "must have exactly one version marked as storage version"))
    if not any(isinstance(v, dict) and v.get("served") for v in versions):
        out.append(errors.invalid("spec.versions", _versions_repr(versions),
                                  "must have at least one served version"))
    return out


def _versions_repr(versions: list) -> list:
    return [v.get("name") if isinstance(v, dict) else v for v in versions]


def _validate_version(version: dict, path: str) -> list[FieldError]:
    out: list[FieldError] = []
    for field in ("served", "storage"):
        if not isinstance(version.get(field), bool):
            out.append(errors.required(f"{path}.{field}"))
    schema_path = f"{path}.schema.openAPIV3Schema"
    schema = get_path(version, "schema", "openAPIV3Schema")
    out += check_schema(schema, schema_path)
    if isinstance(schema, dict):
        out += check_schema_rules(schema, schema_path)
    out += _validate_subresources(version.get("subresources"), f"{path}.subresources")
    for j, col in enumerate(version.get("additionalPrinterColumns") or ()):
        col_path = f"{path}.additionalPrinterColumns[{j}]"
        for field in ("name", "type", "jsonPath"):
            if not isinstance(col, dict) or not col.get(field):
                out.append(errors.required(f"{col_path}.{field}"))
    return out


def _validate_subresources(subs: object, path: str) -> list[FieldError]:
    scale = get_path(subs, "scale")
    if not isinstance(scale, dict):
        return []
    out: list[FieldError] = []
    for field in ("specReplicasPath", "statusReplicasPath"):
        value = scale.get(field)
        if not value:
            out.append(errors.required(f"{path}.scale.{field}"))
        elif not str(value).startswith(".spec." if field == "specReplicasPath" else ".status."):
            root = ".spec" if field == "specReplicasPath" else ".status"
            out.append(errors.invalid(f"{path}.scale.{field}", value,
                                      f"should be a json path under {root}"))
    return out
