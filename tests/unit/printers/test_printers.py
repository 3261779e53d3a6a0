"""Table tests of server-side printing: object dict -> cells, column definitions, human durations.

Expected values are worked out from upstream's printers.go (Kubernetes 1.32) by hand, not by
running our code, so each row documents one upstream behaviour.
"""

from __future__ import annotations

import datetime

import pytest

from pyk8s.apiserver.printers import (
    DEFAULT_PRINTER,
    human_duration,
    partial_object_metadata,
    printer_for,
    registered_kinds,
)
from pyk8s.apiserver.printers.descriptions import doc
from pyk8s.apiserver.printers.timefmt import since
from pyk8s.apiserver.resources import BUILTINS

NOW = datetime.datetime(2024, 6, 15, 12, 0, 0, tzinfo=datetime.timezone.utc)


def ago(**delta: float) -> str:
    """An RFC 3339 timestamp ``delta`` before NOW."""
    when = NOW - datetime.timedelta(**delta)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}"
    return text + "Z"


def obj(name: str = "x", age: dict | None = None, **fields) -> dict:
    """An object named ``name``, created ``age`` (default 5 minutes) before NOW."""
    metadata = {"name": name, "creationTimestamp": ago(**(age or {"minutes": 5}))}
    metadata.update(fields.pop("metadata", {}))
    return {"metadata": metadata, **fields}


def running(name: str, *, restarts: int = 0, finished: str | None = None) -> dict:
    status = {"name": name, "ready": True, "restartCount": restarts, "state": {"running": {}}}
    if finished:
        status["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": finished}}
    return status


# --- human durations --------------------------------------------------------------------------

DURATIONS = [
    (datetime.timedelta(seconds=-3), "<invalid>"),
    (datetime.timedelta(seconds=-2), "<invalid>"),
    (datetime.timedelta(seconds=-1.5), "0s"),
    (datetime.timedelta(seconds=-1), "0s"),
    (datetime.timedelta(0), "0s"),
    (datetime.timedelta(seconds=1.9), "1s"),
    (datetime.timedelta(seconds=5), "5s"),
    (datetime.timedelta(seconds=60), "60s"),
    (datetime.timedelta(seconds=119), "119s"),
    (datetime.timedelta(seconds=120), "2m"),
    (datetime.timedelta(seconds=125), "2m5s"),
    (datetime.timedelta(seconds=599), "9m59s"),
    (datetime.timedelta(minutes=10), "10m"),
    (datetime.timedelta(minutes=60), "60m"),
    (datetime.timedelta(minutes=179, seconds=59), "179m"),
    (datetime.timedelta(hours=3), "3h"),
    (datetime.timedelta(hours=3, minutes=30), "3h30m"),
    (datetime.timedelta(hours=7, minutes=59, seconds=59), "7h59m"),
    (datetime.timedelta(hours=8), "8h"),
    (datetime.timedelta(hours=47, minutes=59), "47h"),
    (datetime.timedelta(hours=48), "2d"),
    (datetime.timedelta(hours=49), "2d1h"),
    (datetime.timedelta(days=7, hours=23), "7d23h"),
    (datetime.timedelta(days=8), "8d"),
    (datetime.timedelta(days=10, hours=5), "10d"),
    (datetime.timedelta(days=729), "729d"),
    (datetime.timedelta(days=730), "2y"),
    (datetime.timedelta(days=733), "2y3d"),
    (datetime.timedelta(days=365 * 8 - 1), "7y364d"),
    (datetime.timedelta(days=365 * 8), "8y"),
    (datetime.timedelta(days=3000), "8y"),
    (datetime.timedelta(days=365 * 20), "20y"),
]


@pytest.mark.parametrize(("delta", "expected"), DURATIONS)
def test_human_duration(delta, expected):
    assert human_duration(delta) == expected


SINCE = [
    (None, "<unknown>"),
    ("", "<unknown>"),
    ("0001-01-01T00:00:00Z", "<unknown>"),
    ("not a time", "<unknown>"),
    ("2024-06-15T11:55:00Z", "5m"),
    ("2024-06-15T13:55:00+02:00", "5m"),
    ("2024-06-15T11:59:30.123456Z", "29s"),
    ("2024-06-15T11:59:30.123456789Z", "29s"),
    ("2024-06-15T12:00:01Z", "0s"),
    ("2024-06-15T12:00:05Z", "<invalid>"),
    ("2022-06-13T12:00:00Z", "2y3d"),  # 733 days: 2024 is a leap year
]


@pytest.mark.parametrize(("stamp", "expected"), SINCE)
def test_since(stamp, expected):
    assert since(stamp, NOW) == expected


def test_since_accepts_naive_now_as_utc():
    assert since("2024-06-15T11:55:00Z", NOW.replace(tzinfo=None)) == "5m"


# --- column definitions -----------------------------------------------------------------------

