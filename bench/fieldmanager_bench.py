"""managedFields tracking cost: microseconds per ``fieldmanager.track`` call.

Why it exists: every create and update through the API server records who owns which
fields, and that bookkeeping was the largest single CPU cost of a pod create. This
times the common writes on a server-defaulted Pod (the one the unit tests replay):
a create, an update by another manager (a label), an update by the creating manager
(an image), a no-op update, and a kubelet-style status update.

Run: ``.venv/bin/python bench/fieldmanager_bench.py [--rounds 2000]``; prints Markdown.
This is a benchmark, not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path
from types import SimpleNamespace

from pyk8s.apiserver.fieldmanager import track

OBJECTS = Path(__file__).parents[1] / "tests" / "unit" / "fieldmanager" / "fm_track_objects.json"
POD_TYPE = SimpleNamespace(group="", version="v1", kind="Pod", api_version="v1",
                           subresources=("status", "binding", "eviction"))


def per_call_us(old: dict | None, new: dict, manager: str, subresource: str,
                rounds: int) -> float:
    """Best of five runs of ``rounds`` calls, each on its own copy of ``new``."""
    best = float("inf")
    for _ in range(5):
        copies = [copy.deepcopy(new) for _ in range(rounds)]
        start = time.perf_counter()
        for obj in copies:
            track(POD_TYPE, old, obj, manager, "Update", subresource)
        best = min(best, time.perf_counter() - start)
    return best / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000, help="calls per timed run")
    args = parser.parse_args()
    pod = json.loads(OBJECTS.read_text())["pod"]
    created = copy.deepcopy(pod)
    track(POD_TYPE, None, created, "kubectl-create", "Update")

    def changed(change) -> dict:
        out = copy.deepcopy(created)
        change(out)
        return out

    cases = [
        ("create", None, pod, "kubectl-create", ""),
        ("update, another manager (a label)", created,
         changed(lambda p: p["metadata"]["labels"].update(extra="1")), "kubectl-label", ""),
        ("update, same manager (an image)", created,
         changed(lambda p: p["spec"]["containers"][0].update(image="other:2")),
         "kubectl-create", ""),
        ("update, no change", created, changed(lambda p: None), "kubectl-create", ""),
        ("status update (kubelet)", created,
         changed(lambda p: p["status"].update(phase="Succeeded")), "kubelet", "status"),
    ]
    print("| write | µs per track() |")
    print("|---|---:|")
    for name, old, new, manager, subresource in cases:
        print(f"| {name} | {per_call_us(old, new, manager, subresource, args.rounds):,.0f} |")


if __name__ == "__main__":
    main()
