"""The eviction subresource: delete a pod only when its PodDisruptionBudget can spare it.

Drains, the descheduler and cluster autoscalers evict instead of deleting so that an
application keeps the healthy pods its budget asks for. As upstream's EvictionREST
(pkg/registry/core/pod/storage/eviction.go):

* a pod that is Pending, finished or already being deleted caused (or causes) no new
  disruption: it is deleted without looking at budgets (a resourceVersion precondition
  guards against it becoming Running meanwhile, for non-terminal pods);
* otherwise the budgets selecting it are found: none, the pod goes; more than one is a
  500 the subresource does not support;
* an unready pod does not spend the budget when the budget's policy is AlwaysAllow, or
  (IfHealthyBudget, the default) while the application has its desired healthy pods;
* a ready pod spends one disruption: with a compare-and-swap on the budget's status,
  ``disruptionsAllowed`` is decremented and ``disruptedPods[pod]`` stamped, so the
  disruption controller does not count the pod as healthy until it is gone; a budget at
  zero, or one its controller has not yet observed, answers 429 TooManyRequests;
* the pod then gets the DisruptionTarget condition and is deleted with the eviction's
  deleteOptions. Dry-run checks everything and writes nothing.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from . import errors
from .admission import lookup
from .objects import now_rfc3339
from .selectors import selector_from_label_selector
from .user import SYSTEM_APISERVER

if TYPE_CHECKING:
    from .handlers.common import ResourceRequest

BUDGET_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget."
MULTIPLE_BUDGETS = ("This pod has more than one PodDisruptionBudget, which the eviction "
                    "subresource does not support.")
#: More unconfirmed evictions than this in one budget means its controller is lagging.
MAX_DISRUPTED_PODS = 2000
#: Attempts to delete a budget-free pod whose resourceVersion keeps moving.
RETRIES = 20
MANAGER = "kube-apiserver"
SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
           "code": 201}


def pod_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def _terminal(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def can_ignore_budgets(pod: dict) -> bool:
    """Pending, finished or deleting pods are evicted without budget checks."""
    return _terminal(pod) or (pod.get("status") or {}).get("phase") == "Pending" or \
        bool(pod["metadata"].get("deletionTimestamp"))


def _enforce_version(pod: dict) -> bool:
    """Whether a budget-free delete must pin the pod's resourceVersion (it could become
    Running, and so guarded, before the delete lands)."""
    return not _terminal(pod) and not pod["metadata"].get("deletionTimestamp")


def matching_budgets(pod: dict, budgets: list[dict]) -> list[dict]:
    """The budgets of the pod's namespace selecting it (a missing selector selects nothing,
    ``{}`` everything, as policy/v1)."""
    labels = pod["metadata"].get("labels") or {}
    out = []
    for pdb in budgets:
        selector = (pdb.get("spec") or {}).get("selector")
        if pdb["metadata"].get("namespace") != pod["metadata"].get("namespace") or \
                selector is None:
            continue
        try:
            if selector_from_label_selector(selector).matches(labels):
                out.append(pdb)
        except (KeyError, ValueError):  # an invalid selector matches nothing
            continue
    return out


def spends_budget(pod: dict, pdb: dict) -> bool:
    """False when an unready pod may go without decrementing the budget."""
    if pod_ready(pod):
        return True
    if (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
        return False
    status = pdb.get("status") or {}
    desired = status.get("desiredHealthy") or 0
    return not (desired > 0 and (status.get("currentHealthy") or 0) >= desired)


def too_many_requests(cause: str, retry_after: int = 0) -> errors.APIError:
    details: dict = {"causes": [{"reason": "DisruptionBudget", "message": cause}]}
    headers = {}
    if retry_after:
        details["retryAfterSeconds"] = retry_after
        headers["Retry-After"] = str(retry_after)
    return errors.APIError(429, "TooManyRequests", BUDGET_MESSAGE, details, headers)


def _processing(name: str) -> errors.APIError:
    return too_many_requests(f"The disruption budget {name} is still being processed by the "
                             "server.", 10)


def take_disruption(pdb: dict, pod_name: str, now: str) -> dict:
    """``pdb`` (a private copy) with one disruption spent on ``pod_name``, or the error
    that refuses the eviction (checkAndDecrement)."""
    name = pdb["metadata"]["name"]
    status = pdb.setdefault("status", {})
    if (status.get("observedGeneration") or 0) < (pdb["metadata"].get("generation") or 0):
        raise _processing(name)
    allowed = status.get("disruptionsAllowed") or 0
    if allowed < 0:
        raise errors.forbidden_error("policy", "poddisruptionbudget", name,
                                     "pdb disruptions allowed is negative")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
        raise errors.forbidden_error(
            "policy", "poddisruptionbudget", name,
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller")
    if allowed == 0:
        raise too_many_requests(
            f"The disruption budget {name} needs {status.get('desiredHealthy') or 0} healthy "
            f"pods and has {status.get('currentHealthy') or 0} currently")
    status["disruptionsAllowed"] = allowed - 1
    if allowed == 1:
        _insufficient(status, now)
    status["disruptedPods"] = {**(status.get("disruptedPods") or {}), pod_name: now}
    return pdb


def _insufficient(status: dict, now: str) -> None:
    """The DisruptionAllowed condition once the last allowed disruption is spent."""
    conditions = [dict(c) for c in status.get("conditions") or ()]
    wanted = {"type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods",
              "message": "", "observedGeneration": status.get("observedGeneration") or 0}
    for cond in conditions:
        if cond.get("type") == "DisruptionAllowed":
            if cond.get("status") != "False":
                cond["lastTransitionTime"] = now
            cond.update(wanted)
            break
    else:
        conditions.append({**wanted, "lastTransitionTime": now})
    status["conditions"] = conditions


def _with_version(options: dict, version: str) -> dict:
    out = copy.deepcopy(options)
    out.setdefault("preconditions", {})["resourceVersion"] = version
    return out


def _pinned(options: dict) -> bool:
    return bool((options.get("preconditions") or {}).get("resourceVersion"))


def _dry_run(query_dry_run: bool, options: dict) -> bool:
    """The request's dryRun and the deleteOptions' must agree (propagateDryRun)."""
    body = options.get("dryRun") or []
    if query_dry_run and body and body != ["All"]:
        raise errors.bad_request(f"Non-matching dry-run options in request and content: "
                                 f"[All] and {body}")
    for value in body:
        if value != "All":
            raise errors.bad_request(f'unsupported dry run option "{value}"')
    return query_dry_run or bool(body)


def _disruption_target(options: dict, now: str):
    """A pod mutation adding DisruptionTarget=True, refusing on failed preconditions."""
    pre = options.get("preconditions") or {}

    def mutate(pod: dict) -> dict:
        meta = pod["metadata"]
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise errors.conflict("", "pods", meta["name"], "Precondition failed: UID in "
                                  f"precondition: {pre['uid']}, UID in object meta: "
                                  f"{meta.get('uid')}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
            raise errors.conflict("", "pods", meta["name"], errors.STALE_OBJECT)
        wanted = {"type": "DisruptionTarget", "status": "True",
                  "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"}
        conditions = pod.setdefault("status", {}).setdefault("conditions", [])
        for cond in conditions:
            if cond.get("type") == "DisruptionTarget":
                if cond.get("status") != "True":
                    cond["lastTransitionTime"] = now
                cond.update(wanted)
                break
        else:
            conditions.append({**wanted, "lastProbeTime": None, "lastTransitionTime": now})
        return pod

    return mutate


async def _mark_and_delete(req: ResourceRequest, options: dict, dry_run: bool) -> None:
    name = req.info.name
    if not dry_run:
        result = await req.objects.update(
            req.rt, req.namespace, name, _disruption_target(options, now_rfc3339()),
            subresource="status", client_rv_from_body=False, user=req.user,
            manager=req.manager)
        if _pinned(options):  # we moved the version ourselves
            options = _with_version(options, result.object["metadata"]["resourceVersion"])
    await req.objects.delete(req.rt, req.namespace, name, options, dry_run=dry_run,
                             user=req.user)


async def evict(req: ResourceRequest, body: dict) -> tuple[dict, int]:
    """Evict the pod ``req`` names; answers the Status body and HTTP code."""
    name = req.info.name
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request was not a JSON object")
    if (body.get("metadata") or {}).get("name") not in (None, "", name):
        raise errors.bad_request("name in URL does not match name in Eviction object")
    options = body.get("deleteOptions") or {}
    dry_run = _dry_run(req.dry_run, options)
    for _ in range(RETRIES):
        pod = await req.objects.get(req.rt, req.namespace, name)
        if not can_ignore_budgets(pod):
            break
        pinned = options
        if _enforce_version(pod) and not _pinned(options):
            pinned = _with_version(options, pod["metadata"]["resourceVersion"])
        try:
            await _mark_and_delete(req, pinned, dry_run)
            return SUCCESS, 201
        except errors.APIError as err:
            if err.code != 409 or _pinned(options):
                raise
    else:
        raise errors.conflict("", "pods", name, errors.STALE_OBJECT)

    budgets = matching_budgets(pod, await lookup.list_objects(
        req.ctx, "policy", "poddisruptionbudgets", req.namespace))
    if len(budgets) > 1:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": MULTIPLE_BUDGETS, "code": 500}, 500
    unspent = False
    if budgets:
        pdb = budgets[0]
        unspent = not spends_budget(pod, pdb)
        if not unspent:
            await _spend(req, pdb["metadata"]["name"], name, dry_run)
    if not unspent:
        await _mark_and_delete(req, options, dry_run)
        return SUCCESS, 201
    try:  # the pod must still be the unready one we judged
        await _mark_and_delete(req, options if _pinned(options) else
                               _with_version(options, pod["metadata"]["resourceVersion"]),
                               dry_run)
    except errors.APIError as err:
        if err.code == 409 and not _pinned(options):
            raise _processing(budgets[0]["metadata"]["name"]) from None
        raise
    return SUCCESS, 201


async def _spend(req: ResourceRequest, pdb_name: str, pod_name: str, dry_run: bool) -> None:
    rt = req.ctx.registry.get("policy", "v1", "poddisruptionbudgets")
    now = now_rfc3339()
    try:
        await req.objects.update(rt, req.namespace, pdb_name,
                                 lambda pdb: take_disruption(pdb, pod_name, now),
                                 subresource="status", dry_run=dry_run,
                                 client_rv_from_body=False, user=SYSTEM_APISERVER,
                                 manager=MANAGER)
    except errors.APIError as err:
        if err.code == 409:
            raise errors.timeout(f'couldn\'t update PodDisruptionBudget "{pdb_name}" due to '
                                 "conflicts") from None
        raise
