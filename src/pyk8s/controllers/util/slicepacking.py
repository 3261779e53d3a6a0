"""Packing a Service's endpoints into EndpointSlices with as few writes as possible.

Upstream's EndpointSlice reconciler (staging/src/k8s.io/endpointslice) works per address
type and per distinct port list, because a slice carries one port list for all of its
endpoints. Given the existing slices and the desired endpoints it decides what to create,
update and delete, preferring to leave slices alone:

1. each existing slice keeps the endpoints still desired (refreshed if changed); a slice
   left empty is deleted, a changed one updated;
2. leftover endpoints first fill the slices already being updated (fullest first), then,
   when fewer than a slice's worth remain, the unchanged slice that fits them most
   snugly, else new slices of at most ``max_per_slice``;
3. a Service with no endpoints keeps (or gets) one placeholder slice with no endpoints
   and no ports, so consumers can tell "no endpoints" from "not processed yet";
4. creates paired with deletes become updates of the slices that would be deleted.

Endpoints are identified, as upstream's endpoint hash, by addresses, hostname and the
target's namespace/name; everything is plain dicts and no input is mutated.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import orjson

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS_PER_SLICE = 100


def ports_key(ports: list[dict]) -> bytes:
    """One key per distinct port list (order-insensitive)."""
    return b"|".join(sorted(orjson.dumps(p, option=orjson.OPT_SORT_KEYS) for p in ports))


def endpoint_id(endpoint: dict) -> tuple:
    ref = endpoint.get("targetRef") or {}
    return (tuple(sorted(endpoint.get("addresses") or ())), endpoint.get("hostname") or "",
            ref.get("namespace") or "", ref.get("name") or "")


@dataclass
class Desired:
    """The endpoints wanted for one (address type, port list)."""

    ports: list[dict]
    endpoints: dict[tuple, dict] = field(default_factory=dict)

    def add(self, endpoint: dict) -> None:
        self.endpoints[endpoint_id(endpoint)] = endpoint


@dataclass
class Plan:
    create: list[dict] = field(default_factory=list)
    update: list[dict] = field(default_factory=list)
    delete: list[dict] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def slice_labels(service: dict) -> dict:
    """The labels every slice of ``service`` carries (the Service's own, minus the reserved
    keys, plus service-name, managed-by and the headless marker)."""
    meta = service["metadata"]
    labels = {k: v for k, v in (meta.get("labels") or {}).items()
              if k not in (SERVICE_NAME_LABEL, MANAGED_BY_LABEL)}
    if (service.get("spec") or {}).get("clusterIP") == "None":
        labels["service.kubernetes.io/headless"] = ""
    else:
        labels.pop("service.kubernetes.io/headless", None)
    labels[SERVICE_NAME_LABEL] = meta["name"]
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    return labels


def owned_by(slice_: dict, service: dict) -> bool:
    uid = service["metadata"].get("uid")
    return any(ref.get("kind") == "Service" and ref.get("uid") == uid
               for ref in slice_["metadata"].get("ownerReferences") or ())


def new_slice(service: dict, address_type: str, ports: list[dict]) -> dict:
    meta = service["metadata"]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": f"{meta['name']}-", "namespace": meta["namespace"],
                         "labels": slice_labels(service),
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Service",
                                              "name": meta["name"], "uid": meta.get("uid", ""),
                                              "controller": True,
                                              "blockOwnerDeletion": True}]},
            "addressType": address_type, "ports": copy.deepcopy(ports), "endpoints": []}


def _is_placeholder(slice_: dict) -> bool:
    return not slice_.get("endpoints") and not slice_.get("ports")


def _pop(desired: dict[tuple, dict]) -> dict:
    key = next(iter(desired))
    return desired.pop(key)


def _by_port_list(service: dict, address_type: str, existing: list[dict], want: Desired,
                  plan: Plan, max_per_slice: int) -> None:
    """Steps 1-2 of the module docstring for the slices of one port list."""
    remaining = dict(want.endpoints)
    labels = slice_labels(service)
    updating: list[dict] = []
    unchanged: list[dict] = []
    for old in existing:
        kept, changed = [], False
        for endpoint in old.get("endpoints") or ():
            got = remaining.pop(endpoint_id(endpoint), None)
            if got is not None:
                kept.append(got)
                changed = changed or got != endpoint
        labels_changed = (old["metadata"].get("labels") or {}) != labels
        if changed or len(kept) != len(old.get("endpoints") or ()):
            if not kept:
                plan.delete.append(old)
                continue
        elif not labels_changed:
            unchanged.append(old)
            continue
        fresh = copy.deepcopy(old)
        fresh["endpoints"], fresh["metadata"]["labels"] = kept, dict(labels)
        updating.append(fresh)
    for fresh in sorted(updating, key=lambda s: -len(s["endpoints"])):
        while remaining and len(fresh["endpoints"]) < max_per_slice:
            fresh["endpoints"].append(_pop(remaining))
    while remaining:
        target = None
        if len(remaining) < max_per_slice and unchanged:
            fits = [s for s in unchanged
                    if len(s.get("endpoints") or ()) + len(remaining) <= max_per_slice]
            if fits:
                target = copy.deepcopy(max(fits, key=lambda s: len(s.get("endpoints") or ())))
                unchanged = [s for s in unchanged
                             if s["metadata"]["name"] != target["metadata"]["name"]]
                target["endpoints"] = list(target.get("endpoints") or ())
                target["metadata"]["labels"] = dict(labels)
                updating.append(target)
        if target is None:
            target = new_slice(service, address_type, want.ports)
            plan.create.append(target)
        while remaining and len(target["endpoints"]) < max_per_slice:
            target["endpoints"].append(_pop(remaining))
    plan.update += updating


def plan_slices(service: dict, existing: list[dict], desired: dict[str, dict[bytes, Desired]],
                *, max_per_slice: int = MAX_ENDPOINTS_PER_SLICE) -> Plan:
    """What to write so ``existing`` (this controller's slices for ``service``) hold the
    ``desired`` endpoints, by address type then ports key."""
    plan = Plan()
    by_type: dict[str, dict[bytes, list[dict]]] = {}
    for slice_ in existing:
        if not owned_by(slice_, service) or slice_.get("addressType") not in desired:
            plan.delete.append(slice_)
            continue
        key = ports_key(slice_.get("ports") or [])
        by_type.setdefault(slice_["addressType"], {}).setdefault(key, []).append(slice_)
    for address_type, wanted in desired.items():
        current = by_type.get(address_type, {})
        for key, want in wanted.items():
            _by_port_list(service, address_type, current.get(key, []), want, plan,
                          max_per_slice)
        for key, stale in current.items():
            if key not in wanted:
                plan.delete += stale
    _keep_placeholder(service, existing, desired, plan)
    _reuse_deleted(service, plan)
    return plan


def _keep_placeholder(service: dict, existing: list[dict], desired: dict, plan: Plan) -> None:
    if len(existing) != len(plan.delete) or plan.create:
        return
    address_type = next(iter(desired), "IPv4")
    keep = [s for s in plan.delete if _is_placeholder(s) and owned_by(s, service)
            and s.get("addressType") == address_type
            and (s["metadata"].get("labels") or {}) == slice_labels(service)]
    if len(plan.delete) == 1 and keep:
        plan.delete.clear()
    else:
        plan.create.append(new_slice(service, address_type, []))


def _reuse_deleted(service: dict, plan: Plan) -> None:
    """Turn create+delete pairs into updates of the slices being deleted (when the deleted
    slice is ours and of the same address type, which is immutable)."""
    for created in list(plan.create):
        doomed = next((s for s in plan.delete if owned_by(s, service)
                       and s.get("addressType") == created["addressType"]), None)
        if doomed is None:
            continue
        plan.create.remove(created)
        plan.delete.remove(doomed)
        fresh = copy.deepcopy(created)
        fresh["metadata"] = {**copy.deepcopy(doomed["metadata"]),
                             "labels": created["metadata"]["labels"],
                             "ownerReferences": created["metadata"]["ownerReferences"]}
        fresh["metadata"].pop("generateName", None)
        plan.update.append(fresh)


def with_trigger_time(slice_: dict, annotation: str, value: str | None) -> dict:
    """``slice_`` (our own copy) with the trigger-time annotation set or cleared."""
    annotations = dict(slice_["metadata"].get("annotations") or {})
    if value is None:
        annotations.pop(annotation, None)
    else:
        annotations[annotation] = value
    slice_["metadata"]["annotations"] = annotations
    return slice_

