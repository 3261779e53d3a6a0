"""KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) read into profiles.

Defaulting follows upstream's v1 defaults: one ``default-scheduler`` profile, the default
MultiPoint plugin set with its weights, ``percentageOfNodesToScore`` 0 (adaptive),
backoff 1 s..10 s. A profile's ``plugins.<point>`` lists are layered over MultiPoint:
``disabled`` names (``*`` for all defaults) drop plugins, ``enabled`` ones are appended
(or override the MultiPoint weight).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from .interface import EXTENSION_POINTS

DEFAULT_SCHEDULER_NAME = "default-scheduler"

#: Upstream's getDefaultPlugins (MultiPoint), with score weights; of the volume plugins only
#: VolumeBinding (static binding) is here.
DEFAULT_MULTIPOINT = (
    ("PrioritySort", 0), ("NodeUnschedulable", 0), ("NodeName", 0),
    ("TaintToleration", 3), ("NodeAffinity", 2), ("NodePorts", 0),
    ("NodeResourcesFit", 1), ("VolumeBinding", 0), ("PodTopologySpread", 2), ("InterPodAffinity", 2),
    ("DefaultPreemption", 0), ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1), ("DefaultBinder", 0),
)


class ConfigError(ValueError):
    """The configuration file is not a valid KubeSchedulerConfiguration."""


@dataclass
class Profile:
    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    #: extension point -> ordered [(plugin name, weight)] after layering.
    plugins: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    plugin_args: dict[str, dict] = field(default_factory=dict)
    percentage_of_nodes_to_score: int | None = None


@dataclass
class SchedulerConfig:
    profiles: list[Profile]
    percentage_of_nodes_to_score: int = 0
    pod_initial_backoff: float = 1.0
    pod_max_backoff: float = 10.0
    leader_elect: bool = True
    lease_namespace: str = "kube-system"
    lease_name: str = "kube-scheduler"


def _expand(multipoint: list[tuple[str, int]], points: dict,
            implements: dict[str, set[str]]) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for point in EXTENSION_POINTS:
        conf = points.get(point) or {}
        disabled = {d.get("name") for d in conf.get("disabled") or ()}
        enabled = [(e["name"], int(e.get("weight") or 0)) for e in conf.get("enabled") or ()]
        explicit = {name for name, _ in enabled}
        chosen = [(n, w) for n, w in multipoint
                  if n in implements.get(point, set()) and "*" not in disabled
                  and n not in disabled and n not in explicit]
        out[point] = chosen + enabled
    out["score"] = [(n, w or 1) for n, w in out["score"]]
    return out


def _profile(raw: dict, implements: dict[str, set[str]]) -> Profile:
    plugins = raw.get("plugins") or {}
    multi = plugins.get("multiPoint") or {}
    disabled = {d.get("name") for d in multi.get("disabled") or ()}
    base = [] if "*" in disabled else [(n, w) for n, w in DEFAULT_MULTIPOINT
                                       if n not in disabled]
    for entry in multi.get("enabled") or ():
        base = [(n, w) for n, w in base if n != entry["name"]]
        base.append((entry["name"], int(entry.get("weight") or 0)))
    args = {}
    for item in raw.get("pluginConfig") or ():
        if "name" not in item:
            raise ConfigError("pluginConfig entries need a name")
        args[item["name"]] = item.get("args") or {}
    percentage = raw.get("percentageOfNodesToScore")
    return Profile(raw.get("schedulerName") or DEFAULT_SCHEDULER_NAME,
                   _expand(base, plugins, implements), args,
                   None if percentage is None else _percentage(percentage))


def _percentage(value: object) -> int:
    if not isinstance(value, int) or not 0 <= value <= 100:
        raise ConfigError(f"percentageOfNodesToScore must be 0..100, not {value!r}")
    return value


def parse(raw: dict | None, implements: dict[str, set[str]]) -> SchedulerConfig:
    """A SchedulerConfig from a decoded document (None: all defaults). ``implements``
    maps each extension point to the registered plugins that implement it."""
    raw = raw or {}
    if raw and raw.get("kind", "KubeSchedulerConfiguration") != "KubeSchedulerConfiguration":
        raise ConfigError(f"unexpected kind {raw.get('kind')!r}")
    profiles = [_profile(p, implements) for p in raw.get("profiles") or [{}]]
    names = [p.scheduler_name for p in profiles]
    if len(set(names)) != len(names):
        raise ConfigError("duplicate profile schedulerName")
    le = raw.get("leaderElection") or {}
    return SchedulerConfig(
        profiles=profiles,
        percentage_of_nodes_to_score=_percentage(raw.get("percentageOfNodesToScore") or 0),
        pod_initial_backoff=float(raw.get("podInitialBackoffSeconds") or 1),
        pod_max_backoff=float(raw.get("podMaxBackoffSeconds") or 10),
        leader_elect=le.get("leaderElect", True),
        lease_namespace=le.get("resourceNamespace") or "kube-system",
        lease_name=le.get("resourceName") or "kube-scheduler")


def load(path: str | None, implements: dict[str, set[str]]) -> SchedulerConfig:
    if not path:
        return parse(None, implements)
    with open(path) as f:
        try:
            return parse(yaml.safe_load(f), implements)
        except yaml.YAMLError as err:
            raise ConfigError(str(err)) from err
