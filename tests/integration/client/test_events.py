"""EventRecorder: events.k8s.io/v1 Events written in the background, repeats aggregated
into one Event's series."""

from __future__ import annotations

from pyk8s.client import EventRecorder


async def test_repeats_become_a_series(client, namespace):
    cms = client.api("v1", "ConfigMap")
    target = await cms.create({"metadata": {"name": "target"}}, namespace=namespace)
    events = client.api("events.k8s.io/v1", "Event")
    async with EventRecorder(client, reporting_controller="pyk8s.io/test",
                             reporting_instance="test-1") as recorder:
        recorder.event(target, reason="Synced", action="Sync", note="first")
        recorder.event(target, reason="Synced", action="Sync", note="again")
        recorder.event(target, type="Warning", reason="Failed", action="Sync", note="boom")
        await recorder.flush()
        listing = (await events.list(namespace=namespace))["items"]
        by_reason = {e["reason"]: e for e in listing}
        assert sorted(by_reason) == ["Failed", "Synced"] and len(listing) == 2
        synced = by_reason["Synced"]
        assert synced["series"]["count"] == 2 and synced["series"]["lastObservedTime"]
        assert synced["regarding"]["uid"] == target["metadata"]["uid"]
        assert synced["regarding"]["kind"] == "ConfigMap"
        assert synced["reportingController"] == "pyk8s.io/test"
        assert synced["reportingInstance"] == "test-1"
        assert synced["type"] == "Normal" and synced["eventTime"].endswith("Z")
        assert "series" not in by_reason["Failed"]

        recorder.event(target, reason="Synced", action="Sync", note="third")
    # closing flushes the pending count
    synced = await events.get(synced["metadata"]["name"], namespace=namespace)
    assert synced["series"]["count"] == 3
    assert len((await events.list(namespace=namespace))["items"]) == 2
