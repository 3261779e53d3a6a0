"""Which nodes a DaemonSet runs on, and the pod it puts there (upstream's
daemon_controller.go NodeShouldRunDaemonPod and pkg/controller/daemon/util).

A node is eligible when the template's nodeName (if any), nodeSelector and required node
affinity match it and every NoSchedule/NoExecute taint is tolerated -- by the template's
tolerations plus the ones every daemon pod gets (not-ready/unreachable NoExecute without
a time limit; disk/memory/pid pressure and unschedulable NoSchedule;
network-unavailable for host-network pods). A pod already running there may stay while
no NoExecute taint is untolerated. Pods are pinned to their node with a required
``matchFields metadata.name`` node affinity and left to the scheduler to bind.
"""

from __future__ import annotations

import copy

DEFAULT_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
NETWORK_UNAVAILABLE = ("node.kubernetes.io/network-unavailable", "NoSchedule")


def tolerates(toleration: dict, taint: dict) -> bool:
    """v1.Toleration.ToleratesTaint."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(taints: list[dict], tolerations: list[dict], effects: tuple[str, ...]
                      ) -> dict | None:
    """The first taint with one of ``effects`` that no toleration tolerates."""
    for taint in taints:
        if taint.get("effect") not in effects:
            continue
        if not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def _expression_matches(expr: dict, value: str | None) -> bool:
    op, values = expr.get("operator"), expr.get("values") or []
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and len(values) == 1:
        try:
            have, want = int(value), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def term_matches(term: dict, node: dict) -> bool:
    """A NodeSelectorTerm: all expressions and fields match (an empty term matches none)."""
    exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not exprs and not fields:
        return False
    labels = node["metadata"].get("labels") or {}
    fields_of = {"metadata.name": node["metadata"]["name"]}
    return all(_expression_matches(e, labels.get(e.get("key"))) for e in exprs) and \
        all(_expression_matches(f, fields_of.get(f.get("key"))) for f in fields)


def fits_node_affinity(pod_spec: dict, node: dict) -> bool:
    """nodeSelector and the required node affinity (terms are ORed)."""
    labels = node["metadata"].get("labels") or {}
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is None:
        return True
    return any(term_matches(t, node) for t in required.get("nodeSelectorTerms") or ())


def with_default_tolerations(pod_spec: dict) -> list[dict]:
    """The template's tolerations plus the DaemonSet defaults (added or updated)."""
    tolerations = [dict(t) for t in pod_spec.get("tolerations") or ()]
    wanted = list(DEFAULT_TOLERATIONS)
    if pod_spec.get("hostNetwork"):
        wanted.append(NETWORK_UNAVAILABLE)
    for key, effect in wanted:
        tolerations = [t for t in tolerations
                       if not (t.get("key") == key and t.get("effect") == effect)]
        tolerations.append({"key": key, "operator": "Exists", "effect": effect})
    return tolerations


def should_run(ds: dict, node: dict) -> tuple[bool, bool]:
    """(should run a daemon pod, may keep running an existing one) on ``node``."""
    spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    name = node["metadata"]["name"]
    if spec.get("nodeName") and spec["nodeName"] != name:
        return False, False
    if not fits_node_affinity(spec, node):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = with_default_tolerations(spec)
    if untolerated_taint(taints, tolerations, ("NoSchedule", "NoExecute")) is not None:
        return False, untolerated_taint(taints, tolerations, ("NoExecute",)) is None
    return True, True


def pin_to_node(affinity: dict | None, node_name: str) -> dict:
    """ReplaceDaemonSetPodNodeNameNodeAffinity: required terms become one matchFields term
    selecting ``node_name`` (preferred terms and other affinities are kept)."""
    affinity = copy.deepcopy(affinity or {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}
    return affinity


def target_node(pod: dict) -> str | None:
    """Where a daemon pod runs: its nodeName, else the node its affinity pins it to."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or ():
        for field in term.get("matchFields") or ():
            if field.get("key") == "metadata.name" and field.get("operator") == "In" and \
                    len(field.get("values") or ()) == 1:
                return field["values"][0]
    return None


def pod_template_for(template: dict, node_name: str, hash_: str, generation: int | None
                     ) -> dict:
    """The template for the daemon pod on ``node_name`` (labels, tolerations, affinity)."""
    body = copy.deepcopy(template)
    labels = body.setdefault("metadata", {}).setdefault("labels", {})
    labels["controller-revision-hash"] = hash_
    if generation is not None:
        labels["pod-template-generation"] = str(generation)
    spec = body.setdefault("spec", {})
    spec["tolerations"] = with_default_tolerations(spec)
    spec["affinity"] = pin_to_node(spec.get("affinity"), node_name)
    return body
