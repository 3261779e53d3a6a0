"""DefaultPreemption: when a pod fits no node, find a node where evicting lower-priority
pods makes it fit, evict them and nominate that node.

Candidates are the nodes whose rejection was Unschedulable (not Unresolvable). On each,
every lower-priority pod is removed, the filters re-run, then pods are reprieved (added
back) most important first, PDB-violating ones before the rest, while the pod still
fits; those that cannot be reprieved are the victims. Among candidates the node is
chosen as upstream: fewest PDB violations, lowest highest-priority victim, lowest sum of
priorities, fewest victims, latest start of its highest-priority victims, first found.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from ...client.errors import ClientError, NotFound
from ..framework.fiterror import fit_error_message
from ..framework.interface import (
    Code,
    CycleState,
    Status,
    is_success,
    unresolvable,
    unschedulable,
)
from ..framework.labels import labels_of, match_label_selector
from ..framework.types import NodeInfo, PodInfo, pod_priority

log = logging.getLogger(__name__)

NAME = "DefaultPreemption"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
MAX_INT32 = 2**31 - 1


@dataclass
class Candidate:
    node: str
    victims: list[PodInfo]
    num_pdb_violations: int


def start_time(info: PodInfo) -> str:
    status = info.pod.get("status") or {}
    return status.get("startTime") or "9999"


def more_important(a: PodInfo, b: PodInfo) -> bool:
    if a.priority != b.priority:
        return a.priority > b.priority
    return start_time(a) < start_time(b)


def split_by_pdb(pods: list[PodInfo], pdbs: list[dict]) -> tuple[list[PodInfo], list[PodInfo]]:
    """(violating, non-violating): evicting a violating pod would exceed some PDB's
    disruptionsAllowed, counting the pods evicted before it."""
    allowed = [(pdb.get("status") or {}).get("disruptionsAllowed", 0) for pdb in pdbs]
    violating, fine = [], []
    for info in pods:
        meta, labels, violated = info.pod["metadata"], labels_of(info.pod), False
        for i, pdb in enumerate(pdbs) if labels else ():
            selector = (pdb.get("spec") or {}).get("selector")
            if pdb["metadata"].get("namespace") != meta.get("namespace") or not selector \
                    or not match_label_selector(selector, labels):
                continue
            if meta["name"] in ((pdb.get("status") or {}).get("disruptedPods") or {}):
                continue
            allowed[i] -= 1
            violated = violated or allowed[i] < 0
        (violating if violated else fine).append(info)
    return violating, fine


def pick_one(candidates: list[Candidate]) -> Candidate:
    def key(c: Candidate) -> tuple:
        if not c.victims:
            return (-1,)
        top = c.victims[0].priority
        latest_start = min(start_time(v) for v in c.victims if v.priority == top)
        inverted = tuple(-ord(ch) for ch in latest_start)
        return (c.num_pdb_violations, top, sum(v.priority + MAX_INT32 + 1 for v in c.victims),
                len(c.victims), inverted)
    return min(candidates, key=key)


class DefaultPreemption:
    name = NAME

    def __init__(self, args: dict, handle) -> None:
        self.handle = handle
        self.min_percentage = args.get("minCandidateNodesPercentage", 10)
        self.min_absolute = args.get("minCandidateNodesAbsolute", 100)

    async def post_filter(self, state: CycleState, pod: dict, statuses: dict[str, Status]
                          ) -> tuple[str | None, Status | None]:
        nominated, status = await self.preempt(state, pod, statuses)
        if status is not None and status.reasons:
            return nominated, Status(status.code, ("preemption: " + status.message,))
        return nominated, status

    def eligible(self, pod: dict, statuses: dict[str, Status]) -> str | None:
        """None if the pod may preempt, else why not."""
        if (pod.get("spec") or {}).get("preemptionPolicy") == "Never":
            return "not eligible due to preemptionPolicy=Never."
        nominated = (pod.get("status") or {}).get("nominatedNodeName")
        if nominated:
            status = statuses.get(nominated)
            if status is not None and status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                return None
            node = self.handle.snapshot.get(nominated)
            prio = pod_priority(pod)
            if node and any(p.pod["metadata"].get("deletionTimestamp") and p.priority < prio
                            for p in node.pods):
                return "not eligible due to a terminating pod on the nominated node."
        return None

    async def preempt(self, state: CycleState, pod: dict, statuses: dict[str, Status]
                      ) -> tuple[str | None, Status | None]:
        why_not = self.eligible(pod, statuses)
        if why_not:
            return None, unschedulable(why_not)
        candidates, node_statuses = self.find_candidates(state, pod, statuses)
        if not candidates:
            return None, unschedulable(fit_error_message(len(self.handle.snapshot.node_infos),
                                                         node_statuses))
        best = pick_one(candidates)
        await self.prepare(best, pod)
        return best.node, None

    def find_candidates(self, state: CycleState, pod: dict, statuses: dict[str, Status]
                        ) -> tuple[list[Candidate], dict[str, Status]]:
        nodes = self.handle.snapshot.node_infos
        node_statuses: dict[str, Status] = {}
        potential = []
        for node in nodes:
            status = statuses.get(node.name)
            if status is not None and status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                node_statuses[node.name] = unresolvable(NOT_HELPFUL)
            else:
                potential.append(node)
        if not potential:
            return [], node_statuses
        wanted = min(max(len(potential) * self.min_percentage // 100, self.min_absolute),
                     len(potential))
        offset = random.randrange(len(potential))
        pdbs = self.handle.pdbs() if self.handle.pdbs else []
        candidates: list[Candidate] = []
        for i in range(len(potential)):
            node = potential[(offset + i) % len(potential)]
            victims, violations, status = self.select_victims(state.clone(), pod,
                                                              node.clone(), pdbs)
            if status is None and victims:
                candidates.append(Candidate(node.name, victims, violations))
                if len(candidates) >= wanted:
                    break
            else:
                node_statuses[node.name] = status or unresolvable(NO_VICTIMS)
        return candidates, node_statuses

    def select_victims(self, state: CycleState, pod: dict, node: NodeInfo, pdbs: list[dict]
                       ) -> tuple[list[PodInfo], int, Status | None]:
        fw = self.handle.framework
        prio = pod_priority(pod)
        lower = [p for p in node.pods if p.priority < prio]
        if not lower:
            return [], 0, unresolvable(NO_VICTIMS)
        for info in lower:
            node.remove_pod(info.key)
            fw.run_remove_pod(state, pod, info, node)
        status = fw.run_filter_with_nominated(state, pod, node)
        if not is_success(status):
            return [], 0, status
        lower.sort(key=lambda p: (-p.priority, start_time(p)))
        violating, fine = split_by_pdb(lower, pdbs)
        victims: list[PodInfo] = []

        def reprieve(info: PodInfo) -> bool:
            node.add_pod(info)
            fw.run_add_pod(state, pod, info, node)
            if is_success(fw.run_filter_with_nominated(state, pod, node)):
                return True
            node.remove_pod(info.key)
            fw.run_remove_pod(state, pod, info, node)
            victims.append(info)
            return False

        violations = sum(1 for info in violating if not reprieve(info))
        for info in fine:
            reprieve(info)
        victims.sort(key=lambda p: (-p.priority, start_time(p)))
        return victims, violations, None

    async def prepare(self, candidate: Candidate, pod: dict) -> None:
        """Evict the victims and take the node from lower-priority nominated pods."""
        pods = self.handle.client.api("v1", "Pod")
        recorder = self.handle.recorder
        scheduler = self.handle.framework.scheduler_name

        async def evict(victim: PodInfo) -> None:
            meta = victim.pod["metadata"]
            condition = {"type": "DisruptionTarget", "status": "True",
                         "reason": "PreemptionByScheduler",
                         "message": f"{scheduler}: preempting to accommodate a higher "
                                    f"priority pod"}
            try:
                await pods.patch_status(meta["name"], {"status": {"conditions": [condition]}},
                                        namespace=meta["namespace"], type="strategic")
                await pods.delete(meta["name"], namespace=meta["namespace"],
                                  preconditions={"uid": meta.get("uid")})
            except NotFound:
                return
            except ClientError as err:
                log.warning("preempting %s/%s: %s", meta["namespace"], meta["name"], err)
                return
            if recorder is not None:
                recorder.event(victim.pod, type="Normal", reason="Preempted",
                               action="Preempting", related=pod,
                               note=f"Preempted by pod {pod['metadata'].get('uid')} on node "
                                    f"{candidate.node}")

        async def clear(other: dict) -> None:
            meta = other["metadata"]
            try:
                await pods.patch_status(meta["name"], {"status": {"nominatedNodeName": None}},
                                        namespace=meta["namespace"], type="merge")
            except ClientError as err:
                log.info("clearing nomination of %s/%s: %s", meta["namespace"],
                         meta["name"], err)

        nominator = self.handle.nominator
        lower = [info.pod for info in nominator.nominated_on(candidate.node)
                 if info.priority < pod_priority(pod)] if nominator else []
        for other in lower:
            nominator.remove(other)
        await asyncio.gather(*(evict(v) for v in candidate.victims),
                             *(clear(p) for p in lower))


def new(args: dict, handle) -> DefaultPreemption:
    return DefaultPreemption(args, handle)
