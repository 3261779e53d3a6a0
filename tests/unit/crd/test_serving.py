"""Serving a CRD: pruning through its registered schema, printer columns, CRD validation."""

from __future__ import annotations

import datetime

from pyk8s.apiserver import fieldvalidation, openapi
from pyk8s.apiserver.crd.printer import printer_from_columns
from pyk8s.apiserver.crd.serving import definition_name, object_schema
from pyk8s.apiserver.crd.strategy import CRDStrategy

SCHEMA = {"type": "object", "properties": {"spec": {
    "type": "object", "properties": {
        "a": {"type": "string"},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "embedded": {"type": "object", "x-kubernetes-embedded-resource": True,
                     "properties": {"spec": {"type": "object"}}}}}}}


def test_pruning_drops_undeclared_fields():
    name = definition_name("prune.example.com", "v1", "Thing")
    assert name == "com.example.prune.v1.Thing"
    openapi.register_definition("prune.example.com", "v1", "Thing", name, object_schema(SCHEMA))
    try:
        obj = {"apiVersion": "prune.example.com/v1", "kind": "Thing",
               "metadata": {"name": "t"}, "extra": 1,
               "spec": {"a": "x", "b": 2, "free": {"k": {"z": 1}},
                        "embedded": {"apiVersion": "v1", "kind": "Pod", "metadata": {},
                                     "spec": {}, "junk": 1}}}
        unknown = fieldvalidation.unknown_fields("prune.example.com", "v1", "Thing", obj)
        assert unknown == ["extra", "spec.b", "spec.embedded.junk"]
        fieldvalidation.prune_unknown("prune.example.com", "v1", "Thing", obj)
        assert "extra" not in obj and obj["spec"]["free"] == {"k": {"z": 1}}
        assert obj["spec"]["embedded"] == {"apiVersion": "v1", "kind": "Pod", "metadata": {},
                                           "spec": {}}
    finally:
        openapi.unregister_definition("prune.example.com", "v1", "Thing")


def test_printer_columns():
    printer = printer_from_columns([
        {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
        {"name": "Ready", "type": "string",
         "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
        {"name": "First", "type": "string", "jsonPath": ".spec.items[0]", "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ])
    assert [c["name"] for c in printer.columns] == ["Name", "Color", "Ready", "First", "Age"]
    now = datetime.datetime(2024, 1, 1, 0, 5, tzinfo=datetime.UTC)
    obj = {"metadata": {"name": "w", "creationTimestamp": "2024-01-01T00:00:00Z"},
           "spec": {"color": "red", "items": ["i0"]},
           "status": {"conditions": [{"type": "Other", "status": "False"},
                                     {"type": "Ready", "status": "True"}]}}
    assert printer.cells(obj, now) == ["w", "red", "True", "i0", "5m"]
    assert printer_from_columns(None).cells(obj, now) == ["w", "5m"]


def _crd(**spec) -> dict:
    base = {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": {"type": "object"}}}]}
    base.update(spec)
    return {"metadata": {"name": "widgets.example.com"}, "spec": base}


def _errors(crd: dict) -> list[str]:
    strategy = CRDStrategy()
    strategy.default(crd)
    return [f"{e.field}: {e.message()}" for e in strategy.validate(crd)]


def test_crd_validation():
    assert _errors(_crd()) == []
    crd = _crd()
    CRDStrategy().default(crd)
    assert crd["spec"]["names"] == {"plural": "widgets", "kind": "Widget",
                                    "singular": "widget", "listKind": "WidgetList"}
    assert _errors(_crd(group="other.com")) == [
        ('metadata.name: Invalid value: "widgets.example.com": must be '
        'spec.names.plural+"."+spec.group')]
    assert _errors(_crd(scope="Global")) == [
        'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"']
    two = [{"name": n, "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object"}}} for n in ("v1", "v2")]
    assert _errors(_crd(versions=two)) == [
        ('spec.versions: Invalid value: ["v1","v2"]: must have exactly one version marked as '
        'storage version')]
