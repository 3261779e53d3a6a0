"""Creating and deleting a controller's pods, with upstream's events and batching.

* :func:`pod_from_template`: a pod for a PodTemplateSpec (labels, annotations, finalizers
  and spec copied; ``generateName`` ``<owner>-``; the controller reference);
* :class:`PodControl`: creates/deletes pods and records ``SuccessfulCreate`` /
  ``FailedCreate`` / ``SuccessfulDelete`` / ``FailedDelete`` events on the owner, with
  upstream's notes (``Created pod: NAME``, ``Error creating: ERR``...);
* :func:`slow_start_batch`: run N calls in batches of 1, 2, 4, ... stopping at the first
  batch with a failure, so a controller hitting a quota or a broken template makes a few
  failed calls rather than N.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable

from ...client import ApiError, EventRecorder, NotFound, ResourceAPI

log = logging.getLogger(__name__)

MAX_NAME = 253


def pod_from_template(template: dict, owner_name: str, controller_ref: dict | None) -> dict:
    """A new pod body for ``template`` (never sharing structure with it)."""
    meta = template.get("metadata") or {}
    prefix = f"{owner_name}-"
    pod_meta = {"generateName": prefix if len(prefix) <= MAX_NAME else owner_name}
    for field in ("labels", "annotations", "finalizers"):
        if meta.get(field):
            pod_meta[field] = copy.deepcopy(meta[field])
    if controller_ref is not None:
        pod_meta["ownerReferences"] = [dict(controller_ref)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta,
            "spec": copy.deepcopy(template.get("spec") or {})}


def error_text(err: Exception) -> str:
    """What upstream prints for an error: the API's message, else the exception text."""
    return err.message if isinstance(err, ApiError) and err.message else str(err)


async def slow_start_batch(count: int, initial: int,
                           call: Callable[[], Awaitable[object]]) -> tuple[int, Exception | None]:
    """Run ``call`` ``count`` times in doubling batches; (successes, first error)."""
    remaining, successes, size = count, 0, min(count, initial)
    while size > 0:
        results = await asyncio.gather(*(call() for _ in range(size)), return_exceptions=True)
        failures = [r for r in results if isinstance(r, Exception)]
        successes += size - len(failures)
        if failures:
            return successes, failures[0]
        remaining -= size
        size = min(2 * size, remaining)
    return successes, None


def namespace_terminating(err: Exception) -> bool:
    """A write refused because its namespace is being deleted (nothing to retry)."""
    causes = ((err.details.get("causes") or []) if isinstance(err, ApiError) else [])
    return any(c.get("type") == "NamespaceTerminating" for c in causes)


class PodControl:
    """Pod writes on behalf of an owner object (which events are recorded against)."""

    def __init__(self, pods: ResourceAPI, recorder: EventRecorder) -> None:
        self.pods = pods
        self.recorder = recorder

    async def create(self, namespace: str, template: dict, owner: dict,
                     controller_ref: dict) -> dict:
        pod = pod_from_template(template, owner["metadata"]["name"], controller_ref)
        if not pod["metadata"].get("labels"):
            raise ValueError("unable to create pods, no labels")
        try:
            created = await self.pods.create(pod, namespace=namespace)
        except ApiError as err:
            if not namespace_terminating(err):
                self.recorder.event(owner, type="Warning", reason="FailedCreate",
                                    action="Create", note=f"Error creating: {error_text(err)}")
            raise
        self.recorder.event(owner, reason="SuccessfulCreate", action="Create",
                            note=f"Created pod: {created['metadata']['name']}")
        return created

    async def delete(self, namespace: str, name: str, owner: dict) -> None:
        try:
            await self.pods.delete(name, namespace=namespace)
        except NotFound:
            log.debug("pod %s/%s already deleted", namespace, name)
            raise
        except ApiError as err:
            self.recorder.event(owner, type="Warning", reason="FailedDelete", action="Delete",
                                note=f"Error deleting: {error_text(err)}")
            raise
        self.recorder.event(owner, reason="SuccessfulDelete", action="Delete",
                            note=f"Deleted pod: {name}")
