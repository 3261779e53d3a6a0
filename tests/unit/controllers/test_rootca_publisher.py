"""The root CA publisher's repair rule and the GC monitors' filters, as tables."""

from __future__ import annotations

import pytest

from pyk8s.client.discovery import Resource
from pyk8s.controllers.gc_monitors import graph_relevant, monitorable
from pyk8s.controllers.rootcacertpublisher import (
    DESCRIPTION,
    DESCRIPTION_ANNOTATION,
    desired_configmap,
    repaired,
)

CA = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"


def test_desired_configmap_is_right_as_created():
    assert repaired(desired_configmap("ns", CA), CA) is None


@pytest.mark.parametrize("data, annotations", [
    ({"ca.crt": "old"}, {DESCRIPTION_ANNOTATION: DESCRIPTION}),
    ({"ca.crt": CA, "extra": "x"}, {DESCRIPTION_ANNOTATION: DESCRIPTION}),
    ({"ca.crt": CA}, {"other": "kept"}),
    (None, None),
])
def test_repaired_restores_data_and_description(data, annotations):
    cm = {"metadata": {"name": "kube-root-ca.crt", "namespace": "ns",
                       "resourceVersion": "5", "annotations": annotations}, "data": data}
    fixed = repaired(cm, CA)
    assert fixed["data"] == {"ca.crt": CA}
    assert fixed["metadata"]["annotations"][DESCRIPTION_ANNOTATION] == DESCRIPTION
    assert fixed["metadata"]["resourceVersion"] == "5"
    assert cm["data"] == data  # the cached object is untouched
    if annotations and "other" in annotations:
        assert fixed["metadata"]["annotations"]["other"] == "kept"


def test_monitorable_needs_list_watch_delete_and_skips_events():
    full = frozenset({"list", "watch", "delete", "get"})
    resources = [Resource("", "v1", "pods", "Pod", True, full),
                 Resource("", "v1", "events", "Event", True, full),
                 Resource("events.k8s.io", "v1", "events", "Event", True, full),
                 Resource("", "v1", "bindings", "Binding", True, frozenset({"create"}))]
    assert [r.plural for r in monitorable(resources)] == ["pods"]


@pytest.mark.parametrize("change, relevant", [
    ({"labels": {"a": "b"}}, False),
    ({"ownerReferences": [{"uid": "u"}]}, True),
    ({"finalizers": ["f"]}, True),
    ({"deletionTimestamp": "2024-01-01T00:00:00Z"}, True),
])
def test_graph_relevant_updates(change, relevant):
    old = {"metadata": {"name": "x", "uid": "1"}}
    new = {"metadata": {**old["metadata"], **change}}
    assert graph_relevant(old, new) == relevant
