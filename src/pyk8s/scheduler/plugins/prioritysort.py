"""PrioritySort: the active queue pops higher-priority pods first, then older ones."""

from __future__ import annotations

from ..framework.interface import QueuedPodInfo
from ..framework.types import pod_priority

NAME = "PrioritySort"


class PrioritySort:
    name = NAME

    def less(self, a: QueuedPodInfo, b: QueuedPodInfo) -> bool:
        pa, pb = pod_priority(a.pod), pod_priority(b.pod)
        return pa > pb or (pa == pb and a.timestamp < b.timestamp)


def new(args: dict, handle: object) -> PrioritySort:
    return PrioritySort()
