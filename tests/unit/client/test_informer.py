"""Informer logic against a scripted fake API: list -> watch -> re-watch from the last
resourceVersion, bookmarks, relist on 410 with tombstones for vanished objects."""

from __future__ import annotations

import asyncio

from pyk8s.client.backoff import Backoff
from pyk8s.client.errors import Gone, status_body
from pyk8s.client.informers import DeletedFinalStateUnknown, Informer


def cm(name, rv, **data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)},
            "data": data}


class FakeAPI:
    """Answers LISTs from ``lists`` and WATCHes from ``watches`` (event lists, or an
    exception to raise), recording the resourceVersions asked for."""

    resolved = None

    def __init__(self, lists, watches):
        self.lists, self.watches = list(lists), list(watches)
        self.list_rvs, self.watch_rvs = [], []
        self.done = asyncio.Event()

    async def pages(self, *, limit, resource_version, **_):
        self.list_rvs.append(resource_version)
        items, rv = self.lists.pop(0)
        yield {"items": items[:1], "metadata": {"resourceVersion": rv, "continue": "x"}}
        yield {"items": items[1:], "metadata": {"resourceVersion": rv}}

    async def watch(self, *, resource_version, timeout_seconds, **_):
        self.watch_rvs.append(resource_version)
        if not self.watches:
            self.done.set()
            await asyncio.Event().wait()
        script = self.watches.pop(0)
        if isinstance(script, Exception):
            raise script
        for event in script:
            yield event


async def run_until_done(informer, api):
    task = asyncio.create_task(informer.run())
    await asyncio.wait_for(api.done.wait(), 2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_list_watch_rewatch_bookmark_relist():
    gone = Gone(status_body(410, "too old resource version", "Expired"))
    api = FakeAPI(
        lists=[([cm("a", 1), cm("b", 2)], "10"), ([cm("a", 13), cm("c", 14)], "20")],
        watches=[
            [("MODIFIED", cm("a", 11))],                         # stream ends: re-watch
            [("BOOKMARK", {"metadata": {"resourceVersion": "12"}})],
            gone,                                                # -> consistent relist
            [("DELETED", cm("c", 21))],
        ])
    informer = Informer(api, backoff=Backoff(initial=0.001, jitter=0))
    log = []
    informer.add_event_handler(
        on_add=lambda o: log.append(("add", o["metadata"]["name"])),
        on_update=lambda old, new: log.append(("update", new["metadata"]["name"],
                                               old["metadata"]["resourceVersion"],
                                               new["metadata"]["resourceVersion"])),
        on_delete=lambda o: log.append(
            ("tombstone", o.key) if isinstance(o, DeletedFinalStateUnknown)
            else ("delete", o["metadata"]["name"])))
    await run_until_done(informer, api)

    assert api.list_rvs == ["0", ""]
    assert api.watch_rvs == ["10", "11", "12", "20", "21"]
    assert log == [
        ("add", "a"), ("add", "b"),
        ("update", "a", "1", "11"),
        ("update", "a", "11", "13"), ("add", "c"), ("tombstone", "ns/b"),
        ("delete", "c"),
    ]
    assert informer.has_synced and informer.store.list_keys() == ["ns/a"]
    assert (informer.lists, informer.watches) == (2, 5)


async def test_late_handler_sees_cache_and_handler_errors_are_contained():
    api = FakeAPI(lists=[([cm("a", 1)], "5")], watches=[[("ADDED", cm("b", 6))]])
    informer = Informer(api)
    informer.add_event_handler(on_add=lambda o: 1 / 0)
    await run_until_done(informer, api)
    seen = []
    informer.add_event_handler(on_add=lambda o: seen.append(o["metadata"]["name"]))
    assert sorted(seen) == ["a", "b"]
    assert await informer.wait_for_sync(0.1)


async def test_resync_replays_updates():
    api = FakeAPI(lists=[([cm("a", 1)], "5")], watches=[])
    informer = Informer(api, resync_period=0.01)
    updates = []
    informer.add_event_handler(on_update=lambda old, new: updates.append(old is new))
    task = asyncio.create_task(informer.run())
    await asyncio.sleep(0.1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert updates and all(updates)
