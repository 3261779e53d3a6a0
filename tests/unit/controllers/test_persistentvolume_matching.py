"""The binder's matching rules as pure functions: class, access modes, volume mode, size
and selector decide whether a volume can serve a claim; pre-bound volumes win, otherwise
the smallest free one does, and volumes claimed by others or being deleted are skipped."""

from pyk8s.controllers.persistentvolume import best_match, prebound_to, satisfies


def _pv(name, size, *, cls="", modes=("ReadWriteOnce",), labels=None, claim_ref=None,
        deleting=False):
    meta = {"name": name, "labels": labels or {}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    spec = {"capacity": {"storage": size}, "accessModes": list(modes),
            "storageClassName": cls}
    if claim_ref:
        spec["claimRef"] = claim_ref
    return {"metadata": meta, "spec": spec}


def _pvc(size, *, cls="", modes=("ReadWriteOnce",), selector=None, mode=None):
    spec = {"accessModes": list(modes), "storageClassName": cls,
            "resources": {"requests": {"storage": size}}}
    if selector is not None:
        spec["selector"] = selector
    if mode:
        spec["volumeMode"] = mode
    return {"metadata": {"name": "c", "namespace": "ns", "uid": "u1"}, "spec": spec}


def test_satisfies_checks_every_criterion():
    assert satisfies(_pv("a", "1Gi"), _pvc("1Gi")) == ""
    assert satisfies(_pv("a", "1Gi"), _pvc("1025Mi")) == "requested PV is too small"
    assert satisfies(_pv("a", "1Gi", cls="fast"), _pvc("1Gi")) == \
        "storageClassName does not match"
    assert satisfies(_pv("a", "1Gi"), _pvc("1Gi", modes=("ReadWriteMany",))) == \
        "incompatible accessMode"
    assert satisfies(_pv("a", "1Gi"), _pvc("1Gi", mode="Block")) == "incompatible volumeMode"
    selector = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
    assert satisfies(_pv("a", "1Gi", labels={"zone": "b"}), _pvc("1Gi", selector=selector))
    assert satisfies(_pv("a", "1Gi", labels={"zone": "a"}), _pvc("1Gi", selector=selector)) == ""


def test_best_match_prefers_prebound_then_smallest_free():
    claim = _pvc("500Mi")
    big, small = _pv("big", "10Gi"), _pv("small", "1Gi")
    taken = _pv("taken", "600Mi", claim_ref={"namespace": "ns", "name": "other", "uid": "x"})
    going = _pv("going", "512Mi", deleting=True)
    assert best_match([big, small, taken, going], claim)["metadata"]["name"] == "small"
    prebound = _pv("mine", "5Gi", claim_ref={"namespace": "ns", "name": "c"})
    assert prebound_to(prebound, claim)
    assert best_match([small, prebound], claim)["metadata"]["name"] == "mine"
    assert best_match([taken, going], claim) is None
    stale = _pv("old", "1Gi", claim_ref={"namespace": "ns", "name": "c", "uid": "gone"})
    assert not prebound_to(stale, claim)
    assert best_match([stale], claim) is None
