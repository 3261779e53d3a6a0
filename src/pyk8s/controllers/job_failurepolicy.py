"""Matching a failed pod against a Job's ``podFailurePolicy`` (upstream's pod_failure_policy.go).

Rules are tried in order; the first whose ``onExitCodes`` (a non-zero exit code of a
terminated container, optionally of one named container, ``In``/``NotIn`` a set) or
``onPodConditions`` (a pod condition of that type and status) matches decides the
action: ``FailJob`` (fail the whole Job with a message naming the rule), ``FailIndex``
(fail only this pod's index), ``Ignore`` (do not count the failure) or ``Count`` (count
it as usual). No match counts the failure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Match:
    action: str | None      # None: no rule matched
    count_failed: bool      # whether the failure counts toward backoffLimit
    message: str | None = None  # the FailJob message


NO_MATCH = Match(None, True)


def _exit_code_matches(code: int, req: dict) -> bool:
    values = req.get("values") or []
    if req.get("operator") == "In":
        return code in values
    if req.get("operator") == "NotIn":
        return code not in values
    return False


def _matching_container(statuses: list[dict], req: dict) -> dict | None:
    for cs in statuses or ():
        terminated = (cs.get("state") or {}).get("terminated")
        if not terminated:
            continue
        name = req.get("containerName")
        if name is not None and name != cs.get("name"):
            continue
        code = terminated.get("exitCode") or 0
        if code != 0 and _exit_code_matches(code, req):
            return cs
    return None


def _matching_condition(status: dict, patterns: list[dict]) -> dict | None:
    for pattern in patterns:
        for cond in status.get("conditions") or ():
            if cond.get("type") == pattern.get("type") and \
                    cond.get("status") == pattern.get("status", "True"):
                return cond
    return None


def match(policy: dict | None, pod: dict) -> Match:
    """The outcome of ``policy`` for the failed ``pod``."""
    if not policy:
        return NO_MATCH
    status = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    who = f"{meta.get('namespace')}/{meta.get('name')}"
    for index, rule in enumerate(policy.get("rules") or ()):
        action = rule.get("action")
        if rule.get("onExitCodes") is not None:
            req = rule["onExitCodes"]
            cs = _matching_container(status.get("containerStatuses"), req) or \
                _matching_container(status.get("initContainerStatuses"), req)
            if cs is None:
                continue
            code = cs["state"]["terminated"].get("exitCode")
            message = (f"Container {cs.get('name')} for pod {who} failed with exit code "
                       f"{code} matching {action} rule at index {index}")
        elif rule.get("onPodConditions") is not None:
            cond = _matching_condition(status, rule["onPodConditions"])
            if cond is None:
                continue
            message = (f"Pod {who} has condition {cond.get('type')} matching {action} rule "
                       f"at index {index}")
        else:
            continue
        if action == "Ignore":
            return Match("Ignore", False)
        if action == "FailJob":
            return Match("FailJob", True, message)
        if action in ("FailIndex", "Count"):
            return Match(action, True)
    return NO_MATCH
