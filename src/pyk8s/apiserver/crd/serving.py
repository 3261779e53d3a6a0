"""What serving a CRD means for the rest of the server: resource types, schemas, printers.

Why this exists: the registry, discovery, the /openapi documents, field validation
(pruning) and ``kubectl get`` tables are all driven by data. Serving a CRD is
registering, for each served version, a :class:`~pyk8s.apiserver.registry.ResourceType`
(stored under ``/registry/<group>/<plural>/`` for every version: with conversion
strategy None each version is the stored object with its apiVersion rewritten), the
version's schema as an OpenAPI definition (``com.example.v1.Widget``), and a printer
from its printer columns; withdrawing it undoes all three.
"""

from __future__ import annotations

import copy

from .. import openapi
from ..openapi.definitions import OBJECT_META, SOURCE_PREFIX
from ..printers import register_printer, unregister_printer
from ..registry import Registry, ResourceType
from ..strategy import get_path
from .customresource import CRDState, CustomResourceStrategy
from .printer import printer_from_columns

LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
_API_VERSION_DOC = (
    "APIVersion defines the versioned schema of this representation of an object. Servers "
    "should convert recognized schemas to the latest internal value, and may reject "
    "unrecognized values. More info: https://git.k8s.io/community/contributors/devel/"
    "sig-architecture/api-conventions.md#resources")
_KIND_DOC = (
    "Kind is a string value representing the REST resource this object represents. Servers "
    "may infer this from the endpoint the client submits requests to. Cannot be updated. In "
    "CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#types-kinds")
_METADATA_DOC = ("Standard object's metadata. More info: https://git.k8s.io/community/"
                 "contributors/devel/sig-architecture/api-conventions.md#metadata")


def definition_name(group: str, version: str, kind: str) -> str:
    """``example.com``, ``v1``, ``Widget`` -> ``com.example.v1.Widget`` as upstream names it."""
    return ".".join(reversed(group.split("."))) + f".{version}.{kind}"


def served_versions(crd: dict) -> list[dict]:
    return [v for v in get_path(crd, "spec", "versions", default=[]) if v.get("served")]


def storage_version(crd: dict) -> dict | None:
    for version in get_path(crd, "spec", "versions", default=[]):
        if version.get("storage"):
            return version
    return None


def resource_types(crd: dict, state: CRDState) -> list[ResourceType]:
    spec = crd["spec"]
    names = spec["names"]
    out = []
    for version in served_versions(crd):
        subs = version.get("subresources") or {}
        schema = get_path(version, "schema", "openAPIV3Schema")
        strategy = CustomResourceStrategy(state, schema, "status" in subs)
        out.append(ResourceType(
            group=spec["group"], version=version["name"], kind=names["kind"],
            plural=names["plural"], namespaced=spec.get("scope") == "Namespaced",
            storage_name=f"{spec['group']}/{names['plural']}",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            subresources=tuple(s for s in ("status", "scale") if s in subs),
            strategy=strategy, singular=names.get("singular") or names["kind"].lower(),
            extra={"crd": crd["metadata"]["name"], "scale": subs.get("scale")},
        ))
    return out


def object_schema(schema: dict | None) -> dict:
    """A version's schema as published: apiVersion, kind and metadata (ObjectMeta) added."""
    out = copy.deepcopy(schema) if schema else {"type": "object",
                                                 "x-kubernetes-preserve-unknown-fields": True}
    props = out.setdefault("properties", {})
    props["apiVersion"] = {"type": "string", "description": _API_VERSION_DOC}
    props["kind"] = {"type": "string", "description": _KIND_DOC}
    props["metadata"] = {"$ref": SOURCE_PREFIX + OBJECT_META, "description": _METADATA_DOC}
    return out


def list_schema(kind: str, item_name: str) -> dict:
    return {
        "description": f"{kind}List is a list of {kind}",
        "type": "object", "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": _API_VERSION_DOC},
            "items": {"type": "array", "items": {"$ref": SOURCE_PREFIX + item_name},
                      "description": f"List of {kind.lower()}s."},
            "kind": {"type": "string", "description": _KIND_DOC},
            "metadata": {"$ref": SOURCE_PREFIX + LIST_META, "description": _METADATA_DOC},
        },
    }


def install(registry: Registry, crd: dict, rts: list[ResourceType]) -> None:
    """Serve ``rts`` (the CRD's versions): registry, OpenAPI definitions and printer."""
    by_version = {v["name"]: v for v in served_versions(crd)}
    for rt in rts:
        registry.add(rt)
        schema = get_path(by_version[rt.version], "schema", "openAPIV3Schema")
        name = definition_name(rt.group, rt.version, rt.kind)
        openapi.register_definition(rt.group, rt.version, rt.kind, name, object_schema(schema))
        openapi.register_definition(rt.group, rt.version, rt.kind + "List", name + "List",
                                    list_schema(rt.kind, name), structural=False)
    storage = storage_version(crd) or {}
    if rts:
        register_printer(rts[0].group, rts[0].kind,
                         printer_from_columns(storage.get("additionalPrinterColumns")))


def uninstall(registry: Registry, rts: list[ResourceType]) -> None:
    """Stop serving ``rts``: the inverse of :func:`install`."""
    for rt in rts:
        if rt in registry.all():
            registry.remove(rt)
        openapi.unregister_definition(rt.group, rt.version, rt.kind)
        openapi.unregister_definition(rt.group, rt.version, rt.kind + "List")
    if rts:
        unregister_printer(rts[0].group, rts[0].kind)
