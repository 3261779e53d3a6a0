"""Pure Deployment arithmetic (upstream's pkg/controller/deployment/util/deployment_util.go).

Everything here reads plain dicts and returns values, so it is tested as tables:
surge/unavailable fenceposts (percentages of ``spec.replicas``: surge rounds up,
unavailable down, never both zero), finding the new and old ReplicaSets (template equal
ignoring the pod-template-hash label), revisions and the annotations a ReplicaSet
carries, replica counts over ReplicaSets, proportional scaling shares, completeness and
progress tests, and conditions (a condition keeps its lastTransitionTime while its status
holds).
"""

from __future__ import annotations

import copy
import math
from datetime import datetime, timedelta

from .util.times import format_time, parse_time, utcnow

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
SKIPPED_ANNOTATIONS = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY,
    DESIRED_REPLICAS, MAX_REPLICAS, "deprecated.deployment.rollback.to"})
MAX_REVISION_HISTORY_CHARS = 2000
NO_DEADLINE = 2 ** 31 - 1


# -- fields -------------------------------------------------------------------------

def replicas(obj: dict | None) -> int:
    """``spec.replicas`` of a Deployment or ReplicaSet (0 for None)."""
    if obj is None:
        return 0
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else value


def status_of(obj: dict | None, field: str) -> int:
    return ((obj or {}).get("status") or {}).get(field) or 0


