"""Turns objects into meta.k8s.io/v1 Tables (what ``kubectl get`` prints)."""

from __future__ import annotations

import datetime

from .printers import partial_object_metadata, printer_for
from .registry import ResourceType


def table(rt: ResourceType, objects: list[dict], *, include_object: str = "Metadata",
          list_meta: dict | None = None, with_columns: bool = True) -> dict:
    printer = printer_for(rt.group, rt.kind)
    now = datetime.datetime.now(datetime.timezone.utc)
    rows = []
    for obj in objects:
        row: dict = {"cells": printer.cells(obj, now)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_object_metadata(obj)
        rows.append(row)
    out = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta or {},
        "columnDefinitions": printer.columns if with_columns else None,
        "rows": rows,
    }
    if not with_columns:
        out["columnDefinitions"] = None
    return out


def partial_list(objects: list[dict], list_meta: dict) -> dict:
    return {
        "kind": "PartialObjectMetadataList",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "items": [partial_object_metadata(o) for o in objects],
    }
