"""Tables for the workload helpers: hash, pod ranking, expectations, slow start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pyk8s.controllers.util.expectations import ControllerExpectations
from pyk8s.controllers.util.hashing import (
    SAFE_ALPHABET,
    compute_hash,
    fnv32a,
    safe_encode,
)
from pyk8s.controllers.util.podcontrol import slow_start_batch
from pyk8s.controllers.util.pods import is_pod_available, pods_to_delete

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def test_fnv_and_safe_encoding():
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C
    assert safe_encode("0123456789") == "".join(SAFE_ALPHABET[ord(c) % 27] for c in "0123456789")
    h = compute_hash({"spec": {"containers": [{"image": "a"}]}})
    assert set(h) <= set(SAFE_ALPHABET)
    assert h == compute_hash({"spec": {"containers": [{"image": "a"}]}})
    assert h != compute_hash({"spec": {"containers": [{"image": "a"}]}}, 1)
    assert compute_hash({}, 1) != compute_hash({}, 2)


def pod(name, *, node="n1", phase="Running", ready=True, ready_at=None, created=None,
        restarts=0, cost=None):
    meta = {"name": name, "uid": name, "namespace": "ns",
            "creationTimestamp": (created or NOW - timedelta(hours=1)).strftime(
                "%Y-%m-%dT%H:%M:%SZ")}
    if cost is not None:
        meta["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    conds = [{"type": "Ready", "status": "True" if ready else "False",
              "lastTransitionTime": (ready_at or NOW - timedelta(hours=1)).strftime(
                  "%Y-%m-%dT%H:%M:%SZ")}]
    return {"metadata": meta, "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase, "conditions": conds,
                       "containerStatuses": [{"restartCount": restarts}]}}


@pytest.mark.parametrize("first,second", [
    (pod("a", node=None), pod("b")),                                  # unassigned first
    (pod("a", phase="Pending", ready=False), pod("b", phase="Unknown", ready=False)),
    (pod("a", phase="Unknown", ready=False), pod("b", ready=False)),
    (pod("a", ready=False), pod("b")),                                # not ready first
    (pod("a", cost=-5), pod("b")),                                    # lower cost first
    (pod("a", ready_at=NOW - timedelta(seconds=10)), pod("b")),       # ready more recently
    (pod("a", restarts=3), pod("b")),                                 # more restarts
    (pod("a", created=NOW - timedelta(seconds=5)), pod("b")),         # newer
])
def test_deletion_ranking(first, second):
    assert pods_to_delete([second, first], [second, first], 1, NOW) == [first]


def test_doubled_up_pods_go_first():
    crowded, alone = pod("a", node="busy"), pod("b", node="quiet")
    related = [crowded, alone, pod("c", node="busy")]
    assert pods_to_delete([alone, crowded], related, 1, NOW) == [crowded]


def test_availability_needs_min_ready_seconds():
    p = pod("a", ready_at=NOW - timedelta(seconds=5))
    assert is_pod_available(p, 0, NOW) and is_pod_available(p, 4, NOW)
    assert not is_pod_available(p, 10, NOW)
    assert not is_pod_available(pod("b", ready=False), 0, NOW)


def test_expectations():
    clock = [0.0]
    exp = ControllerExpectations(clock=lambda: clock[0])
    assert exp.satisfied("k")
    exp.expect_creations("k", 2)
    assert not exp.satisfied("k")
    exp.creation_observed("k")
    exp.creation_observed("k")
    assert exp.satisfied("k")
    exp.expect_deletions("k", ["ns/a", "ns/b"])
    exp.deletion_observed("k", "ns/a")
    exp.deletion_observed("k", "ns/a")
    assert exp.pending("k") == (0, 1) and not exp.satisfied("k")
    clock[0] = 301
    assert exp.satisfied("k")


@pytest.mark.parametrize("count,fail_at,calls,successes", [
    (10, None, 10, 10), (10, 1, 1, 0), (10, 2, 3, 1), (10, 4, 7, 3), (0, None, 0, 0)])
async def test_slow_start_batch(count, fail_at, calls, successes):
    made = []

    async def call():
        made.append(1)
        if fail_at is not None and len(made) >= fail_at:
            raise ValueError("quota")

    done, err = await slow_start_batch(count, 1, call)
    assert (len(made), done) == (calls, successes)
    assert (err is None) == (fail_at is None)
