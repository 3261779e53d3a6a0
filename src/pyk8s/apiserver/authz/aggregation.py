"""ClusterRole aggregation: roles with an aggregationRule get the rules of the roles
their selectors match (the clusterrole-aggregation controller upstream).

One background task follows ClusterRole changes in the watch cache and rewrites
each aggregated role whose computed rules differ from its stored ones. Rules are
gathered from the matching roles in name order, each rule once, as upstream.
"""

from __future__ import annotations

import asyncio
import logging

from .. import errors
from ..selectors import selector_from_label_selector
from ..user import SYSTEM_APISERVER
from .policydata import GROUP

log = logging.getLogger(__name__)

SETTLE = 0.05  # seconds to gather a burst of changes into one pass


def aggregated_rules(role: dict, all_roles: list[dict]) -> list[dict]:
    """The rules ``role``'s aggregationRule selects from ``all_roles``."""
    selectors = [selector_from_label_selector(s) for s in
                 (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or ()]
    name = role["metadata"]["name"]
    rules: list[dict] = []
    for other in sorted(all_roles, key=lambda o: o["metadata"]["name"]):
        if other["metadata"]["name"] == name:
            continue
        labels = other["metadata"].get("labels") or {}
        if not any(sel.matches(labels) for sel in selectors):
            continue
        for rule in other.get("rules") or ():
            if rule not in rules:
                rules.append(rule)
    return rules


def pending(all_roles: list[dict]) -> list[tuple[str, list[dict]]]:
    """(name, rules) of every aggregated role whose stored rules are not the computed ones."""
    out = []
    for role in all_roles:
        if not role.get("aggregationRule"):
            continue
        rules = aggregated_rules(role, all_roles)
        if rules != (role.get("rules") or []):
            out.append((role["metadata"]["name"], rules))
    return out


class Aggregator:
    """Keeps aggregated ClusterRoles filled; :meth:`run` is the background task."""

    def __init__(self, ctx, objects) -> None:
        self.ctx = ctx
        self.objects = objects
        self.rt = ctx.registry.get(GROUP, "v1", "clusterroles")

    def _roles(self) -> list[dict]:
        return self.ctx.watch_cache.snapshot(self.rt.prefix, self.rt.prefix)[0]

    async def sync(self) -> None:
        for name, rules in pending(self._roles()):
            def mutate(current: dict, rules=rules) -> dict:
                current["rules"] = rules
                return current

            try:
                await self.objects.update(self.rt, None, name, mutate, user=SYSTEM_APISERVER,
                                          manager="clusterrole-aggregation-controller")
            except errors.APIError as err:
                if err.code != 404:
                    log.warning("could not aggregate clusterrole %s: %s", name, err)

    async def run(self) -> None:
        cache = self.ctx.watch_cache
        while True:
            found = cache.subscribe(self.rt.prefix, cache.revision, lambda _e: True)
            if found is None:
                await asyncio.sleep(SETTLE)
                continue
            sub = found[0]
            try:
                await self._follow(sub)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("clusterrole aggregation failed; restarting")
                await asyncio.sleep(1.0)
            finally:
                cache.unsubscribe(self.rt.prefix, sub)

    async def _follow(self, sub) -> None:
        await self.sync()
        while True:
            event = await sub.queue.get()
            if event is None:  # the cache relisted: subscribe again
                return
            await asyncio.sleep(SETTLE)
            while not sub.queue.empty():
                if sub.queue.get_nowait() is None:
                    return
            await self.sync()
