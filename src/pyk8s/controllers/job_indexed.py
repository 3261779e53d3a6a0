"""Indexed completion mode for the Job controller (upstream's indexed_job_utils.go).

Each pod of an Indexed Job carries its completion index (annotation and label
``batch.kubernetes.io/job-completion-index``, env ``JOB_COMPLETION_INDEX``, hostname
``<job>-<index>``); the Job succeeds when every index in ``[0, completions)`` has a
succeeded pod. Succeeded (and, with backoffLimitPerIndex, failed) indexes are kept in
status as compressed interval lists such as ``"1,3-5,7"``.
"""

from __future__ import annotations

import copy

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
INDEX_ENV = "JOB_COMPLETION_INDEX"


def pod_index(pod: dict) -> int | None:
    """The pod's completion index, or None if missing or malformed."""
    meta = pod.get("metadata") or {}
    value = (meta.get("annotations") or {}).get(COMPLETION_INDEX)
    if value is None:
        value = (meta.get("labels") or {}).get(COMPLETION_INDEX)
    if value is None or not value.isdigit():
        return None
    return int(value)


def valid_index(pod: dict, completions: int) -> int | None:
    index = pod_index(pod)
    return index if index is not None and index < completions else None


def parse_indexes(text: str | None, completions: int) -> set[int]:
    """The indexes of an interval list, dropping malformed parts and those out of range."""
    out: set[int] = set()
    for part in (text or "").split(","):
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            continue
        out.update(i for i in range(int(lo), int(hi or lo) + 1) if i < completions)
    return out


def format_indexes(indexes: set[int]) -> str:
    """``{1,3,4,5,7}`` -> ``"1,3-5,7"``."""
    parts: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def indexes_to_create(completions: int, done: set[int], active_pods: list[dict],
                      count: int) -> list[int]:
    """The ``count`` lowest indexes neither done (succeeded or failed) nor running."""
    running = {pod_index(p) for p in active_pods}
    out: list[int] = []
    for index in range(completions):
        if len(out) >= count:
            break
        if index not in done and index not in running:
            out.append(index)
    return out


def pods_to_remove(active_pods: list[dict], completions: int, done: set[int]) -> list[dict]:
    """Active pods with no valid index, an index already done, or a duplicate index
    (the duplicates kept are the ones created first)."""
    remove: list[dict] = []
    seen: set[int] = set()
    for pod in sorted(active_pods, key=lambda p: (p["metadata"].get("creationTimestamp") or "",
                                                  p["metadata"]["name"])):
        index = valid_index(pod, completions)
        if index is None or index in done or index in seen:
            remove.append(pod)
        else:
            seen.add(index)
    return remove


def apply_index(template: dict, job_name: str, index: int, failures: int | None) -> dict:
    """A copy of the pod template for ``index`` (annotation, label, env, hostname)."""
    pod = copy.deepcopy(template)
    meta = pod.setdefault("metadata", {})
    meta.setdefault("annotations", {})[COMPLETION_INDEX] = str(index)
    meta.setdefault("labels", {})[COMPLETION_INDEX] = str(index)
    if failures is not None:
        meta["annotations"][INDEX_FAILURE_COUNT] = str(failures)
    spec = pod.setdefault("spec", {})
    if not spec.get("hostname"):
        spec["hostname"] = f"{job_name}-{index}"
    env_var = {"name": INDEX_ENV, "valueFrom": {"fieldRef": {
        "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}}
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or ():
            env = container.setdefault("env", [])
            if not any(e.get("name") == INDEX_ENV for e in env):
                env.append(dict(env_var))
    return pod