COLUMNS = {
    ("", "Pod"): [
        ("Name", "string", 0), ("Ready", "string", 0), ("Status", "string", 0),
        ("Restarts", "string", 0), ("Age", "string", 0), ("IP", "string", 1),
        ("Node", "string", 1), ("Nominated Node", "string", 1), ("Readiness Gates", "string", 1),
    ],
    ("", "Node"): [
        ("Name", "string", 0), ("Status", "string", 0), ("Roles", "string", 0),
        ("Age", "string", 0), ("Version", "string", 0), ("Internal-IP", "string", 1),
        ("External-IP", "string", 1), ("OS-Image", "string", 1), ("Kernel-Version", "string", 1),
        ("Container-Runtime", "string", 1),
    ],
    ("", "Service"): [
        ("Name", "string", 0), ("Type", "string", 0), ("Cluster-IP", "string", 0),
        ("External-IP", "string", 0), ("Port(s)", "string", 0), ("Age", "string", 0),
        ("Selector", "string", 1),
    ],
    ("", "Event"): [
        ("Last Seen", "string", 0), ("Type", "string", 0), ("Reason", "string", 0),
        ("Object", "string", 0), ("Subobject", "string", 1), ("Source", "string", 1),
        ("Message", "string", 0), ("First Seen", "string", 1), ("Count", "string", 1),
        ("Name", "string", 1),
    ],
    ("", "ServiceAccount"): [("Name", "string", 0), ("Secrets", "string", 0), ("Age", "string", 0)],
    ("", "ReplicationController"): [
        ("Name", "string", 0), ("Desired", "integer", 0), ("Current", "integer", 0),
        ("Ready", "integer", 0), ("Age", "string", 0), ("Containers", "string", 1),
        ("Images", "string", 1), ("Selector", "string", 1),
    ],
    ("", "PersistentVolumeClaim"): [
        ("Name", "string", 0), ("Status", "string", 0), ("Volume", "string", 0),
        ("Capacity", "string", 0), ("Access Modes", "string", 0), ("StorageClass", "string", 0),
        ("VolumeAttributesClass", "string", 0), ("Age", "string", 0), ("VolumeMode", "string", 1),
    ],
    ("apps", "Deployment"): [
        ("Name", "string", 0), ("Ready", "string", 0), ("Up-to-date", "string", 0),
        ("Available", "string", 0), ("Age", "string", 0), ("Containers", "string", 1),
        ("Images", "string", 1), ("Selector", "string", 1),
    ],
    ("apps", "DaemonSet"): [
        ("Name", "string", 0), ("Desired", "integer", 0), ("Current", "integer", 0),
        ("Ready", "integer", 0), ("Up-to-date", "integer", 0), ("Available", "integer", 0),
        ("Node Selector", "string", 0), ("Age", "string", 0), ("Containers", "string", 1),
        ("Images", "string", 1), ("Selector", "string", 1),
    ],
    ("batch", "Job"): [
        ("Name", "string", 0), ("Status", "string", 0), ("Completions", "string", 0),
        ("Duration", "string", 0), ("Age", "string", 0), ("Containers", "string", 1),
        ("Images", "string", 1), ("Selector", "string", 1),
    ],
    ("batch", "CronJob"): [
        ("Name", "string", 0), ("Schedule", "string", 0), ("Timezone", "string", 0),
        ("Suspend", "boolean", 0), ("Active", "integer", 0), ("Last Schedule", "string", 0),
        ("Age", "string", 0), ("Containers", "string", 1), ("Images", "string", 1),
        ("Selector", "string", 1),
    ],
    ("certificates.k8s.io", "CertificateSigningRequest"): [
        ("Name", "string", 0), ("Age", "string", 0), ("SignerName", "string", 0),
        ("Requestor", "string", 0), ("RequestedDuration", "string", 0), ("Condition", "string", 0),
    ],
    ("scheduling.k8s.io", "PriorityClass"): [
        ("Name", "string", 0), ("Value", "integer", 0), ("Global-Default", "boolean", 0),
        ("Age", "string", 0), ("PreemptionPolicy", "string", 0),
    ],
    ("rbac.authorization.k8s.io", "Role"): [("Name", "string", 0), ("Created At", "date", 0)],
    ("", "LimitRange"): [("Name", "string", 0), ("Created At", "date", 0)],
}


@pytest.mark.parametrize(("key", "expected"), COLUMNS.items(), ids=lambda v: str(v))
def test_column_names_types_priorities(key, expected):
    columns = printer_for(*key).columns
    assert [(c["name"], c["type"], c["priority"]) for c in columns] == expected


def test_every_served_kind_has_well_formed_columns_and_matching_cells():
    for group, _version, kind, *_ in BUILTINS:
        printer = printer_for(group, kind)
        for col in printer.columns:
            assert list(col) == ["name", "type", "format", "description", "priority"]
            assert col["description"], (group, kind, col["name"])
        names = [c["name"] for c in printer.columns if c["format"] == "name"]
        assert names == ["Name"], (group, kind)
        assert len(printer.cells(obj(), NOW)) == len(printer.columns), (group, kind)


def test_default_printer_matches_upstream_default_table_convertor():
    assert DEFAULT_PRINTER.columns == [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": doc("ObjectMeta.name"),
            "priority": 0,
        },
        {
            "name": "Created At",
            "type": "date",
            "format": "",
            "description": doc("ObjectMeta.creationTimestamp"),
            "priority": 0,
        },
    ]
    assert doc("ObjectMeta.name").startswith("Name must be unique within a namespace.")


DEFAULT_CELLS = [
    ({"metadata": {"name": "r", "creationTimestamp": "2024-06-01T10:00:00Z"}},
     ["r", "2024-06-01T10:00:00Z"]),
    ({"metadata": {"name": "r", "creationTimestamp": "2024-06-01T12:00:00+02:00"}},
     ["r", "2024-06-01T10:00:00Z"]),
    ({"metadata": {"name": "r"}}, ["r", "0001-01-01T00:00:00Z"]),
]


