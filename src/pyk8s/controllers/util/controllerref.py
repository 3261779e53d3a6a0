"""Owner references: who controls an object, and adopting or releasing objects.

A controller owns the objects whose ``ownerReferences`` carry its uid with
``controller: true``. As upstream's BaseControllerRefManager.ClaimObject, a controller
claims objects each sync:

* controlled by someone else: not ours;
* controlled by us: ours while the selector matches, else released (unless we are being
  deleted), by a strategic-merge patch deleting our reference;
* an orphan matching the selector (and neither side being deleted): adopted by a patch
  adding our controller reference, after a fresh read of the owner proves it still exists
  with the same uid (``can_adopt``, asked at most once per claim).

Both patches carry the object's uid as a precondition, so a recreated namesake is never
touched. Callers pass the ResourceAPI of the claimed kind, so the same manager claims
pods (ReplicaSets, Jobs...) and ReplicaSets (Deployments).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from ...client import ApiError, Invalid, NotFound, ResourceAPI

log = logging.getLogger(__name__)


def controller_of(obj: dict) -> dict | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def new_controller_ref(owner: dict, api_version: str, kind: str) -> dict:
    """The reference a controller puts on objects it creates or adopts."""
    meta = owner["metadata"]
    return {"apiVersion": api_version, "kind": kind, "name": meta["name"], "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": True}


def adoption_patch(obj: dict, ref: dict) -> dict:
    return {"metadata": {"ownerReferences": [ref], "uid": obj["metadata"]["uid"]}}


def release_patch(obj: dict, owner_uid: str) -> dict:
    return {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}],
                         "uid": obj["metadata"]["uid"]}}


def recheck_owner(api: ResourceAPI, owner: dict) -> Callable[[], Awaitable[None]]:
    """A ``can_adopt`` check: a fresh GET of ``owner`` must show the same uid, not deleting."""
    meta = owner["metadata"]

    async def check() -> None:
        fresh = await api.get(meta["name"], namespace=meta.get("namespace"))
        fresh_meta = fresh["metadata"]
        if fresh_meta.get("uid") != meta["uid"]:
            raise RuntimeError(f"original {meta['namespace']}/{meta['name']} is gone: "
                               f"got uid {fresh_meta.get('uid')}, wanted {meta['uid']}")
        if fresh_meta.get("deletionTimestamp"):
            raise RuntimeError(f"{meta['namespace']}/{meta['name']} has just been deleted at "
                               f"{fresh_meta['deletionTimestamp']}")

    return check


class ControllerRefManager:
    """Claims objects for one owner (see the module docstring)."""

    def __init__(self, api: ResourceAPI, owner: dict, ref: dict,
                 match: Callable[[dict], bool], can_adopt: Callable[[], Awaitable[None]]) -> None:
        self.api = api
        self.owner = owner
        self.ref = ref
        self.match = match
        self._can_adopt = can_adopt
        self._adopt_checked: Exception | bool = False

    def _deleting(self) -> bool:
        return bool(self.owner["metadata"].get("deletionTimestamp"))

    async def claim(self, objects: list[dict]) -> list[dict]:
        """The objects that are (now) ours; raises the first error after trying them all."""
        claimed, errors = [], []
        for obj in objects:
            try:
                if await self._claim_one(obj):
                    claimed.append(obj)
            except (ApiError, RuntimeError) as err:
                errors.append(err)
        if errors:
            raise errors[0]
        return claimed

    async def _claim_one(self, obj: dict) -> bool:
        ref = controller_of(obj)
        if ref is not None:
            if ref.get("uid") != self.ref["uid"]:
                return False
            if self.match(obj):
                return True
            if not self._deleting():
                await self._release(obj)
            return False
        meta = obj["metadata"]
        if self._deleting() or not self.match(obj) or meta.get("deletionTimestamp") or \
                meta.get("namespace") != self.owner["metadata"].get("namespace"):
            return False
        return await self._adopt(obj)

    async def _check_adopt(self) -> None:
        if self._adopt_checked is False:
            try:
                await self._can_adopt()
                self._adopt_checked = True
            except (ApiError, RuntimeError) as err:
                self._adopt_checked = err
        if isinstance(self._adopt_checked, Exception):
            raise self._adopt_checked

    async def _adopt(self, obj: dict) -> bool:
        meta = obj["metadata"]
        try:
            await self._check_adopt()
        except (ApiError, RuntimeError) as err:
            raise RuntimeError(f"can't adopt {meta['namespace']}/{meta['name']}: {err}") from err
        try:
            await self.api.patch(meta["name"], adoption_patch(obj, self.ref),
                                 namespace=meta["namespace"], type="strategic")
        except NotFound:
            return False
        log.info("%s %s adopted %s", self.ref["kind"], self.ref["name"], meta["name"])
        return True

    async def _release(self, obj: dict) -> None:
        meta = obj["metadata"]
        try:
            await self.api.patch(meta["name"], release_patch(obj, self.ref["uid"]),
                                 namespace=meta["namespace"], type="strategic")
        except (NotFound, Invalid):  # gone, or already released / recreated
            return
        log.info("%s %s released %s", self.ref["kind"], self.ref["name"], meta["name"])
