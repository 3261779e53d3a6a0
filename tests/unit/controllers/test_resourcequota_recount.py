"""The resource quota controller's recount: the shared tally of a namespace's objects and
when status must be written."""

from __future__ import annotations

from pyk8s.apiserver.admission.quantities import parse_list
from pyk8s.apiserver.admission.resourcequota.usage import Kind, tally
from pyk8s.controllers.resourcequota import needs_write

PODS, SERVICES, DEPLOYMENTS = Kind("", "pods"), Kind("", "services"), Kind("apps", "deployments")


def pod(cpu="100m", phase="Running", deadline=None):
    spec = {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    return {"metadata": {"name": "p"}, "spec": spec, "status": {"phase": phase}}


def quota(hard, **spec):
    return {"metadata": {"name": "q", "namespace": "ns"}, "spec": {"hard": hard, **spec}}


def test_tally_counts_each_resource_from_its_kind():
    hard = {"pods": "10", "requests.cpu": "4", "count/pods": "10", "services": "5",
            "services.nodeports": "2", "count/deployments.apps": "3", "secrets": "1"}
    listed = [(PODS, [pod(), pod("250m"), pod("1", phase="Succeeded")]),
              (SERVICES, [{"spec": {"type": "NodePort", "ports": [{}, {}]}}]),
              (DEPLOYMENTS, [{}, {}])]
    used = tally(quota(hard), hard, listed)
    assert used == parse_list({"pods": "2", "requests.cpu": "350m", "count/pods": "3",
                               "services": "1", "services.nodeports": "2",
                               "count/deployments.apps": "2", "secrets": "0"})


def test_tally_scoped_quota_sees_matching_pods_only():
    hard = {"pods": "10"}
    listed = [(PODS, [pod(), pod(deadline=30), pod(deadline=60)])]
    assert tally(quota(hard, scopes=["Terminating"]), hard, listed) == parse_list({"pods": "2"})
    assert tally(quota(hard, scopes=["NotTerminating"]), hard, listed) == \
        parse_list({"pods": "1"})


def test_needs_write():
    q = quota({"pods": "5"})
    used = parse_list({"pods": "2"})
    assert needs_write(q, used)  # no status yet
    q["status"] = {"hard": {"pods": "5"}, "used": {"pods": "2"}}
    assert not needs_write(q, used)
    assert not needs_write({**q, "status": {"hard": {"pods": "5"}, "used": {"pods": "2000m"}}},
                           used)  # same quantity, other spelling
    assert needs_write(q, parse_list({"pods": "1"}))
    assert needs_write({**q, "spec": {"hard": {"pods": "6"}}}, used)
    assert needs_write(q, parse_list({"pods": "2", "secrets": "0"}))
