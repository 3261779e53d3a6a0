"""Taint eviction controller: pods leave nodes whose NoExecute taints they do not tolerate.

For each pod bound to a node, :func:`.util.taints.eviction_deadline` says when it must go:
at once for a NoExecute taint no toleration matches (or one with tolerationSeconds <= 0),
``tolerationSeconds`` after the taint was added for the first toleration matching it, never
without tolerationSeconds. Upstream measures from when its taint manager first saw the
taint; we measure from the taint's ``timeAdded`` (falling back to when we first saw it),
so a controller restart does not extend a pod's stay. A due pod gets a ``DisruptionTarget``
condition (reason ``DeletionByTaintManager``) and is deleted with its own grace period, with
a ``TaintManagerEviction`` event; a pending eviction is re-checked at its deadline
(``add_after``) and cancelled, with an event, when the taint goes or becomes tolerated.
Pods already being deleted are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..client import ApiError, NotFound
from ..client.store import node_name_index
from . import register
from .base import Controller
from .util.taints import NO_EXECUTE, eviction_deadline, taint_time, taints
from .util.times import format_time

DISRUPTION_CONDITION = {"type": "DisruptionTarget", "status": "True",
                        "reason": "DeletionByTaintManager",
                        "message": "Taint manager: deleting due to NoExecute taint"}


@register("taint-eviction-controller")
class TaintEvictionController(Controller):
    def setup(self) -> None:
        informers = self.ctx.informers
        self.nodes = informers.informer("v1", "Node")
        self.pods = informers.informer("v1", "Pod", indexers={"node": node_name_index})
        self.api = self.client.api("v1", "Pod")
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        #: (node, taint key, taint value) -> when we first saw a taint without timeAdded
        self.first_seen: dict[tuple[str, str, str], datetime] = {}
        #: pod keys with an eviction scheduled (for the cancellation event)
        self.scheduled: set[str] = set()
        self.nodes.add_event_handler(on_add=self._node_changed,
                                     on_update=self._node_updated,
                                     on_delete=self._node_deleted)
        self.pods.add_event_handler(on_add=self.enqueue,
                                    on_update=self._pod_updated,
                                    on_delete=self._pod_deleted)

    # -- event handlers -------------------------------------------------------------------

    def _node_changed(self, node: dict) -> None:
        for pod in self.pods.store.by_index("node", node["metadata"]["name"]):
            self.enqueue(pod)

    def _node_updated(self, old: dict, new: dict) -> None:
        if taints(old, NO_EXECUTE) != taints(new, NO_EXECUTE):
            self._forget_taints(new)
            self._node_changed(new)

    def _node_deleted(self, obj: Any) -> None:
        node = getattr(obj, "obj", obj)
        self.first_seen = {k: v for k, v in self.first_seen.items()
                           if k[0] != node["metadata"]["name"]}
        self._node_changed(node)

    def _forget_taints(self, node: dict) -> None:
        name = node["metadata"]["name"]
        live = {(name, t.get("key", ""), t.get("value", "")) for t in taints(node, NO_EXECUTE)}
        self.first_seen = {k: v for k, v in self.first_seen.items()
                           if k[0] != name or k in live}

    def _pod_updated(self, old: dict, new: dict) -> None:
        if (old.get("spec") or {}).get("nodeName") != (new.get("spec") or {}).get("nodeName") \
                or (old.get("spec") or {}).get("tolerations") != \
                (new.get("spec") or {}).get("tolerations"):
            self.enqueue(new)

    def _pod_deleted(self, obj: Any) -> None:
        pod = getattr(obj, "obj", obj)
        self.scheduled.discard(f"{pod['metadata']['namespace']}/{pod['metadata']['name']}")

    # -- reconcile ------------------------------------------------------------------------

    def _added(self, node_name: str) -> Callable[[dict], datetime]:
        def added(taint: dict) -> datetime:
            when = taint_time(taint)
            if when is not None:
                return when
            key = (node_name, taint.get("key", ""), taint.get("value", ""))
            return self.first_seen.setdefault(key, self.now())
        return added

    async def sync(self, key: str) -> None:
        pod = self.pods.store.get(key)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            self.scheduled.discard(key)
            return
        node_name = (pod.get("spec") or {}).get("nodeName")
        node = self.nodes.store.get(node_name) if node_name else None
        deadline = None
        if node is not None:
            deadline = eviction_deadline(taints(node, NO_EXECUTE),
                                         (pod.get("spec") or {}).get("tolerations") or [],
                                         self._added(node_name))
        if deadline is None:
            if key in self.scheduled:
                self.scheduled.discard(key)
                self.ctx.recorder.event(pod, reason="TaintManagerEviction",
                                        action="CancelEviction",
                                        note=f"Cancelling deletion of Pod {key}")
            return
        wait = (deadline - self.now()).total_seconds()
        if wait > 0:
            self.scheduled.add(key)
            self.queue.add_after(key, wait)
            return
        await self._evict(pod, key)

    async def _evict(self, pod: dict, key: str) -> None:
        namespace, _, name = key.partition("/")
        self.ctx.recorder.event(pod, reason="TaintManagerEviction", action="Evict",
                                note=f"Marking for deletion Pod {key}")
        condition = {**DISRUPTION_CONDITION, "lastTransitionTime": format_time(self.now())}
        try:
            await self.api.patch(name, {"status": {"conditions": [condition]}},
                                 namespace=namespace, type="strategic", subresource="status")
        except NotFound:
            return
        except ApiError as err:  # the condition is informative; deleting is what matters
            self.log.warning("pod %s: could not add DisruptionTarget: %s", key, err)
        try:
            await self.api.delete(name, namespace=namespace,
                                  preconditions={"uid": pod["metadata"]["uid"]})
        except NotFound:
            pass
        self.scheduled.discard(key)
        self.log.info("evicted pod %s from tainted node %s", key, pod["spec"]["nodeName"])
