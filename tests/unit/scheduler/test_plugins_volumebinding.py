"""VolumeBinding over in-memory stores: PreFilter's rejections, Filter's node affinity and
matching of WaitForFirstConsumer claims, Reserve's assumptions, PreBind's writes."""

from __future__ import annotations

import pytest
from helpers import make_node, make_pod, node_info

from pyk8s.client.store import Store
from pyk8s.scheduler.framework.interface import Code, CycleState
from pyk8s.scheduler.plugins import volumebinding
from pyk8s.scheduler.plugins.volumebinding import VolumeBinding, VolumeStores


def claim(name: str, *, cls: str = "", size: str = "1Gi", volume: str = "",
          ns: str = "default") -> dict:
    body = {"metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}",
                         "resourceVersion": "1", "annotations": {}},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": cls,
                     "resources": {"requests": {"storage": size}}}}
    if volume:
        body["spec"]["volumeName"] = volume
        body["metadata"]["annotations"][volumebinding.BIND_COMPLETED] = "yes"
    return body


def pv(name: str, *, cls: str = "", size: str = "1Gi", hosts: tuple[str, ...] = (),
       phase: str = "Available", ref: dict | None = None) -> dict:
    spec = {"accessModes": ["ReadWriteOnce"], "storageClassName": cls,
            "capacity": {"storage": size}, "hostPath": {"path": f"/tmp/{name}"}}
    if hosts:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": list(hosts)}]}]}}
    if ref:
        spec["claimRef"] = ref
    return {"metadata": {"name": name, "resourceVersion": "1"}, "spec": spec,
            "status": {"phase": phase}}


def wffc(name: str = "local") -> dict:
    return {"metadata": {"name": name}, "volumeBindingMode": "WaitForFirstConsumer"}


def stores(*objs: dict) -> VolumeStores:
    out = VolumeStores(Store(), Store(), Store())
    for obj in objs:
        if "volumeBindingMode" in obj:
            out.classes.add(obj)
        elif "namespace" in obj["metadata"]:
            out.claims.add(obj)
        else:
            out.volumes.add(obj)
    return out