@pytest.mark.parametrize(("item", "expected"), DEFAULT_CELLS)
def test_default_cells(item, expected):
    assert printer_for("rbac.authorization.k8s.io", "ClusterRole").cells(item, NOW) == expected


def test_dedicated_printers():
    kinds = set(registered_kinds())
    assert ("events.k8s.io", "Event") in kinds
    for absent in [("", "LimitRange"), ("rbac.authorization.k8s.io", "Role"),
                   ("rbac.authorization.k8s.io", "ClusterRole"), ("", "Binding"),
                   ("example.com", "Widget")]:
        assert absent not in kinds
        assert printer_for(*absent) is DEFAULT_PRINTER


def test_partial_object_metadata():
    item = obj("p", metadata={"namespace": "ns", "labels": {"a": "1"}}, spec={"x": 1})
    assert partial_object_metadata(item) == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": item["metadata"],
    }


# --- pods -------------------------------------------------------------------------------------

POD_CASES = {
    "running": (
        obj("p", spec={"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
            status={"phase": "Running", "podIP": "10.0.0.5",
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [running("a"), running("b")]}),
        ["p", "2/2", "Running", "0", "5m", "10.0.0.5", "n1", "<none>", "<none>"],
    ),
    "pending-without-statuses": (
        obj("p", age={"seconds": 10}, spec={"containers": [{"name": "a"}]},
            status={"phase": "Pending"}),
        ["p", "0/1", "Pending", "0", "10s", "<none>", "<none>", "<none>", "<none>"],
    ),
    "second-init-container-running": (
        obj("p", spec={"initContainers": [{"name": "i1"}, {"name": "i2"}],
                       "containers": [{"name": "a"}]},
            status={"phase": "Pending",
                    "initContainerStatuses": [
                        {"name": "i1", "state": {"terminated": {"exitCode": 0,
                                                                "reason": "Completed"}}},
                        {"name": "i2", "state": {"running": {}}}],
                    "containerStatuses": [{"name": "a", "state": {
                        "waiting": {"reason": "PodInitializing"}}}]}),
        ["p", "0/1", "Init:1/2", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "init-container-crashlooping": (
        obj("p", spec={"initContainers": [{"name": "i"}], "containers": [{"name": "a"}]},
            status={"phase": "Pending",
                    "initContainerStatuses": [{
                        "name": "i", "restartCount": 3,
                        "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(minutes=2)}},
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
        ["p", "0/1", "Init:CrashLoopBackOff", "3 (2m ago)", "5m", "<none>", "<none>", "<none>",
         "<none>"],
    ),
    "init-container-failed-without-reason": (
        obj("p", spec={"initContainers": [{"name": "i"}], "containers": [{"name": "a"}]},
            status={"phase": "Pending", "initContainerStatuses": [
                {"name": "i", "state": {"terminated": {"exitCode": 2}}}]}),
        ["p", "0/1", "Init:ExitCode:2", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "init-container-killed-by-signal": (
        obj("p", spec={"initContainers": [{"name": "i"}], "containers": [{"name": "a"}]},
            status={"phase": "Pending", "initContainerStatuses": [
                {"name": "i", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}),
        ["p", "0/1", "Init:Signal:9", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "init-container-podinitializing-counts-as-progress": (
        obj("p", spec={"initContainers": [{"name": "i"}], "containers": [{"name": "a"}]},
            status={"phase": "Pending", "initContainerStatuses": [
                {"name": "i", "state": {"waiting": {"reason": "PodInitializing"}}}]}),
        ["p", "0/1", "Init:0/1", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "init-done-app-container-initializing": (
        obj("p", spec={"initContainers": [{"name": "i"}], "containers": [{"name": "a"}]},
            status={"phase": "Pending",
                    "initContainerStatuses": [
                        {"name": "i", "state": {"terminated": {"exitCode": 0}}}],
                    "containerStatuses": [
                        {"name": "a", "state": {"waiting": {"reason": "PodInitializing"}}}]}),
        ["p", "0/1", "PodInitializing", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "crashloop-with-last-restart": (
        obj("p", spec={"containers": [{"name": "a"}]},
            status={"phase": "Running", "containerStatuses": [{
                "name": "a", "ready": False, "restartCount": 5,
                "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(seconds=30)}},
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
        ["p", "0/1", "CrashLoopBackOff", "5 (30s ago)", "5m", "<none>", "<none>", "<none>",
         "<none>"],
    ),
    "restarts-without-termination-time": (
        obj("p", spec={"containers": [{"name": "a"}]},
            status={"phase": "Running", "containerStatuses": [running("a", restarts=4)]}),
        ["p", "1/1", "Running", "4", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "completed": (
        obj("p", spec={"containers": [{"name": "a"}]},
            status={"phase": "Succeeded", "containerStatuses": [{
                "name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
        ["p", "0/1", "Completed", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "completed-container-beside-running-one-not-ready": (
        obj("p", spec={"containers": [{"name": "a"}, {"name": "b"}]},
            status={"phase": "Running", "containerStatuses": [
                {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                running("b")]}),
        ["p", "1/2", "NotReady", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "completed-container-beside-running-one-ready": (
        obj("p", spec={"containers": [{"name": "a"}, {"name": "b"}]},
            status={"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [
                        {"name": "a", "state": {"terminated": {"exitCode": 0,
                                                               "reason": "Completed"}}},
                        running("b")]}),
        ["p", "1/2", "Running", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "first-container-wins": (
        obj("p", spec={"containers": [{"name": "a"}, {"name": "b"}]},
            status={"phase": "Running", "containerStatuses": [
                {"name": "a", "state": {"waiting": {"reason": "ImagePullBackOff"}}},
                {"name": "b", "state": {"waiting": {"reason": "ErrImagePull"}}}]}),
        ["p", "0/2", "ImagePullBackOff", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "terminated-exit-code": (
        obj("p", spec={"containers": [{"name": "a"}]},
            status={"phase": "Failed", "containerStatuses": [
                {"name": "a", "state": {"terminated": {"exitCode": 137}}}]}),
        ["p", "0/1", "ExitCode:137", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "terminated-signal": (
        obj("p", spec={"containers": [{"name": "a"}]},
            status={"phase": "Failed", "containerStatuses": [
                {"name": "a", "state": {"terminated": {"exitCode": 143, "signal": 15}}}]}),
        ["p", "0/1", "Signal:15", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "terminating": (
        obj("p", metadata={"deletionTimestamp": ago(seconds=1)},
            spec={"containers": [{"name": "a"}]},
            status={"phase": "Running", "containerStatuses": [running("a")]}),
        ["p", "1/1", "Terminating", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "deleting-finished-pod-keeps-its-status": (
        obj("p", metadata={"deletionTimestamp": ago(seconds=1)},
            spec={"containers": [{"name": "a"}]},
            status={"phase": "Succeeded", "containerStatuses": [{
                "name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
        ["p", "0/1", "Completed", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "node-lost": (
        obj("p", metadata={"deletionTimestamp": ago(seconds=1)},
            spec={"containers": [{"name": "a"}]},
            status={"phase": "Running", "reason": "NodeLost"}),
        ["p", "0/1", "Unknown", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "evicted": (
        obj("p", spec={"containers": [{"name": "a"}]},
            status={"phase": "Failed", "reason": "Evicted"}),
        ["p", "0/1", "Evicted", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "scheduling-gated": (
        obj("p", spec={"containers": [{"name": "a"}]},
            status={"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
        ["p", "0/1", "SchedulingGated", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "sidecar-counts-as-container-and-restart": (
        obj("p", spec={"initContainers": [{"name": "s", "restartPolicy": "Always"}],
                       "containers": [{"name": "a"}]},
            status={"phase": "Running",
                    "conditions": [{"type": "Initialized", "status": "True"},
                                   {"type": "Ready", "status": "True"}],
                    "initContainerStatuses": [
                        {**running("s", restarts=2, finished=ago(hours=1)), "started": True}],
                    "containerStatuses": [running("a", restarts=1, finished=ago(minutes=10))]}),
        ["p", "2/2", "Running", "3 (10m ago)", "5m", "<none>", "<none>", "<none>", "<none>"],
    ),
    "wide-columns": (
        obj("p", spec={"containers": [{"name": "a"}],
                       "readinessGates": [{"conditionType": "x"}, {"conditionType": "y"}]},
            status={"phase": "Pending", "podIPs": [{"ip": "fd00::1"}],
                    "nominatedNodeName": "n2",
                    "conditions": [{"type": "x", "status": "True"},
                                   {"type": "y", "status": "False"}]}),
        ["p", "0/1", "Pending", "0", "5m", "fd00::1", "<none>", "n2", "1/2"],
    ),
    "pod-ip-beats-pod-ips": (
        obj("p", spec={"containers": []},
            status={"phase": "Pending", "podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.8"}]}),
        ["p", "0/0", "Pending", "0", "5m", "10.0.0.9", "<none>", "<none>", "<none>"],
    ),
}


@pytest.mark.parametrize(("pod", "expected"), POD_CASES.values(), ids=POD_CASES.keys())
def test_pod_cells(pod, expected):
    assert printer_for("", "Pod").cells(pod, NOW) == expected


def test_pod_row_conditions():
    printer = printer_for("", "Pod")
    assert printer.conditions(obj(status={"phase": "Succeeded"})) == [{
        "type": "Completed", "status": "True", "reason": "Succeeded",
        "message": "The pod has completed successfully."}]
    assert printer.conditions(obj(status={"phase": "Failed"}))[0]["message"] == "The pod failed."
    assert printer.conditions(obj(status={"phase": "Running"})) is None
    assert printer_for("", "Node").conditions(obj()) is None


# --- every other kind -------------------------------------------------------------------------

CASES = [
    # Node
    ("", "Node", obj("n", age={"days": 3},
                     metadata={"labels": {"node-role.kubernetes.io/control-plane": "",
                                          "kubernetes.io/hostname": "n"}},
                     status={"conditions": [{"type": "MemoryPressure", "status": "False"},
                                            {"type": "Ready", "status": "True"}],
                             "addresses": [{"type": "InternalIP", "address": "10.0.0.1"},
                                           {"type": "Hostname", "address": "n"}],
                             "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Ubuntu 22.04",
                                          "kernelVersion": "6.1.0",
                                          "containerRuntimeVersion": "containerd://1.7.0"}}),
     ["n", "Ready", "control-plane", "3d", "v1.32.0", "10.0.0.1", "<none>", "Ubuntu 22.04",
      "6.1.0", "containerd://1.7.0"]),
    ("", "Node", obj("n", metadata={"labels": {"kubernetes.io/role": "worker",
                                               "node-role.kubernetes.io/infra": "",
                                               "node-role.kubernetes.io/": ""}},
                     spec={"unschedulable": True},
                     status={"conditions": [{"type": "Ready", "status": "Unknown"}],
                             "addresses": [{"type": "ExternalIP", "address": "1.2.3.4"}]}),
     ["n", "NotReady,SchedulingDisabled", "infra,worker", "5m", "", "<none>", "1.2.3.4",
      "<unknown>", "<unknown>", "<unknown>"]),
    ("", "Node", obj("n", metadata={"labels": {"node-role.kubernetes.io/": ""}}),
     ["n", "Unknown", "<none>", "5m", "", "<none>", "<none>", "<unknown>", "<unknown>",
      "<unknown>"]),
    # Namespace, ConfigMap, Secret, ServiceAccount
    ("", "Namespace", obj("ns", status={"phase": "Active"}), ["ns", "Active", "5m"]),
    ("", "ConfigMap", obj("cm", data={"a": "1", "b": "2"}, binaryData={"c": "AA=="}),
     ["cm", 3, "5m"]),
    ("", "ConfigMap", obj("cm"), ["cm", 0, "5m"]),
    ("", "Secret", obj("s", type="Opaque", data={"a": "MQ==", "b": "Mg=="}),
     ["s", "Opaque", 2, "5m"]),
    ("", "ServiceAccount", obj("default", secrets=[{"name": "t"}]), ["default", 1, "5m"]),
    ("", "ServiceAccount", obj("default"), ["default", 0, "5m"]),
    # Service
    ("", "Service", obj("dns", spec={"type": "ClusterIP", "clusterIP": "10.96.0.10",
                                     "clusterIPs": ["10.96.0.10"],
                                     "ports": [{"port": 53, "protocol": "UDP"},
                                               {"port": 53, "protocol": "TCP"}],
                                     "selector": {"k8s-app": "kube-dns"}}),
     ["dns", "ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP", "5m", "k8s-app=kube-dns"]),
    ("", "Service", obj("np", spec={"type": "NodePort", "clusterIP": "10.96.1.1",
                                    "externalIPs": ["1.2.3.4"],
                                    "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                                              {"port": 443, "nodePort": 30001,
                                               "protocol": "TCP"}],
                                    "selector": {"b": "2", "a": "1"}}),
     ["np", "NodePort", "10.96.1.1", "1.2.3.4", "80:30080/TCP,443:30001/TCP", "5m", "a=1,b=2"]),
    ("", "Service", obj("lb", spec={"type": "LoadBalancer", "clusterIPs": ["10.96.2.2"],
                                    "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}]}),
     ["lb", "LoadBalancer", "10.96.2.2", "<pending>", "80:31000/TCP", "5m", "<none>"]),
    ("", "Service", obj("lb", spec={"type": "LoadBalancer", "clusterIPs": ["10.96.2.2"],
                                    "externalIPs": ["9.9.9.9"], "ports": []},
                        status={"loadBalancer": {"ingress": [{"hostname": "lb.example.com"},
                                                             {"ip": "5.6.7.8"},
                                                             {"ip": "5.6.7.8"}]}}),
     ["lb", "LoadBalancer", "10.96.2.2", "5.6.7.8,lb.example.com,9.9.9.9", "<none>", "5m",
      "<none>"]),
    ("", "Service", obj("ext", spec={"type": "ExternalName", "externalName": "example.com"}),
     ["ext", "ExternalName", "<none>", "example.com", "<none>", "5m", "<none>"]),
    ("", "Service", obj("headless", spec={"type": "ClusterIP", "clusterIP": "None",
                                          "ports": [{"port": 5432, "protocol": "TCP"}]}),
     ["headless", "ClusterIP", "None", "<none>", "5432/TCP", "5m", "<none>"]),
    # Endpoints
    ("", "Endpoints", obj("e", subsets=[{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                                         "ports": [{"port": 80}]}]),
     ["e", "10.0.0.1:80,10.0.0.2:80", "5m"]),
    ("", "Endpoints", obj("e", subsets=[{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 6)],
                                         "ports": [{"port": 80}]}]),
     ["e", "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...", "5m"]),
    ("", "Endpoints", obj("e", subsets=[{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                                         "ports": [{"port": 80}, {"port": 443}]}]),
     ["e", "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...", "5m"]),
    ("", "Endpoints", obj("e", subsets=[{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]}]),
     ["e", "10.0.0.1,10.0.0.2", "5m"]),
    ("", "Endpoints", obj("e", subsets=[{"addresses": [{"ip": "fd00::1"}],
                                         "ports": [{"port": 8080}]}]),
     ["e", "[fd00::1]:8080", "5m"]),
    ("", "Endpoints", obj("e"), ["e", "<none>", "5m"]),
    # ResourceQuota
    ("", "ResourceQuota", obj("q", status={
        "hard": {"pods": "10", "requests.cpu": "1", "limits.memory": "2Gi", "limits.cpu": "2"},
        "used": {"pods": "3", "requests.cpu": "500m", "limits.cpu": "1"}}),
     ["q", "pods: 3/10, requests.cpu: 500m/1", "limits.cpu: 1/2, limits.memory: 0/2Gi", "5m"]),
    # ReplicationController, PodTemplate
    ("", "ReplicationController", obj("rc", spec={
        "replicas": 3, "selector": {"app": "web"},
        "template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
        status={"replicas": 3, "readyReplicas": 2}),
     ["rc", 3, 3, 2, "5m", "web", "nginx", "app=web"]),
    ("", "PodTemplate", obj("pt", template={
        "metadata": {"labels": {"b": "2", "a": "1"}},
        "spec": {"containers": [{"name": "c1", "image": "i1"}, {"name": "c2", "image": "i2"}]}}),
     ["pt", "c1,c2", "i1,i2", "a=1,b=2"]),
    # Events
    ("", "Event", obj("web-1.17a", firstTimestamp=ago(minutes=10), lastTimestamp=ago(minutes=5),
                      count=3, type="Normal", reason="Pulled",
                      involvedObject={"kind": "Pod", "name": "web-1",
                                      "fieldPath": "spec.containers{web}"},
                      source={"component": "kubelet", "host": "node1"},
                      message=" Pulled image \n"),
     ["5m", "Normal", "Pulled", "pod/web-1", "spec.containers{web}", "kubelet, node1",
      "Pulled image", "10m", 3, "web-1.17a"]),
    ("", "Event", obj("e", eventTime=ago(seconds=30), type="Normal", reason="Scheduled",
                      involvedObject={"kind": "Pod", "name": "p"},
                      reportingComponent="default-scheduler", reportingInstance="",
                      source={}, message="Assigned"),
     ["30s", "Normal", "Scheduled", "pod/p", "", "default-scheduler", "Assigned", "30s", 1,
      "e"]),
    ("", "Event", obj("e", eventTime=ago(minutes=9), type="Warning", reason="BackOff",
                      series={"count": 4, "lastObservedTime": ago(seconds=20)},
                      involvedObject={"kind": "Node"}, message="m"),
     ["20s", "Warning", "BackOff", "node", "", "", "m", "9m", 4, "e"]),
    ("events.k8s.io", "Event", {
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "web.1", "creationTimestamp": ago(seconds=90)},
        "eventTime": ago(seconds=90), "type": "Normal", "reason": "ScalingReplicaSet",
        "regarding": {"kind": "Deployment", "name": "web"}, "note": "Scaled up",
        "reportingController": "deployment-controller", "reportingInstance": "cm-1"},
     ["90s", "Normal", "ScalingReplicaSet", "deployment/web", "", "deployment-controller, cm-1",
      "Scaled up", "90s", 1, "web.1"]),
    ("events.k8s.io", "Event", obj("e", deprecatedFirstTimestamp=ago(hours=3),
                                   deprecatedLastTimestamp=ago(hours=1), deprecatedCount=7,
                                   deprecatedSource={"component": "kubelet"},
                                   regarding={"kind": "Pod", "name": "p"}, note="n",
                                   type="Normal", reason="R"),
     ["60m", "Normal", "R", "pod/p", "", "kubelet", "n", "3h", 7, "e"]),
    # Volumes
    ("", "PersistentVolume", obj("pv1", spec={
        "capacity": {"storage": "10Gi"},
        "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"],
        "persistentVolumeReclaimPolicy": "Retain",
        "claimRef": {"namespace": "default", "name": "data"},
        "storageClassName": "standard", "volumeMode": "Filesystem"},
        status={"phase": "Bound"}),
     ["pv1", "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "standard", "<unset>", "",
      "5m", "Filesystem"]),
    ("", "PersistentVolume", obj("pv2", metadata={
        "deletionTimestamp": ago(seconds=1),
        "annotations": {"volume.beta.kubernetes.io/storage-class": "old"}},
        spec={"accessModes": ["ReadWriteOncePod", "ReadOnlyMany"], "storageClassName": "new",
              "volumeAttributesClassName": "gold"},
        status={"phase": "Released", "reason": "R"}),
     ["pv2", "0", "ROX,RWOP", "", "Terminating", "", "old", "gold", "R", "5m", "<unset>"]),
    ("", "PersistentVolumeClaim", obj("c", spec={
        "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "standard"},
        status={"phase": "Pending"}),
     ["c", "Pending", "", "", "", "standard", "<unset>", "5m", "<unset>"]),
    ("", "PersistentVolumeClaim", obj("c", spec={"volumeName": "pv1", "volumeMode": "Block"},
                                      status={"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                                              "capacity": {"storage": "10Gi"}}),
     ["c", "Bound", "pv1", "10Gi", "RWO", "", "<unset>", "5m", "Block"]),
    ("storage.k8s.io", "StorageClass", obj(
        "standard", metadata={"annotations": {"storageclass.kubernetes.io/is-default-class":
                                              "true"}},
        provisioner="rancher.io/local-path", volumeBindingMode="WaitForFirstConsumer",
        allowVolumeExpansion=True),
     ["standard (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", True,
      "5m"]),
    ("storage.k8s.io", "StorageClass", obj("slow", provisioner="p", reclaimPolicy="Retain"),
     ["slow", "p", "Retain", "Immediate", False, "5m"]),
    # apps
    ("apps", "Deployment", obj("web", spec={
        "replicas": 3, "selector": {"matchLabels": {"app": "web"}},
        "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
        status={"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}),
     ["web", "2/3", 3, 2, "5m", "web", "nginx:1.27", "app=web"]),
    ("apps", "Deployment", obj("web", spec={"selector": {
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
                             {"key": "env", "operator": "Exists"}]}}),
     ["web", "0/1", 0, 0, "5m", "", "", "app=web,env,tier in (a,b)"]),
    ("apps", "Deployment", obj("web", spec={"replicas": 0, "selector": {}}),
     ["web", "0/0", 0, 0, "5m", "", "", ""]),
    ("apps", "Deployment", obj("web", spec={"selector": {"matchExpressions": [
        {"key": "a", "operator": "Bogus", "values": ["x"]}]}}),
     ["web", "0/1", 0, 0, "5m", "", "", "<invalid>"]),
    ("apps", "ReplicaSet", obj("rs", spec={
        "replicas": 2, "selector": {"matchExpressions": [
            {"key": "a", "operator": "NotIn", "values": ["x"]},
            {"key": "b", "operator": "DoesNotExist"}]},
        "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
        status={"replicas": 2, "readyReplicas": 1}),
     ["rs", 2, 2, 1, "5m", "c", "i", "a notin (x),!b"]),
    ("apps", "ReplicaSet", obj("rs", spec={"replicas": 1}),
     ["rs", 1, 0, 0, "5m", "", "", "<none>"]),
    ("apps", "ReplicaSet", obj("rs", spec={"selector": {"matchExpressions": [
        {"key": "a", "operator": "In"}]}}),
     ["rs", 1, 0, 0, "5m", "", "", "<error>"]),
    ("apps", "StatefulSet", obj("db", spec={
        "replicas": 3,
        "template": {"spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}}},
        status={"readyReplicas": 3}),
     ["db", "3/3", "5m", "pg", "postgres:16"]),
    ("apps", "DaemonSet", obj("ds", spec={
        "selector": {"matchLabels": {"app": "ds"}},
        "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"},
                              "containers": [{"name": "a", "image": "x"},
                                             {"name": "b", "image": "y"}]}}},
        status={"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                "updatedNumberScheduled": 3, "numberAvailable": 2}),
     ["ds", 3, 3, 2, 3, 2, "kubernetes.io/os=linux", "5m", "a,b", "x,y", "app=ds"]),
    ("apps", "ControllerRevision", obj("ds-7f", metadata={"ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "controller": True}]},
        revision=2),
     ["ds-7f", "daemonset.apps/ds", 2, "5m"]),
    ("apps", "ControllerRevision", obj("r", metadata={"ownerReferences": [
        {"apiVersion": "v1", "kind": "Foo", "name": "f", "controller": True}]}, revision=1),
     ["r", "foo/f", 1, "5m"]),
    ("apps", "ControllerRevision", obj("r", metadata={"ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "s"}]}, revision=1),
     ["r", "<none>", 1, "5m"]),
    # batch
    ("batch", "Job", obj("pi", spec={
        "completions": 1, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}},
        "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}},
        status={"succeeded": 1, "startTime": ago(minutes=5), "completionTime": ago(minutes=4.5),
                "conditions": [{"type": "Complete", "status": "True"}]}),
     ["pi", "Complete", "1/1", "30s", "5m", "pi", "perl",
      "batch.kubernetes.io/controller-uid=u"]),
    ("batch", "Job", obj("q", spec={"parallelism": 3},
                         status={"succeeded": 1, "startTime": ago(minutes=3)}),
     ["q", "Running", "1/1 of 3", "3m", "5m", "", "", "<none>"]),
    ("batch", "Job", obj("f", spec={"completions": 5},
                         status={"startTime": ago(minutes=3), "conditions": [
                             {"type": "FailureTarget", "status": "True"},
                             {"type": "Failed", "status": "True"}]}),
     ["f", "Failed", "0/5", "3m", "5m", "", "", "<none>"]),
    ("batch", "Job", obj("t", metadata={"deletionTimestamp": ago(seconds=1)},
                         spec={"parallelism": 1}),
     ["t", "Terminating", "0/1", "", "5m", "", "", "<none>"]),
    ("batch", "Job", obj("s", status={"conditions": [{"type": "Suspended", "status": "True"}]}),
     ["s", "Suspended", "0/1", "", "5m", "", "", "<none>"]),
    ("batch", "Job", obj("ft", status={"conditions": [
        {"type": "Complete", "status": "False"}, {"type": "FailureTarget", "status": "True"}]}),
     ["ft", "FailureTarget", "0/1", "", "5m", "", "", "<none>"]),
    ("batch", "CronJob", obj("cj", spec={
        "schedule": "*/5 * * * *", "suspend": False,
        "jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "hello", "image": "busybox"}]}}}}},
        status={"active": [{"name": "cj-1"}], "lastScheduleTime": ago(minutes=2)}),
     ["cj", "*/5 * * * *", "<none>", "False", 1, "2m", "5m", "hello", "busybox", "<none>"]),
    ("batch", "CronJob", obj("cj", spec={"schedule": "@daily", "timeZone": "Etc/UTC"}),
     ["cj", "@daily", "Etc/UTC", "<unset>", 0, "<none>", "5m", "", "", "<none>"]),
    # networking
    ("networking.k8s.io", "Ingress", obj("ing", spec={
        "ingressClassName": "nginx", "rules": [{"host": "a.com"}, {"host": "b.com"}],
        "tls": [{"hosts": ["a.com"]}]},
        status={"loadBalancer": {"ingress": [{"ip": "1.1.1.1"}]}}),
     ["ing", "nginx", "a.com,b.com", "1.1.1.1", "80, 443", "5m"]),
    ("networking.k8s.io", "Ingress", obj("ing", spec={
        "rules": [{"host": h} for h in "abcde"]}),
     ["ing", "<none>", "a,b,c + 2 more...", "", "80", "5m"]),
    ("networking.k8s.io", "Ingress", obj("ing", spec={
        "rules": [{"host": "a"}, {"host": "b"}, {"host": "c"}, {}]}),
     ["ing", "<none>", "a,b,c + 1 more...", "", "80", "5m"]),
    ("networking.k8s.io", "Ingress", obj("ing", spec={"rules": [{}]}),
     ["ing", "<none>", "*", "", "80", "5m"]),
    ("networking.k8s.io", "IngressClass", obj("nginx", spec={
        "controller": "k8s.io/ingress-nginx",
        "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters",
                       "name": "external-lb"}}),
     ["nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external-lb", "5m"]),
    ("networking.k8s.io", "IngressClass", obj("c", spec={
        "controller": "x", "parameters": {"kind": "ConfigMap", "name": "cfg"}}),
     ["c", "x", "ConfigMap/cfg", "5m"]),
    ("networking.k8s.io", "NetworkPolicy", obj("deny", spec={"podSelector": {}}),
     ["deny", "<none>", "5m"]),
    ("networking.k8s.io", "NetworkPolicy", obj("db", spec={
        "podSelector": {"matchLabels": {"role": "db"}}}),
     ["db", "role=db", "5m"]),
    ("discovery.k8s.io", "EndpointSlice", obj("s", addressType="IPv4",
                                               ports=[{"name": "http", "port": 80,
                                                       "protocol": "TCP"}],
                                               endpoints=[{"addresses": ["10.0.0.1"]},
                                                          {"addresses": ["10.0.0.2"]}]),
     ["s", "IPv4", "80", "10.0.0.1,10.0.0.2", "5m"]),
    ("discovery.k8s.io", "EndpointSlice", obj("s", addressType="IPv6",
                                               ports=[{"name": "http"}, {}, {"port": 82},
                                                      {"port": 83}],
                                               endpoints=[]),
     ["s", "IPv6", "http,*,82 + 1 more...", "<unset>", "5m"]),
    # rbac
    ("rbac.authorization.k8s.io", "RoleBinding", obj("rb", roleRef={
        "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        subjects=[{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
                  {"kind": "ServiceAccount", "name": "sa1", "namespace": "default"},
                  {"kind": "User", "name": "bob"}]),
     ["rb", "ClusterRole/view", "5m", "alice, bob", "devs", "default/sa1"]),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding", obj("crb", roleRef={
        "kind": "ClusterRole", "name": "cluster-admin"}),
     ["crb", "ClusterRole/cluster-admin", "5m", "", "", ""]),
    # cluster-level kinds
    ("certificates.k8s.io", "CertificateSigningRequest", obj("csr", spec={
        "signerName": "kubernetes.io/kube-apiserver-client", "username": "alice",
        "expirationSeconds": 86400},
        status={"conditions": [{"type": "Approved", "status": "True"}], "certificate": "LS0t"}),
     ["csr", "5m", "kubernetes.io/kube-apiserver-client", "alice", "24h", "Approved,Issued"]),
    ("certificates.k8s.io", "CertificateSigningRequest", obj("csr", spec={
        "expirationSeconds": 3600},
        status={"conditions": [{"type": "Approved"}, {"type": "Denied"}, {"type": "Failed"}]}),
     ["csr", "5m", "<none>", "", "60m", "Denied,Failed"]),
    ("certificates.k8s.io", "CertificateSigningRequest", obj("csr", spec={}),
     ["csr", "5m", "<none>", "", "<none>", "Pending"]),
    ("coordination.k8s.io", "Lease", obj("node1", spec={"holderIdentity": "node1"}),
     ["node1", "node1", "5m"]),
    ("coordination.k8s.io", "Lease", obj("l"), ["l", "", "5m"]),
    ("policy", "PodDisruptionBudget", obj("pdb", spec={"minAvailable": 2},
                                          status={"disruptionsAllowed": 1}),
     ["pdb", "2", "N/A", 1, "5m"]),
    ("policy", "PodDisruptionBudget", obj("pdb", spec={"maxUnavailable": "25%"}),
     ["pdb", "N/A", "25%", 0, "5m"]),
    ("scheduling.k8s.io", "PriorityClass", obj("system-node-critical", value=2000001000,
                                               preemptionPolicy="PreemptLowerPriority"),
     ["system-node-critical", 2000001000, False, "5m", "PreemptLowerPriority"]),
    ("scheduling.k8s.io", "PriorityClass", obj("d", value=10, globalDefault=True),
     ["d", 10, True, "5m", ""]),
]


@pytest.mark.parametrize(
    ("group", "kind", "item", "expected"),
    CASES,
    ids=[f"{kind}-{i}" for i, (_, kind, _, _) in enumerate(CASES)],
)
def test_cells(group, kind, item, expected):
    assert printer_for(group, kind).cells(item, NOW) == expected


def test_every_dedicated_printer_has_a_case():
    covered = {(group, kind) for group, kind, _, _ in CASES} | {("", "Pod")}
    assert set(registered_kinds()) <= covered
