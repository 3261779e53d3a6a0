"""The status conditions a terminating namespace carries, worded as upstream's.

While the namespace controller empties a namespace it reports on five conditions
(discovery, group-version parsing, content deletion, content remaining, finalizers
remaining), each True with a reason and message while something is wrong and False with
an "all good" wording otherwise, so ``kubectl describe ns`` explains a stuck deletion.
(Group versions arrive already parsed from aggregated discovery, so the parsing condition
is always reported False.) Pure functions over plain dicts: the controller collects what
went wrong in a :class:`ConditionReport`, then :func:`apply` merges it into a copy of the status.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

DISCOVERY = "NamespaceDeletionDiscoveryFailure"
GROUP_VERSION = "NamespaceDeletionGroupVersionParsingFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"

ORDER = (DISCOVERY, GROUP_VERSION, CONTENT_FAILURE, CONTENT_REMAINING, FINALIZERS_REMAINING)

OK = {
    DISCOVERY: ("ResourcesDiscovered", "All resources successfully discovered"),
    GROUP_VERSION: ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    CONTENT_FAILURE: ("ContentDeleted",
                      "All content successfully deleted, may be waiting on finalization"),
    CONTENT_REMAINING: ("ContentRemoved", "All content successfully removed"),
    FINALIZERS_REMAINING: ("ContentHasNoFinalizers",
                           "All content-preserving finalizers finished"),
}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ConditionReport:
    """What one pass over a namespace's content found wrong."""

    discovery_failed_groups: list[str] = field(default_factory=list)
    discovery_error: str = ""
    delete_errors: list[str] = field(default_factory=list)
    remaining: dict[tuple[str, str], int] = field(default_factory=dict)
    finalizers: Counter = field(default_factory=Counter)

    def failing(self) -> dict[str, tuple[str, str]]:
        """Condition type -> (reason, message) for every condition that is True."""
        out: dict[str, tuple[str, str]] = {}
        if self.discovery_failed_groups:
            groups = ", ".join(f"{gv}: stale GroupVersion discovery: {gv}"
                               for gv in sorted(self.discovery_failed_groups))
            message = (f"Discovery failed for some groups, {len(self.discovery_failed_groups)} "
                       f"failing: unable to retrieve the complete list of server APIs: {groups}")
            out[DISCOVERY] = ("DiscoveryFailed", message)
        elif self.discovery_error:
            out[DISCOVERY] = ("DiscoveryFailed", self.discovery_error)
        if self.delete_errors:
            msgs = sorted(self.delete_errors)
            message = (f"Failed to delete all resource types, {len(msgs)} remaining: "
                       f"{', '.join(msgs)}")
            out[CONTENT_FAILURE] = ("ContentDeletionFailed", message)
        if self.remaining:
            parts = sorted(f"{plural}.{group} has {n} resource instances"
                           for (group, plural), n in self.remaining.items() if n)
            out[CONTENT_REMAINING] = ("SomeResourcesRemain",
                                      f"Some resources are remaining: {', '.join(parts)}")
        if self.finalizers:
            parts = sorted(f"{name} in {n} resource instances"
                           for name, n in self.finalizers.items() if n)
            out[FINALIZERS_REMAINING] = (
                "SomeFinalizersRemain",
                f"Some content in the namespace has finalizers remaining: {', '.join(parts)}")
        return out


def apply(status: dict, report: ConditionReport, *, when: str | None = None) -> dict | None:
    """A copy of ``status`` with the five conditions set from ``report``, or None when
    nothing changed (a condition's transition time moves only when its status flips)."""
    when = when or now()
    failing = report.failing()
    out = copy.deepcopy(status)
    conditions = out.setdefault("conditions", [])
    changed = False
    for ctype in ORDER:
        state = "True" if ctype in failing else "False"
        reason, message = failing.get(ctype) or OK[ctype]
        old = next((c for c in conditions if c.get("type") == ctype), None)
        if old is None:
            conditions.append({"type": ctype, "status": state, "lastTransitionTime": when,
                               "reason": reason, "message": message})
            changed = True
        elif (old.get("status"), old.get("reason"), old.get("message")) != (
                state, reason, message):
            if old.get("status") != state:
                old["lastTransitionTime"] = when
            old.update(status=state, reason=reason, message=message)
            changed = True
    return out if changed else None
