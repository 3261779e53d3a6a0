"""Workload controllers of ``apps/v1``: Deployment, ReplicaSet, StatefulSet, DaemonSet, and the
ControllerRevisions that StatefulSets and DaemonSets keep their history in.

Counts come straight from ``status`` (upstream prints what the controllers last reported, never
recounts pods); ``spec.replicas`` is defaulted to 1 upstream, so an unset one prints as 1. The
wide columns name the template's containers and images and the selector. Note that Deployments
print the selector's bare string (empty when it selects everything) while the others use the
``<none>`` form, as upstream does.
"""

from __future__ import annotations

import datetime

from .base import (
    Printer,
    age_column,
    age_of,
    as_int,
    column,
    containers_column,
    dig,
    images_column,
    meta,
    name_column,
    name_of,
    template_containers,
)
from .descriptions import doc
from .labels import SelectorError, format_label_selector, format_labels, selector_string


def _replicas(obj: dict) -> int:
    return as_int(dig(obj, "spec", "replicas"), 1)


def _status(obj: dict, field: str) -> int:
    return as_int(dig(obj, "status", field))


# --- Deployment -------------------------------------------------------------------------------


def _deployment_cells(obj: dict, now: datetime.datetime) -> list:
    names, images = template_containers(obj, "spec", "template")
    try:
        selector = selector_string(dig(obj, "spec", "selector"))
    except SelectorError:
        selector = "<invalid>"
    return [
        name_of(obj),
        f"{_status(obj, 'readyReplicas')}/{_replicas(obj)}",
        _status(obj, "updatedReplicas"),
        _status(obj, "availableReplicas"),
        age_of(obj, now),
        names,
        images,
        selector,
    ]


DEPLOYMENT = Printer(
    [
        name_column(),
        column("Ready", "string", "Number of the pod with ready state"),
        column("Up-to-date", "string", doc("extensions/v1beta1.DeploymentStatus.updatedReplicas")),
        column("Available", "string", doc("extensions/v1beta1.DeploymentStatus.availableReplicas")),
        age_column(),
        containers_column(),
        images_column(),
        column("Selector", "string", doc("extensions/v1beta1.DeploymentSpec.selector"), priority=1),
    ],
    _deployment_cells,
)

# --- ReplicaSet -------------------------------------------------------------------------------


def _replica_set_cells(obj: dict, now: datetime.datetime) -> list:
    names, images = template_containers(obj, "spec", "template")
    return [
        name_of(obj),
        _replicas(obj),
        _status(obj, "replicas"),
        _status(obj, "readyReplicas"),
        age_of(obj, now),
        names,
        images,
        format_label_selector(dig(obj, "spec", "selector")),
    ]


REPLICA_SET = Printer(
    [
        name_column(),
        column("Desired", "integer", doc("extensions/v1beta1.ReplicaSetSpec.replicas")),
        column("Current", "integer", doc("extensions/v1beta1.ReplicaSetStatus.replicas")),
        column("Ready", "integer", doc("extensions/v1beta1.ReplicaSetStatus.readyReplicas")),
        age_column(),
        containers_column(),
        images_column(),
        column("Selector", "string", doc("extensions/v1beta1.ReplicaSetSpec.selector"), priority=1),
    ],
    _replica_set_cells,
)

# --- StatefulSet ------------------------------------------------------------------------------


def _stateful_set_cells(obj: dict, now: datetime.datetime) -> list:
    names, images = template_containers(obj, "spec", "template")
    return [
        name_of(obj),
        f"{_status(obj, 'readyReplicas')}/{_replicas(obj)}",
        age_of(obj, now),
        names,
        images,
    ]


STATEFUL_SET = Printer(
    [
        name_column(),
        column("Ready", "string", "Number of the pod with ready state"),
        age_column(),
        containers_column(),
        images_column(),
    ],
    _stateful_set_cells,
)

# --- DaemonSet --------------------------------------------------------------------------------

_DS_STATUS = "extensions/v1beta1.DaemonSetStatus."


def _daemon_set_cells(obj: dict, now: datetime.datetime) -> list:
    names, images = template_containers(obj, "spec", "template")
    return [
        name_of(obj),
        _status(obj, "desiredNumberScheduled"),
        _status(obj, "currentNumberScheduled"),
        _status(obj, "numberReady"),
        _status(obj, "updatedNumberScheduled"),
        _status(obj, "numberAvailable"),
        format_labels(dig(obj, "spec", "template", "spec", "nodeSelector")),
        age_of(obj, now),
        names,
        images,
        format_label_selector(dig(obj, "spec", "selector")),
    ]


DAEMON_SET = Printer(
    [
        name_column(),
        column("Desired", "integer", doc(_DS_STATUS + "desiredNumberScheduled")),
        column("Current", "integer", doc(_DS_STATUS + "currentNumberScheduled")),
        column("Ready", "integer", doc(_DS_STATUS + "numberReady")),
        column("Up-to-date", "integer", doc(_DS_STATUS + "updatedNumberScheduled")),
        column("Available", "integer", doc(_DS_STATUS + "numberAvailable")),
        column("Node Selector", "string", doc("PodSpec.nodeSelector")),
        age_column(),
        containers_column(),
        images_column(),
        column("Selector", "string", doc("extensions/v1beta1.DaemonSetSpec.selector"), priority=1),
    ],
    _daemon_set_cells,
)

# --- ControllerRevision -----------------------------------------------------------------------


def controller_name(obj: dict) -> str:
    """The controlling owner as ``kind.group/name`` (lowercased kind and group), or ``<none>``."""
    for ref in meta(obj).get("ownerReferences") or []:
        if not isinstance(ref, dict) or ref.get("controller") is not True:
            continue
        api_version, kind = str(ref.get("apiVersion") or ""), str(ref.get("kind") or "")
        parts = api_version.split("/")
        group = parts[0] if len(parts) == 2 else ""
        name = str(ref.get("name") or "")
        if len(parts) > 2 or (not group and not kind):
            return name  # upstream cannot parse the group version either
        group_kind = f"{kind}.{group}" if group else kind
        return f"{group_kind.lower()}/{name}"
    return "<none>"


CONTROLLER_REVISION = Printer(
    [
        name_column(),
        column("Controller", "string", "Controller of the object"),
        column("Revision", "string", doc("apps/v1beta1.ControllerRevision.revision")),
        age_column(),
    ],
    lambda obj, now: [
        name_of(obj),
        controller_name(obj),
        as_int(obj.get("revision")),
        age_of(obj, now),
    ],
)

PRINTERS = {
    ("apps", "Deployment"): DEPLOYMENT,
    ("apps", "ReplicaSet"): REPLICA_SET,
    ("apps", "StatefulSet"): STATEFUL_SET,
    ("apps", "DaemonSet"): DAEMON_SET,
    ("apps", "ControllerRevision"): CONTROLLER_REVISION,
}
