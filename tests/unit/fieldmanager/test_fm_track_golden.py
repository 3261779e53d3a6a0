"""managedFields stay byte-identical: many writes replayed against recorded outputs.

Why it exists: ``track`` and the set algebra under it are tuned for speed, and every
tuning must leave the managedFields of every write exactly as before (entries, their
order, FieldsV1 key order, times, subresources, the ten-manager cap). The cases here
are handcrafted sequences (creates with and without sent managedFields, status
writes, list edits by merge key, the cap) and seeded random mutation chains over a
server-defaulted Pod, Deployment and Service and an unstructured custom object, with
a few applies mixed in. ``fm_track_golden.json`` holds the JSON text each step
produced (a digest of it for the random chains); regenerate it only for an intended
behaviour change, with ``.venv/bin/python tests/unit/fieldmanager/test_fm_track_golden.py``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib
import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from pyk8s.apiserver import errors
from pyk8s.apiserver.fieldmanager import apply_config, managed, track

HERE = Path(__file__).parent
OBJECTS = json.loads((HERE / "fm_track_objects.json").read_text())
GOLDEN = HERE / "fm_track_golden.json"
APPLY_MODULE = importlib.import_module("pyk8s.apiserver.fieldmanager.apply")


def _rt(group: str, version: str, kind: str, subresources: tuple = ()) -> SimpleNamespace:
    return SimpleNamespace(group=group, version=version, kind=kind, subresources=subresources,
                           api_version=f"{group}/{version}" if group else version)


POD = _rt("", "v1", "Pod", ("status", "binding", "eviction"))
DEPLOYMENT = _rt("apps", "v1", "Deployment", ("status", "scale"))
SERVICE = _rt("", "v1", "Service", ("status",))
CONFIGMAP = _rt("", "v1", "ConfigMap")
WIDGET = _rt("example.com", "v1", "Widget", ("status",))
WIDGET_NO_STATUS = _rt("example.com", "v1", "Widget")
MANAGERS = [f"m{i:02}" for i in range(13)]

# A step: ("update", manager, new object, sent managedFields, subresource) where sent is
# "live" (the client sends back what it read), "none", or a literal list; or
# ("apply", manager, configuration, force).


def _update(manager, obj, sent="live", subresource=""):
    return ("update", manager, obj, sent, subresource)


def _with(obj: dict, change) -> dict:
    out = copy.deepcopy(obj)
    change(out)
    return out


def _handcrafted() -> dict[str, tuple]:
    pod, deploy, svc, widget = (OBJECTS[k] for k in ("pod", "deployment", "service", "widget"))
    env = pod["spec"]["containers"][0]["env"]
    cases = {
        "pod create": (POD, [_update("kubectl-create", pod)]),
        "deployment create": (DEPLOYMENT, [_update("kubectl-create", deploy)]),
        "service create": (SERVICE, [_update("kubectl-create", svc)]),
        "widget create with status subresource": (WIDGET, [_update("kubectl", widget)]),
        "widget create without status subresource": (WIDGET_NO_STATUS,
                                                     [_update("kubectl", widget)]),
        "create with sent managedFields": (CONFIGMAP, [
            _update("x", {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}},
                    [{"manager": "other", "operation": "Update", "apiVersion": "v1",
                      "time": "2019-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                      "fieldsV1": {"f:data": {"f:a": {}, "f:z": {}}}},
                     {"manager": "app", "operation": "Apply", "apiVersion": "v1",
                      "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:b": {}}}}])]),
        "create with unsorted sent managedFields": (CONFIGMAP, [
            _update("x", {"metadata": {"name": "c"}, "data": {"a": "1"}},
                    [{"manager": "o", "operation": "Update", "apiVersion": "v1",
                      "fieldsType": "FieldsV1",
                      "fieldsV1": {"f:metadata": {"f:labels": {"f:z": {}, ".": {}, "f:a": {}}},
                                   "f:data": {"f:q": {".": {}}}}}])]),
        "create with reset and invalid managedFields": (CONFIGMAP, [
            _update("x", {"metadata": {"name": "c"}, "data": {"a": "1"}}, []),
            _update("y", {"metadata": {"name": "c"}, "data": {"a": "2"}}, [{}]),
            _update("z", {"metadata": {"name": "c"}, "data": {"a": "3"}},
                    [{"manager": "bad", "operation": "Nope"}])]),
        "create of nulls and empties": (CONFIGMAP, [
            _update("x", {"metadata": {"name": "c", "labels": {}, "annotations": None},
                          "data": {"a": None}, "binaryData": {}, "extra": [None, {}, []]})]),
        "pod env edits by merge key": (POD, [
            _update("kubectl-create", pod),
            _update("edit", _with(pod, lambda p: p["spec"]["containers"][0]["env"].append(
                {"name": "NEW", "value": "v"}))),
            _update("edit2", _with(pod, lambda p: p["spec"]["containers"][0].update(
                env=list(reversed(env[:5])), image="other:2"))),
            _update("dup", _with(pod, lambda p: p["spec"]["containers"][0]["env"].extend(
                [{"name": "VAR_1", "value": "dup"}, {"value": "keyless"}]))),
        ]),
        "deployment status subresource": (DEPLOYMENT, [
            _update("kubectl-create", deploy),
            _update("controller", _with(deploy, lambda d: d["status"].update(
                replicas=4, updatedReplicas=4)), subresource="status"),
            _update("controller", _with(deploy, lambda d: d["status"].update(
                replicas=5, observedGeneration=2)), subresource="status"),
            _update("scaler", _with(deploy, lambda d: d["spec"].update(replicas=9)),
                    subresource="scale"),
            _update("kubectl-edit", _with(deploy, lambda d: d["status"].update(replicas=0))),
        ]),
        "pod status conditions": (POD, [
            _update("kubectl-create", pod),
            _update("kubelet", _with(pod, lambda p: p["status"]["conditions"].append(
                {"type": "Initialized", "status": "True"})), subresource="status"),
            _update("kubelet", _with(pod, lambda p: p["status"].pop("podIPs")),
                    subresource="status"),
        ]),
        "service ports and sent none": (SERVICE, [
            _update("kubectl-create", svc),
            _update("edit", _with(svc, lambda s: s["spec"]["ports"].pop()), sent="none"),
            _update("edit", _with(svc, lambda s: s["metadata"]["annotations"].clear())),
        ]),
        "widget with applies": (WIDGET, [
            ("apply", "app", {"apiVersion": "example.com/v1", "kind": "Widget",
                              "metadata": {"name": "w"}, "spec": {"size": 1, "tags": ["a"]}},
             False),
            _update("edit", {"apiVersion": "example.com/v1", "kind": "Widget",
                             "metadata": {"name": "w"}, "spec": {"size": 2, "tags": ["a"],
                                                                 "more": {"x": 1}}}),
            ("apply", "app", {"apiVersion": "example.com/v1", "kind": "Widget",
                              "metadata": {"name": "w"}, "spec": {"size": 3}}, False),
            ("apply", "app", {"apiVersion": "example.com/v1", "kind": "Widget",
                              "metadata": {"name": "w"}, "spec": {"size": 3}}, True),
        ]),
        "eleven update managers": (CONFIGMAP, [
            _update(f"m{i:02}", {"metadata": {"name": "c"},
                                 "data": {f"k{j}": "v" for j in range(i + 1)}})
            for i in range(13)] + [
            _update("m03", {"metadata": {"name": "c"}, "data": {"k0": "changed"}})]),
    }
    return cases


# ---- seeded random mutation chains ----------------------------------------------------


def _slots(value: object, out: list) -> None:
    """Every (container, key) below ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            out.append((value, key))
            _slots(item, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.append((value, index))
            _slots(item, out)


def _mutate(obj: dict, rng: random.Random, status_only: bool) -> dict:
    out = copy.deepcopy(obj)
    roots = ["status"] if status_only else ["spec", "metadata", "status", "data"]
    for _ in range(rng.randint(1, 3)):
        slots: list = []
        for root in roots:
            if root in out:
                slots.append((out, root))
                _slots(out[root], slots)
        slots = [s for s in slots if s != (out, "metadata") and not (
            s[0] is out["metadata"] and s[1] in ("name", "namespace"))]
        if not slots:
            break
        container, key = rng.choice(slots)
        current = container[key]
        op = rng.randrange(9)
        if op == 0:
            del container[key]
        elif op == 1:
            container[key] = rng.choice(["x", 7, True, 1.5, "y" * rng.randint(0, 3)])
        elif op == 2:
            container[key] = {"r": rng.randint(0, 3)}
        elif op == 3:
            container[key] = [rng.randint(0, 3), "s"]
        elif op == 4 and isinstance(current, dict):
            current[rng.choice(["name", "port", "new", "value", "x"])] = rng.choice(
                ["n", 1, {"q": 1}, ["a"], {}])
        elif op == 5 and isinstance(current, list) and current:
            item = copy.deepcopy(rng.choice(current))
            if isinstance(item, dict) and "name" in item and rng.random() < 0.7:
                item["name"] = f"n{rng.randint(0, 5)}"
            current.insert(rng.randint(0, len(current)), item)
        elif op == 6 and isinstance(current, list):
            current.reverse()
        elif op == 7:
            container[key] = None
        else:
            container[key] = {} if isinstance(current, dict) else [] if isinstance(
                current, list) else current
    return out


def _apply_config(obj: dict, rng: random.Random) -> dict:
    config = {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
              "metadata": {"name": obj["metadata"]["name"]}}
    spec = obj.get("spec") or obj.get("data")
    if isinstance(spec, dict):
        field = "spec" if "spec" in obj else "data"
        config[field] = {k: copy.deepcopy(v) for k, v in spec.items() if rng.random() < 0.5}
    return config


def _random_chain(rt: SimpleNamespace, base: dict, seed: int, length: int) -> list:
    rng = random.Random(seed)
    steps = [_update(rng.choice(MANAGERS), base,
                     sent=rng.choice(["none", "none", "none", []]))]
    current = base
    for _ in range(length):
        roll = rng.random()
        if roll < 0.1:
            steps.append(("apply", rng.choice(MANAGERS[:3]), _apply_config(current, rng),
                          rng.random() < 0.5))
            continue
        subresource = "status" if "status" in rt.subresources and roll < 0.3 else ""
        current = _mutate(current, rng, status_only=subresource == "status")
        sent = rng.choice(["live"] * 6 + ["none", []])
        steps.append(_update(rng.choice(MANAGERS), current, sent, subresource))
    return steps


def _random_cases() -> dict[str, tuple]:
    bases = [(POD, "pod"), (DEPLOYMENT, "deployment"), (SERVICE, "service"),
             (WIDGET, "widget"), (WIDGET_NO_STATUS, "widget")]
    cases = {}
    for seed in range(50):
        rt, name = bases[seed % len(bases)]
        length = 25 if seed < 40 else 80
        cases[f"random {name} {seed}"] = (rt, _random_chain(rt, OBJECTS[name], seed, length))
    return cases


# ---- replay ------------------------------------------------------------------------


def replay(rt: SimpleNamespace, steps: list, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The JSON text after each step: the managedFields an update recorded, or the
    object (or the error) an apply produced."""
    live: dict | None = None
    out = []
    for number, step in enumerate(steps):
        stamp = f"2020-01-01T00:{number // 60:02}:{number % 60:02}Z"
        monkeypatch.setattr(managed, "now", lambda stamp=stamp: stamp)
        monkeypatch.setattr(APPLY_MODULE, "now", lambda stamp=stamp: stamp)
        if step[0] == "apply":
            _, manager, config, force = step
            try:
                live = apply_config(rt, copy.deepcopy(live), copy.deepcopy(config), manager,
                                    force=force)
                out.append(json.dumps(live))
            except errors.APIError as exc:
                out.append(f"{exc.code} {exc.message}")
            continue
        _, manager, obj, sent, subresource = step
        new = copy.deepcopy(obj)
        meta = new.setdefault("metadata", {})
        if sent == "live":
            if live is not None and "managedFields" in live.get("metadata", {}):
                meta["managedFields"] = copy.deepcopy(live["metadata"]["managedFields"])
        elif sent != "none":
            meta["managedFields"] = copy.deepcopy(sent)
        old = copy.deepcopy(live)
        track(rt, old, new, manager, "Update", subresource)
        out.append(json.dumps(new["metadata"].get("managedFields")))
        live = new
    return out


def recorded(name: str, outputs: list[str]) -> list[str]:
    """What the golden file keeps: the text itself for handcrafted cases, a digest of
    each step for the random ones (their full text would be megabytes)."""
    if not name.startswith("random "):
        return outputs
    return [hashlib.sha256(text.encode()).hexdigest() for text in outputs]


@functools.cache
def all_cases() -> dict[str, tuple]:
    return {**_handcrafted(), **_random_cases()}


@functools.cache
def golden() -> dict[str, list[str]]:
    return json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("name", list(all_cases()))
def test_managed_fields_match_recorded(name, monkeypatch):
    rt, steps = all_cases()[name]
    expected = golden()[name]
    assert recorded(name, replay(rt, steps, monkeypatch)) == expected


def _regenerate() -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        outputs = {name: recorded(name, replay(rt, steps, monkeypatch))
                   for name, (rt, steps) in all_cases().items()}
    GOLDEN.write_text(json.dumps(outputs, indent=0) + "\n")


if __name__ == "__main__":
    _regenerate()