def using(*claims: str, name: str = "p") -> dict:
    return make_pod(name, volumes=[{"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}}
                                   for i, c in enumerate(claims)])


NODE_A, NODE_B = node_info(make_node("a")), node_info(make_node("b"))


def test_pods_without_claims_skip():
    plugin = VolumeBinding(None)
    assert plugin.pre_filter(CycleState(), make_pod(), [NODE_A]).code == Code.SKIP
    with_config_map = make_pod(volumes=[{"name": "c", "configMap": {"name": "x"}}])
    assert plugin.pre_filter(CycleState(), with_config_map, [NODE_A]).code == Code.SKIP


@pytest.mark.parametrize("objs, pod, reason", [
    ((), using("missing"), 'persistentvolumeclaim "missing" not found'),
    ((claim("c"),), using("c"), "pod has unbound immediate PersistentVolumeClaims"),
    ((claim("c", cls="std"), {"metadata": {"name": "std"}, "volumeBindingMode": "Immediate"}),
     using("c"), "pod has unbound immediate PersistentVolumeClaims"),
    ((claim("c", cls="not-there"),), using("c"),
     "pod has unbound immediate PersistentVolumeClaims"),
    ((), make_pod("p", volumes=[{"name": "scratch", "ephemeral": {}}]),
     ('waiting for ephemeral volume controller to create the persistentvolumeclaim '
      '"p-scratch"')),
])
def test_pre_filter_rejects_for_every_node(objs, pod, reason):
    status = VolumeBinding(stores(*objs)).pre_filter(CycleState(), pod, [NODE_A])
    assert status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert status.reasons == (reason,)


def test_terminating_claim_is_rejected():
    c = claim("c", volume="v")
    c["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    status = VolumeBinding(stores(c)).pre_filter(CycleState(), using("c"), [NODE_A])
    assert status.reasons == ('persistentvolumeclaim "c" is being deleted',)


def _filter_both(plugin: VolumeBinding, pod: dict) -> list:
    """PreFilter (which must pass) then Filter on node a and node b: the two statuses."""
    state = CycleState()
    assert plugin.pre_filter(state, pod, [NODE_A, NODE_B]) is None
    return [plugin.filter(state, pod, node) for node in (NODE_A, NODE_B)]


@pytest.mark.parametrize("volume, fits_a, fits_b", [
    (pv("v", hosts=("a",), phase="Bound"), True, False),
    (pv("v", phase="Bound"), True, True),
    (None, False, False),
])
def test_bound_claims_need_their_volume_on_the_node(volume, fits_a, fits_b):
    plugin = VolumeBinding(stores(claim("c", volume="v"), *([volume] if volume else [])))
    for status, fits in zip(_filter_both(plugin, using("c")), (fits_a, fits_b)):
        if fits:
            assert status is None
        else:
            assert status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
            assert status.reasons == ((volumebinding.REASON_NODE_CONFLICT,) if volume else
                                      (volumebinding.REASON_PV_NOT_EXIST,))


@pytest.mark.parametrize("volumes, fits_a, fits_b", [
    ([pv("va", cls="local", hosts=("a",))], True, False),
    ([pv("vb", cls="local", hosts=("b",))], False, True),
    ([pv("any", cls="local")], True, True),
    ([pv("other-class", cls="std", hosts=("a",))], False, False),
    ([pv("small", cls="local", size="100Mi", hosts=("a",))], False, False),
    ([pv("taken", cls="local", hosts=("a",), phase="Bound",
         ref={"namespace": "default", "name": "else", "uid": "u"})], False, False),
    ([pv("released", cls="local", hosts=("a",), phase="Released")], False, False),
    ([pv("pre", cls="local", hosts=("b",), phase="Available",
         ref={"namespace": "default", "name": "c"})], False, True),
])
def test_wait_for_first_consumer_needs_a_matching_volume(volumes, fits_a, fits_b):
    plugin = VolumeBinding(stores(wffc(), claim("c", cls="local"), *volumes))
    for status, fits in zip(_filter_both(plugin, using("c")), (fits_a, fits_b)):
        if fits:
            assert status is None
        else:
            assert status.code == Code.UNSCHEDULABLE
            assert status.reasons == (volumebinding.REASON_BIND_CONFLICT,)


def test_two_claims_need_two_volumes():
    objs = [wffc(), claim("c1", cls="local"), claim("c2", cls="local"),
            pv("v1", cls="local", hosts=("a",))]
    state = CycleState()
    plugin = VolumeBinding(stores(*objs))
    plugin.pre_filter(state, using("c1", "c2"), [NODE_A])
    assert plugin.filter(state, using("c1", "c2"), NODE_A).reasons == \
        (volumebinding.REASON_BIND_CONFLICT,)
    plugin = VolumeBinding(stores(*objs, pv("v2", cls="local", size="5Gi", hosts=("a",))))
    state = CycleState()
    plugin.pre_filter(state, using("c1", "c2"), [NODE_A])
    assert plugin.filter(state, using("c1", "c2"), NODE_A) is None


def test_reserve_assumes_the_volume_and_unreserve_forgets_it():
    plugin = VolumeBinding(stores(wffc(), claim("c1", cls="local"), claim("c2", cls="local"),
                                  pv("big", cls="local", size="5Gi"), pv("small", cls="local")))
    state = CycleState()
    plugin.pre_filter(state, using("c1"), [NODE_A])
    assert plugin.filter(state, using("c1"), NODE_A) is None
    assert plugin.reserve(state, using("c1"), "a") is None
    assumed = plugin.assumed["small"]
    assert assumed["spec"]["claimRef"]["uid"] == "uid-c1"
    assert assumed["metadata"]["annotations"][volumebinding.BOUND_BY_CONTROLLER] == "yes"
    # The next pod's claim cannot have the assumed volume: it gets the bigger one.
    state2 = CycleState()
    plugin.pre_filter(state2, using("c2", name="q"), [NODE_A])
    plugin.filter(state2, using("c2", name="q"), NODE_A)
    assert [v["metadata"]["name"] for _, v in state2.read(volumebinding.STATE_KEY)
            .chosen["a"]] == ["big"]
    plugin.unreserve(state, using("c1"), "a")
    assert plugin.assumed == {}


class _RecordingPVs:
    def __init__(self, stores_: VolumeStores) -> None:
        self.stores, self.updates = stores_, []

    def api(self, version: str, kind: str):
        return self

    async def update(self, volume: dict) -> dict:
        self.updates.append(volume)
        # The binder completes both sides; the informers then deliver them.
        ref = volume["spec"]["claimRef"]
        self.stores.volumes.add({**volume, "metadata": {**volume["metadata"],
                                                        "resourceVersion": "2"}})
        c = self.stores.claims.get(f"{ref['namespace']}/{ref['name']}")
        self.stores.claims.add(claim(c["metadata"]["name"], cls="local",
                                     volume=volume["metadata"]["name"]))
        return volume


async def test_pre_bind_writes_claim_ref_and_waits_for_the_claim():
    s = stores(wffc(), claim("c", cls="local"), pv("v", cls="local", hosts=("a",)))
    client = _RecordingPVs(s)
    plugin = VolumeBinding(s, client)
    state = CycleState()
    plugin.pre_filter(state, using("c"), [NODE_A])
    plugin.filter(state, using("c"), NODE_A)
    plugin.reserve(state, using("c"), "a")
    assert await plugin.pre_bind(state, using("c"), "a") is None
    assert [v["spec"]["claimRef"]["name"] for v in client.updates] == ["c"]
    # The informer has the written volume now, so the assumption is dropped.
    assert plugin._volume("v")["metadata"]["resourceVersion"] == "2"
    assert plugin.assumed == {}


async def test_pre_bind_fails_when_the_claim_binds_elsewhere():
    s = stores(wffc(), claim("c", cls="local"), pv("v", cls="local"))
    plugin = VolumeBinding(s, object())
    state = CycleState()
    plugin.pre_filter(state, using("c"), [NODE_A])
    plugin.filter(state, using("c"), NODE_A)
    s.claims.add(claim("c", cls="local", volume="other"))
    status = await plugin.pre_bind(state, using("c"), "a")
    assert status.code == Code.ERROR
    assert 'was bound to persistentvolume "other"' in status.message
