"""Tables for the Deployment arithmetic: fenceposts, rolling sizes, status, proportions."""

from __future__ import annotations

import pytest

from pyk8s.controllers import deployment_util as du
from pyk8s.controllers.deployment_status import calculate_status, rollout_status
from pyk8s.controllers.deployment_sync import proportional_sizes
from pyk8s.controllers.replicaset_status import calculate_status as rs_status


def deploy(replicas=10, surge="25%", unavailable="25%", generation=1, status=None):
    return {"metadata": {"name": "d", "generation": generation, "namespace": "ns"},
            "spec": {"replicas": replicas, "progressDeadlineSeconds": 600,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                         "maxSurge": surge, "maxUnavailable": unavailable}}},
            "status": status or {}}


def rs(name, replicas, available=0, created="2024-01-01T00:00:00Z", max_replicas=None):
    ann = {} if max_replicas is None else {du.MAX_REPLICAS: str(max_replicas)}
    return {"metadata": {"name": name, "uid": name, "creationTimestamp": created,
                         "annotations": ann},
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "readyReplicas": available,
                       "availableReplicas": available}}


@pytest.mark.parametrize("surge,unavailable,replicas,expected", [
    ("25%", "25%", 10, (3, 2)), ("25%", "25%", 1, (1, 0)), (0, 0, 5, (0, 1)),
    ("0%", "0%", 3, (0, 1)), (2, "50%", 3, (2, 1)), ("10%", 0, 4, (1, 0))])
def test_fenceposts(surge, unavailable, replicas, expected):
    assert du.resolve_fenceposts(surge, unavailable, replicas) == expected


def test_new_rs_sizes_bounded_by_surge():
    d = deploy(10)
    new, old = rs("new", 0), rs("old", 10, 10)
    assert du.new_rs_new_replicas(d, [old, new], new) == 3
    assert du.new_rs_new_replicas(d, [rs("old", 13), rs("new", 0)], rs("new", 0)) == 0


def test_status_and_conditions():
    d = deploy(4, 1, 1)
    new, old = rs("new", 2, 1, "2024-01-02T00:00:00Z"), rs("old", 2, 2)
    st = calculate_status(d, [old, new], new)
    assert (st["replicas"], st["updatedReplicas"], st["availableReplicas"],
            st["unavailableReplicas"]) == (4, 2, 3, 1)
    assert du.get_condition(st, "Available")["reason"] == "MinimumReplicasAvailable"
    st = rollout_status(d, [old, new], new)
    assert du.get_condition(st, "Progressing")["reason"] == "ReplicaSetUpdated"
    assert du.get_condition(st, "Progressing")["message"] == 'ReplicaSet "new" is progressing.'
    done = rollout_status(d, [rs("new", 4, 4)], rs("new", 4, 4))
    assert du.get_condition(done, "Progressing")["reason"] == "NewReplicaSetAvailable"


@pytest.mark.parametrize("replicas,sets,expected", [
    # scale up 10 -> 20 mid-rollout (surge 3 -> 5): new and old grow by their share
    (20, [("new", 5, 13, "2"), ("old", 8, 13, "1")], {"new": 10, "old": 15}),
    # scale down 10 -> 5
    (5, [("new", 5, 13, "2"), ("old", 8, 13, "1")], {"new": 3, "old": 4}),
    (0, [("new", 5, 13, "2"), ("old", 8, 13, "1")], {"new": 0, "old": 0}),
])
def test_proportional_scaling(replicas, sets, expected):
    d = deploy(replicas)
    active = [rs(n, r, created=f"2024-01-0{c}T00:00:00Z", max_replicas=m)
              for n, r, m, c in sets]
    sizes, _ = proportional_sizes(d, active)
    assert sizes == expected
    if replicas:
        assert sum(sizes.values()) == replicas + du.max_surge(d)


def test_revision_annotations_on_rollback():
    d = deploy(3)
    reused = {"metadata": {"annotations": {du.REVISION: "1"}}, "spec": {"replicas": 0}}
    assert du.set_new_rs_annotations(d, reused, 3, True)
    assert reused["metadata"]["annotations"][du.REVISION] == "3"
    assert reused["metadata"]["annotations"][du.REVISION_HISTORY] == "1"


def test_replicaset_status_counts_and_failure():
    owner = {"metadata": {"generation": 2},
             "spec": {"replicas": 3, "template": {"metadata": {"labels": {"a": "b"}}}},
             "status": {}}
    pods = [{"metadata": {"labels": {"a": "b"}},
             "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            {"metadata": {"labels": {}}, "status": {}}]
    st = rs_status(owner, pods, "exceeded quota")
    assert (st["replicas"], st["fullyLabeledReplicas"], st["readyReplicas"],
            st["availableReplicas"]) == (2, 1, 1, 1)
    assert st["conditions"][0]["reason"] == "FailedCreate"
    assert "conditions" not in rs_status({**owner, "status": st}, pods, None)


class _ScalingSync:
    """Just enough of DeploymentSync for the old-ReplicaSet reconcile: records each scale."""

    def __init__(self, d: dict, rs_list: list[dict]) -> None:
        self.d, self.rs_list, self.scaled = d, rs_list, {}

    async def scale_rs_and_record(self, rs: dict, size: int) -> tuple[bool, dict]:
        self.scaled[rs["metadata"]["name"]] = size
        current = {**rs, "spec": {**rs["spec"], "replicas": size}}
        self.rs_list = [current if r["metadata"]["uid"] == rs["metadata"]["uid"] else r
                        for r in self.rs_list]
        return True, current


async def test_old_replicaset_still_reporting_pods_it_is_deleting_is_not_scaled_to_zero():
    # The old ReplicaSet was just scaled 4 -> 3 but its status still counts 4 available pods
    # when the new one's two pods turn available: only one more old pod may go (4 - 1 = 3).
    from pyk8s.controllers.deployment_rollout import _reconcile_olds
    old = rs("old", 3, 4)
    new = rs("new", 2, 2, created="2024-01-02T00:00:00Z")
    s = _ScalingSync(deploy(4, 1, 1), [old, new])
    assert await _reconcile_olds(s, [old], new)
    assert s.scaled == {"old": 1}
    assert du.available_within_spec([old, new]) == 5
