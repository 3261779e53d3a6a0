"""The PersistentVolume binder against a real API server: claims bind to the smallest
matching Available volume (class, access modes, size, selector), pre-bound claims take
their volume, unmatched claims stay Pending with FailedBinding, and deleting a claim
releases its volume (Retain) or deletes it (Delete)."""

from __future__ import annotations

from lifecycle_harness import eventually, gone, running, unique

from pyk8s.client import NotFound
from pyk8s.controllers.persistentvolume import BIND_COMPLETED, PersistentVolumeBinder


def _pv(name: str, size: str, *, policy: str = "Retain", labels: dict | None = None,
        cls: str = "", modes: tuple = ("ReadWriteOnce",)) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"capacity": {"storage": size}, "accessModes": list(modes),
                     "persistentVolumeReclaimPolicy": policy, "storageClassName": cls,
                     "hostPath": {"path": f"/tmp/{name}"}}}


def _pvc(name: str, size: str, *, cls: str = "", selector: dict | None = None,
         volume: str = "") -> dict:
    spec = {"accessModes": ["ReadWriteOnce"], "storageClassName": cls,
            "resources": {"requests": {"storage": size}}}
    if selector:
        spec["selector"] = selector
    if volume:
        spec["volumeName"] = volume
    return {"metadata": {"name": name}, "spec": spec}


async def test_claims_bind_release_and_delete(apiserver):
    async with running(apiserver, PersistentVolumeBinder) as client:
        pvs, pvcs = client.api("v1", "PersistentVolume"), client.api("v1", "PersistentVolumeClaim")
        namespaces = client.api("v1", "Namespace")
        ns, tag = unique("pvbind"), unique("t")
        names = {k: f"{tag}-{k}" for k in ("small", "big", "labelled", "named", "rwx")}
        await namespaces.create({"metadata": {"name": ns}})
        try:
            await pvs.create(_pv(names["small"], "1Gi", policy="Delete"))
            await pvs.create(_pv(names["big"], "5Gi"))
            await pvs.create(_pv(names["labelled"], "10Gi", labels={"tier": tag}))
            await pvs.create(_pv(names["named"], "2Gi"))
            await pvs.create(_pv(names["rwx"], "100Mi", modes=("ReadWriteMany",)))

            async def phase(name: str, want: str):
                pv = await pvs.get(name)
                return pv if (pv.get("status") or {}).get("phase") == want else None

            for name in names.values():
                await eventually(lambda name=name: phase(name, "Available"))

            await pvcs.create(_pvc("data", "500Mi"), namespace=ns)
            await pvcs.create(_pvc("picky", "1Gi", selector={"matchLabels": {"tier": tag}}),
                              namespace=ns)
            await pvcs.create(_pvc("exact", "1Gi", volume=names["named"]), namespace=ns)
            await pvcs.create(_pvc("fast", "1Gi", cls="fast"), namespace=ns)

            async def bound(claim: str):
                pvc = await pvcs.get(claim, namespace=ns)
                return pvc if (pvc.get("status") or {}).get("phase") == "Bound" else None

            data = await eventually(lambda: bound("data"))
            assert data["spec"]["volumeName"] == names["small"]  # the smallest that fits
            assert data["status"]["capacity"] == {"storage": "1Gi"}
            assert data["status"]["accessModes"] == ["ReadWriteOnce"]
            assert data["metadata"]["annotations"][BIND_COMPLETED] == "yes"
            small = await eventually(lambda: phase(names["small"], "Bound"))
            ref = small["spec"]["claimRef"]
            assert (ref["kind"], ref["namespace"], ref["name"], ref["uid"]) == \
                ("PersistentVolumeClaim", ns, "data", data["metadata"]["uid"])

            assert (await eventually(lambda: bound("picky")))["spec"]["volumeName"] == \
                names["labelled"]
            assert (await eventually(lambda: bound("exact")))["spec"]["volumeName"] == \
                names["named"]
            assert (await pvs.get(names["big"]))["status"]["phase"] == "Available"
            assert (await pvs.get(names["rwx"]))["status"]["phase"] == "Available"

            async def failed_binding():
                events = (await client.api("events.k8s.io/v1", "Event").list(
                    namespace=ns))["items"]
                return [e for e in events if e["reason"] == "FailedBinding"
                        and e["regarding"]["name"] == "fast"]

            await eventually(failed_binding)
            assert (await pvcs.get("fast", namespace=ns))["status"]["phase"] == "Pending"

            await pvcs.delete("exact", namespace=ns)
            released = await eventually(lambda: phase(names["named"], "Released"))
            assert released["spec"]["claimRef"]["name"] == "exact"
            await pvcs.delete("data", namespace=ns)
            await eventually(lambda: gone(pvs, names["small"]))
        finally:
            await namespaces.delete(ns)
            for name in names.values():
                try:
                    await pvs.delete(name)
                except NotFound:
                    pass
