"""StatefulSet pod identity and storage (upstream's stateful_set_utils.go), as pure functions.

A StatefulSet's pods are named ``<set>-<ordinal>``; each carries its identity (labels
``statefulset.kubernetes.io/pod-name`` and ``apps.kubernetes.io/pod-index``, hostname =
pod name, subdomain = ``serviceName``), the ``controller-revision-hash`` label naming the
ControllerRevision it was made from, and one PVC per volumeClaimTemplate named
``<claim>-<set>-<ordinal>`` mounted in place of the template's volume of that name.
"""

from __future__ import annotations

import copy
import re

from .util.history import CONTROLLER_REVISION_HASH
from .util.podcontrol import pod_from_template
from .util.pods import is_pod_available, is_pod_ready

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


def parent_and_ordinal(pod: dict) -> tuple[str, int]:
    """(set name, ordinal) from a pod's name; ordinal -1 when it has none."""
    match = _ORDINAL.match(pod["metadata"]["name"])
    if not match:
        return "", -1
    return match.group(1), int(match.group(2))


def ordinal(pod: dict) -> int:
    return parent_and_ordinal(pod)[1]


def is_member(sts: dict, pod: dict) -> bool:
    return parent_and_ordinal(pod)[0] == sts["metadata"]["name"]


def start_ordinal(sts: dict) -> int:
    return ((sts.get("spec") or {}).get("ordinals") or {}).get("start") or 0


def pod_name(sts: dict, ordinal_: int) -> str:
    return f"{sts['metadata']['name']}-{ordinal_}"


def claim_name(sts: dict, claim: str, ordinal_: int) -> str:
    return f"{claim}-{sts['metadata']['name']}-{ordinal_}"


def revision_of(pod: dict) -> str:
    return (pod["metadata"].get("labels") or {}).get(CONTROLLER_REVISION_HASH, "")


def is_created(pod: dict) -> bool:
    return bool((pod.get("status") or {}).get("phase"))


def is_terminating(pod: dict) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def is_finished(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_running_and_ready(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_pod_ready(pod)


def is_healthy(pod: dict) -> bool:
    return is_running_and_ready(pod) and not is_terminating(pod)


def is_available(pod: dict, min_ready_seconds: int, now) -> bool:
    return is_running_and_ready(pod) and is_pod_available(pod, min_ready_seconds, now)


def split_pods(sts: dict, pods: list[dict]) -> tuple[dict[int, dict], list[dict]]:
    """(pods by ordinal within [start, start+replicas), condemned pods by ascending
    ordinal); pods with no valid ordinal are ignored."""
    start = start_ordinal(sts)
    end = start + ((sts.get("spec") or {}).get("replicas") or 0)
    replicas: dict[int, dict] = {}
    condemned: list[dict] = []
    for pod in pods:
        ord_ = ordinal(pod)
        if start <= ord_ < end:
            replicas[ord_] = pod
        elif ord_ >= 0:
            condemned.append(pod)
    return replicas, sorted(condemned, key=ordinal)


def identity_matches(sts: dict, pod: dict) -> bool:
    parent, ord_ = parent_and_ordinal(pod)
    labels = pod["metadata"].get("labels") or {}
    spec = pod.get("spec") or {}
    return (ord_ >= 0 and parent == sts["metadata"]["name"]
            and labels.get(POD_NAME_LABEL) == pod["metadata"]["name"]
            and labels.get(POD_INDEX_LABEL) == str(ord_)
            and spec.get("hostname") == pod["metadata"]["name"]
            and spec.get("subdomain") == ((sts.get("spec") or {}).get("serviceName") or None))


def claims_for(sts: dict, ordinal_: int) -> list[dict]:
    """The PVCs the pod at ``ordinal_`` needs (labels: the set's matchLabels)."""
    spec = sts.get("spec") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    claims = []
    for template in spec.get("volumeClaimTemplates") or ():
        tmeta = template.get("metadata") or {}
        body = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim_name(sts, tmeta["name"], ordinal_),
                             "namespace": sts["metadata"]["namespace"],
                             "labels": {**(tmeta.get("labels") or {}), **selector}},
                "spec": copy.deepcopy(template.get("spec") or {})}
        if tmeta.get("annotations"):
            body["metadata"]["annotations"] = dict(tmeta["annotations"])
        claims.append(body)
    return claims


def new_pod(sts: dict, template: dict, ordinal_: int, revision: str, ref: dict) -> dict:
    """The pod for ``ordinal_`` from ``template`` (the revision's), with identity and
    claim volumes."""
    pod = pod_from_template(template, sts["metadata"]["name"], ref)
    meta = pod["metadata"]
    meta.pop("generateName", None)
    meta["name"] = pod_name(sts, ordinal_)
    meta["namespace"] = sts["metadata"]["namespace"]
    labels = meta.setdefault("labels", {})
    labels[POD_NAME_LABEL] = meta["name"]
    labels[POD_INDEX_LABEL] = str(ordinal_)
    labels[CONTROLLER_REVISION_HASH] = revision
    spec = pod["spec"]
    spec["hostname"] = meta["name"]
    service = (sts.get("spec") or {}).get("serviceName")
    if service:
        spec["subdomain"] = service
    claim_templates = (sts.get("spec") or {}).get("volumeClaimTemplates") or ()
    names = {(c.get("metadata") or {}).get("name") for c in claim_templates}
    volumes = [v for v in spec.get("volumes") or () if v.get("name") not in names]
    for claim in claim_templates:
        name = claim["metadata"]["name"]
        volumes.append({"name": name, "persistentVolumeClaim": {
            "claimName": claim_name(sts, name, ordinal_)}})
    if volumes:
        spec["volumes"] = volumes
    return pod


def use_current_revision(sts: dict, ordinal_: int) -> bool:
    """newVersionedStatefulSetPod: pods below the partition (or, without rollingUpdate
    parameters, below currentReplicas) are created at the current revision."""
    strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return False
    rolling = strategy.get("rollingUpdate")
    start = start_ordinal(sts)
    if rolling is None:
        return ordinal_ < start + ((sts.get("status") or {}).get("currentReplicas") or 0)
    return ordinal_ < start + (rolling.get("partition") or 0)


def rolling_update_target(sts: dict, replicas: dict[int, dict], update_revision: str
                          ) -> tuple[str, dict | None]:
    """The next step of a RollingUpdate: ("delete", pod) for the highest-ordinal pod at
    or above the partition not on ``update_revision``; ("wait", pod) when an updated pod
    above it is not yet healthy; ("done", None) otherwise."""
    strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return "done", None
    partition = (strategy.get("rollingUpdate") or {}).get("partition") or 0
    floor = start_ordinal(sts) + partition
    for ord_ in sorted(replicas, reverse=True):
        if ord_ < floor:
            break
        pod = replicas[ord_]
        if revision_of(pod) != update_revision and not is_terminating(pod):
            return "delete", pod
        if not is_healthy(pod):
            return "wait", pod
    return "done", None