def annotations(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("annotations") or {}


def is_rolling(d: dict) -> bool:
    return ((d.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate") == \
        "RollingUpdate"


def has_progress_deadline(d: dict) -> bool:
    deadline = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return deadline is not None and deadline != NO_DEADLINE


# -- surge and unavailability ---------------------------------------------------------

def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """An IntOrString (``3`` or ``"25%"``) resolved against ``total``."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if not value.endswith("%"):
        return int(value)
    scaled = int(value[:-1]) * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


def resolve_fenceposts(max_surge, max_unavailable, desired: int) -> tuple[int, int]:
    """(surge, unavailable) for ``desired`` replicas; (0, 0) becomes (0, 1)."""
    surge = scaled_value(max_surge, desired, True)
    unavailable = scaled_value(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling_params(d: dict) -> tuple:
    rolling = ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    return rolling.get("maxSurge", "25%"), rolling.get("maxUnavailable", "25%")


def max_surge(d: dict) -> int:
    if not is_rolling(d):
        return 0
    return resolve_fenceposts(*_rolling_params(d), replicas(d))[0]


def max_unavailable(d: dict) -> int:
    if not is_rolling(d) or replicas(d) == 0:
        return 0
    return min(resolve_fenceposts(*_rolling_params(d), replicas(d))[1], replicas(d))


# -- finding ReplicaSets ----------------------------------------------------------------

def _prune(value):
    """Drop None and empty maps/lists, as apimachinery's semantic equality ignores them."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def equal_ignore_hash(a: dict | None, b: dict | None) -> bool:
    """Two pod templates equal once the pod-template-hash label is dropped."""
    a, b = copy.deepcopy(a or {}), copy.deepcopy(b or {})
    for template in (a, b):
        ((template.get("metadata") or {}).get("labels") or {}).pop(HASH_LABEL, None)
    return _prune(a) == _prune(b)


def by_creation(rs: dict) -> tuple:
    meta = rs["metadata"]
    return (meta.get("creationTimestamp") or "", meta.get("name") or "")


def find_new_rs(d: dict, rs_list: list[dict]) -> dict | None:
    """The oldest ReplicaSet whose template is the Deployment's."""
    template = (d.get("spec") or {}).get("template")
    for rs in sorted(rs_list, key=by_creation):
        if equal_ignore_hash((rs.get("spec") or {}).get("template"), template):
            return rs
    return None


def find_old_rss(d: dict, rs_list: list[dict]) -> list[dict]:
    """Every ReplicaSet but the new one."""
    new = find_new_rs(d, rs_list)
    new_uid = new["metadata"]["uid"] if new else None
    return [rs for rs in rs_list if rs["metadata"].get("uid") != new_uid]


def filter_active(rss: list[dict | None]) -> list[dict]:
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def replica_count(rss: list[dict | None]) -> int:
    """Sum of spec.replicas."""
    return sum(replicas(rs) for rs in rss if rs is not None)


def status_count(rss: list[dict | None], field: str) -> int:
    """Sum of a status count (replicas, readyReplicas, availableReplicas)."""
    return sum(status_of(rs, field) for rs in rss if rs is not None)


def available_within_spec(rss: list[dict | None]) -> int:
    """Available pods the ReplicaSets will keep: each one's status.availableReplicas capped
    at its spec.replicas. A ReplicaSet just scaled down still reports the pods it is about
    to delete; counting those (as upstream's rolling.go does) lets a second scale-down, run
    before the ReplicaSet controller caught up, take availability below the minimum."""
    return sum(min(status_of(rs, "availableReplicas"), replicas(rs))
               for rs in rss if rs is not None)


def find_active_or_latest(new: dict | None, olds: list[dict]) -> dict | None:
    """The only active ReplicaSet, else (none active) the new or newest; None if several."""
    if new is None and not olds:
        return None
    olds = sorted(olds, key=by_creation, reverse=True)
    active = filter_active(olds + [new])
    if not active:
        return new if new is not None else olds[0]
    return active[0] if len(active) == 1 else None


# -- revisions and annotations ----------------------------------------------------------

def revision(obj: dict) -> int:
    try:
        return int(annotations(obj).get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(rss: list[dict]) -> int:
    return max((revision(rs) for rs in rss), default=0)


def _append_history(history: str, old: str) -> str | None:
    """``history`` with ``old`` appended, dropping the oldest entries past the limit."""
    if not history:
        return old
    entries = history.split(",")
    total = len(history) + len(old) + 1
    start = 0
    while total > MAX_REVISION_HISTORY_CHARS and start < len(entries):
        total -= len(entries[start]) + 1
        start += 1
    if total > MAX_REVISION_HISTORY_CHARS:
        return None
    return ",".join(entries[start:] + [old])


def set_new_rs_annotations(d: dict, rs: dict, new_revision: int, exists: bool) -> bool:
    """Copy the Deployment's annotations onto ``rs`` (a copy we own), raise its revision
    to ``new_revision`` (remembering the old one in revision-history when it is reused,
    i.e. rolled back to) and, for a ReplicaSet about to be created, set the replica
    annotations. True when anything changed."""
    ann = rs["metadata"].setdefault("annotations", {})
    changed = False
    for key, value in annotations(d).items():
        if key not in SKIPPED_ANNOTATIONS and ann.get(key) != value:
            ann[key] = value
            changed = True
    old = ann.get(REVISION)
    try:
        old_int = int(old) if old else 0
    except ValueError:
        return changed
    if old_int < new_revision:
        ann[REVISION] = str(new_revision)
        changed = True
        if old is not None:
            history = _append_history(ann.get(REVISION_HISTORY, ""), old)
            if history is not None:
                ann[REVISION_HISTORY] = history
    if not exists and set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)):
        changed = True
    return changed


def set_replicas_annotations(rs: dict, desired: int, maximum: int) -> bool:
    ann = rs["metadata"].setdefault("annotations", {})
    wanted = {DESIRED_REPLICAS: str(desired), MAX_REPLICAS: str(maximum)}
    if all(ann.get(k) == v for k, v in wanted.items()):
        return False
    ann.update(wanted)
    return True


def replicas_annotations_need_update(rs: dict, desired: int, maximum: int) -> bool:
    ann = annotations(rs)
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(maximum)


def _int_annotation(rs: dict, key: str) -> int | None:
    try:
        return int(annotations(rs)[key])
    except (KeyError, ValueError):
        return None


def is_saturated(d: dict, rs: dict | None) -> bool:
    """The new ReplicaSet runs the full count, all available."""
    if rs is None:
        return False
    return replicas(rs) == replicas(d) and _int_annotation(rs, DESIRED_REPLICAS) == \
        replicas(d) and status_of(rs, "availableReplicas") == replicas(d)


def desired_annotation(rs: dict) -> int | None:
    return _int_annotation(rs, DESIRED_REPLICAS)


# -- rolling update sizes ---------------------------------------------------------------

def new_rs_new_replicas(d: dict, all_rss: list[dict | None], new: dict) -> int:
    """How big the new ReplicaSet may be now (surge-bounded for RollingUpdate)."""
    if not is_rolling(d):
        return replicas(d)
    current = replica_count(all_rss)
    max_total = replicas(d) + max_surge(d)
    if current >= max_total:
        return replicas(new)
    return replicas(new) + min(max_total - current, replicas(d) - replicas(new))


def proportion(rs: dict | None, d: dict, to_add: int, added: int) -> int:
    """The share of ``to_add`` replicas ``rs`` gets when a Deployment is resized mid-rollout
    (bounded by what is left to hand out)."""
    if rs is None or replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _fraction(rs: dict, d: dict) -> int:
    if replicas(d) == 0:
        return -replicas(rs)
    deployment_replicas = replicas(d) + max_surge(d)
    annotated = _int_annotation(rs, MAX_REPLICAS)
    if annotated is None:
        annotated = status_of(d, "replicas")
    if annotated == 0:
        return 0
    return math.floor(replicas(rs) * deployment_replicas / annotated + 0.5) - replicas(rs)


# -- status and conditions ------------------------------------------------------------

def new_condition(ctype: str, status: str, reason: str, message: str,
                  now: datetime | None = None) -> dict:
    stamp = format_time(now)
    return {"type": ctype, "status": status, "lastUpdateTime": stamp,
            "lastTransitionTime": stamp, "reason": reason, "message": message}


def get_condition(status: dict, ctype: str) -> dict | None:
    return next((c for c in status.get("conditions") or () if c.get("type") == ctype), None)


def set_condition(status: dict, cond: dict) -> None:
    """As upstream's SetDeploymentCondition: same status and reason is a no-op; same
    status keeps the lastTransitionTime."""
    current = get_condition(status, cond["type"])
    if current and current["status"] == cond["status"] and current.get("reason") == \
            cond.get("reason"):
        return
    if current and current["status"] == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def remove_condition(status: dict, ctype: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or () if c["type"] != ctype]
    if not status["conditions"]:
        del status["conditions"]


def deployment_complete(d: dict, status: dict) -> bool:
    want = replicas(d)
    return status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want \
        and status.get("availableReplicas", 0) == want and \
        status.get("observedGeneration", 0) >= (d["metadata"].get("generation") or 0)


def deployment_progressing(d: dict, new: dict) -> bool:
    old = d.get("status") or {}
    old_olds = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_olds = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0) or \
        new_olds < old_olds or \
        new.get("readyReplicas", 0) > old.get("readyReplicas", 0) or \
        new.get("availableReplicas", 0) > old.get("availableReplicas", 0)


def progress_deadline(d: dict, status: dict) -> datetime | None:
    """When the Progressing condition's last update runs past progressDeadlineSeconds."""
    cond = get_condition(status, "Progressing")
    since = parse_time(cond.get("lastUpdateTime")) if cond else None
    if since is None:
        return None
    return since + timedelta(seconds=(d.get("spec") or {})["progressDeadlineSeconds"])


def deployment_timed_out(d: dict, status: dict, now: datetime | None = None) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(status, "Progressing")
    if cond is None or cond.get("reason") == "NewReplicaSetAvailable":
        return False
    if cond.get("reason") == "ProgressDeadlineExceeded":
        return True
    deadline = progress_deadline(d, status)
    return deadline is not None and deadline < (now or utcnow())
