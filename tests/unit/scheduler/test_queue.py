"""SchedulingQueue behaviour with an injected clock: ordering, backoff, unschedulable
pods moved by events or after five minutes, updates while queued or in flight."""

from __future__ import annotations

import pytest
from helpers import make_pod

from pyk8s.scheduler.plugins.prioritysort import PrioritySort
from pyk8s.scheduler.queue import SchedulingQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def queue(clock):
    events = {"NodeResourcesFit": frozenset({"NodeAdd", "AssignedPodDelete"})}
    return SchedulingQueue(PrioritySort().less, clock=clock,
                           plugin_events=lambda p: events.get(p, frozenset({"*"})))


async def pop_names(queue, n):
    return [(await queue.pop()).pod["metadata"]["name"] for _ in range(n)]


async def test_pops_by_priority_then_arrival(queue, clock):
    for name, prio in (("low", 1), ("high", 10), ("low2", 1)):
        queue.add(make_pod(name, priority=prio))
        clock.now += 1
    assert await pop_names(queue, 3) == ["high", "low", "low2"]


@pytest.mark.parametrize("attempts,want", [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0),
                                           (9, 10.0)])
def test_backoff_doubles_to_max(queue, attempts, want):
    from pyk8s.scheduler.framework.interface import QueuedPodInfo
    assert queue.backoff_duration(QueuedPodInfo(make_pod(), 0, 0, attempts)) == want


async def test_unschedulable_moves_on_interesting_event_only(queue, clock):
    queue.add(make_pod("p"))
    info = await queue.pop()
    info.unschedulable_plugins = {"NodeResourcesFit"}
    queue.add_unschedulable(info, queue.scheduling_cycle)
    assert queue.pending() == {"active": 0, "backoff": 0, "unschedulable": 1}
    queue.move_all("NodeUpdate")
    assert queue.pending()["unschedulable"] == 1
    queue.move_all("NodeAdd")
    assert queue.pending() == {"active": 0, "backoff": 1, "unschedulable": 0}
    clock.now += 1.5
    queue.flush_backoff()
    assert queue.pending()["active"] == 1


async def test_move_during_attempt_goes_to_backoff(queue):
    queue.add(make_pod("p"))
    info = await queue.pop()
    cycle = queue.scheduling_cycle
    queue.move_all("NodeAdd")
    queue.add_unschedulable(info, cycle)
    assert queue.pending()["backoff"] == 1


async def test_leftover_unschedulable_flushed_after_five_minutes(queue, clock):
    queue.add(make_pod("p"))
    info = await queue.pop()
    info.unschedulable_plugins = {"NodeResourcesFit"}
    queue.add_unschedulable(info, queue.scheduling_cycle)
    clock.now += 299
    queue.flush_unschedulable_leftover()
    assert queue.pending()["unschedulable"] == 1
    clock.now += 2
    queue.flush_unschedulable_leftover()
    assert queue.pending()["active"] == 1


async def test_update_of_unschedulable_pod_requeues_it(queue, clock):
    old = make_pod("p")
    queue.add(old)
    info = await queue.pop()
    info.unschedulable_plugins = {"NodeResourcesFit"}
    queue.add_unschedulable(info, queue.scheduling_cycle)
    status_only = {**old, "status": {"conditions": []}}
    queue.update(old, status_only)
    assert queue.pending()["unschedulable"] == 1
    new = make_pod("p", labels={"x": "y"})
    queue.update(status_only, new)
    assert queue.pending()["backoff"] == 1
    clock.now += 5
    queue.flush_backoff()
    assert (await queue.pop()).pod is new


async def test_update_and_delete_while_in_flight(queue):
    queue.add(make_pod("p"))
    info = await queue.pop()
    newer = make_pod("p", labels={"v": "2"})
    queue.update(info.pod, newer)
    queue.add_unschedulable(info, queue.scheduling_cycle)
    assert info.pod is newer and queue.pending()["backoff"] == 1
    queue.add(make_pod("q"))
    info = await queue.pop()
    queue.delete(info.pod)
    queue.add_unschedulable(info, queue.scheduling_cycle)
    assert len(queue) == 1


async def test_add_of_queued_pod_updates_in_place(queue):
    queue.add(make_pod("p"))
    queue.add(make_pod("p", labels={"v": "2"}))
    assert len(queue) == 1
    assert (await queue.pop()).pod["metadata"]["labels"] == {"v": "2"}
