"""Node, status and Lease builders: kubelet shapes, transitions and change detection."""

from __future__ import annotations

import copy

from pyk8s.hollow.nodestatus import (
    NodeModel,
    label_patch,
    lease_object,
    node_object,
    node_status,
    renewed_lease,
    status_changed,
)

T0, T1 = "2025-01-01T00:00:00Z", "2025-01-01T00:00:10Z"
MODEL = NodeModel(name="hn-0", internal_ip="10.255.0.1",
                  capacity={"cpu": "4", "memory": "16Gi", "pods": "110",
                            "ephemeral-storage": "100Gi"},
                  labels={"topology.kubernetes.io/zone": "z1"},
                  taints=({"key": "a", "value": "b", "effect": "NoSchedule"},), boot_id="b")


def test_node_object():
    node = node_object(MODEL, T0)
    assert node["metadata"]["labels"] == {
        "kubernetes.io/hostname": "hn-0", "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": "z1"}
    assert node["spec"]["taints"] == [{"key": "a", "value": "b", "effect": "NoSchedule"}]
    status = node["status"]
    assert status["capacity"]["pods"] == "110" == status["allocatable"]["pods"]
    assert status["addresses"] == [{"type": "InternalIP", "address": "10.255.0.1"},
                                   {"type": "Hostname", "address": "hn-0"}]
    info = status["nodeInfo"]
    assert (info["kubeletVersion"], info["containerRuntimeVersion"]) == \
        ("v1.32.4-pyk8s", "hollow://1.0")
    assert (info["operatingSystem"], info["architecture"], info["bootID"]) == \
        ("linux", "amd64", "b")
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID"),
        ("Ready", "True", "KubeletReady")]
    ready = status["conditions"][3]
    assert ready["message"] == "kubelet is posting ready status"
    assert ready["lastHeartbeatTime"] == ready["lastTransitionTime"] == T0


def test_heartbeat_alone_is_no_change():
    first = node_status(MODEL, None, T0)
    again = node_status(MODEL, first, T1)
    assert again["conditions"][3]["lastHeartbeatTime"] == T1
    assert again["conditions"][3]["lastTransitionTime"] == T0
    assert not status_changed(first, again)


def test_recovery_from_unknown_is_a_transition():
    current = node_status(MODEL, None, T0)
    current["conditions"][3].update(status="Unknown", reason="NodeStatusUnknown")
    desired = node_status(MODEL, current, T1)
    assert desired["conditions"][3]["lastTransitionTime"] == T1
    assert status_changed(current, desired)


def test_changes_that_count():
    base = node_status(MODEL, None, T0)
    for mutate in (lambda s: s["capacity"].update(cpu="2"),
                   lambda s: s["addresses"].pop(0),
                   lambda s: s["nodeInfo"].update(bootID="other"),
                   lambda s: s["conditions"].pop()):
        current = copy.deepcopy(base)
        mutate(current)
        assert status_changed(current, node_status(MODEL, current, T1))
    assert status_changed(None, base)
    extra = copy.deepcopy(base)
    extra["addresses"].append({"type": "ExternalIP", "address": "1.2.3.4"})
    extra["conditions"].append({"type": "NetworkUnavailable", "status": "False"})
    assert not status_changed(extra, node_status(MODEL, extra, T1))


def test_label_patch_on_takeover():
    node = node_object(MODEL, T0)
    assert label_patch(MODEL, node) is None
    node["metadata"]["labels"]["kubernetes.io/os"] = "windows"
    del node["metadata"]["labels"]["topology.kubernetes.io/zone"]
    assert label_patch(MODEL, node) == {"metadata": {"labels": {
        "kubernetes.io/os": "linux", "topology.kubernetes.io/zone": "z1"}}}


def test_lease_and_renewal():
    lease = lease_object("hn-0", "u1", 40, T0)
    assert lease["metadata"]["namespace"] == "kube-node-lease"
    assert lease["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "hn-0", "uid": "u1"}]
    assert lease["spec"] == {"holderIdentity": "hn-0", "leaseDurationSeconds": 40,
                             "renewTime": T0}
    stored = {**lease_object("hn-0", None, 40, T0),
              "metadata": {"name": "hn-0", "namespace": "kube-node-lease",
                           "resourceVersion": "7"}}
    frozen = copy.deepcopy(stored)
    renewed = renewed_lease(stored, "u1", 40, T1)
    assert stored == frozen  # the cached lease is not mutated
    assert renewed["spec"]["renewTime"] == T1
    assert renewed["metadata"]["resourceVersion"] == "7"
    assert renewed["metadata"]["ownerReferences"][0]["uid"] == "u1"
