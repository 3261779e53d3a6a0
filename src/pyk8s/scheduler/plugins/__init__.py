"""The in-tree plugins, one module each, registered by name."""

from __future__ import annotations

from ..framework.registry import Registry
from . import (
    balancedallocation,
    defaultbinder,
    defaultpreemption,
    imagelocality,
    interpodaffinity,
    nodeaffinity,
    nodename,
    nodeports,
    noderesources_fit,
    nodeunschedulable,
    podtopologyspread,
    prioritysort,
    tainttoleration,
    volumebinding,
)

_MODULES = (prioritysort, nodeunschedulable, nodename, tainttoleration, nodeaffinity,
            nodeports, noderesources_fit, volumebinding, podtopologyspread, interpodaffinity,
            defaultpreemption, balancedallocation, imagelocality, defaultbinder)

#: Which extension points each in-tree plugin implements (for MultiPoint expansion).
_CLASSES = {
    prioritysort.NAME: prioritysort.PrioritySort,
    nodeunschedulable.NAME: nodeunschedulable.NodeUnschedulable,
    nodename.NAME: nodename.NodeName,
    tainttoleration.NAME: tainttoleration.TaintToleration,
    nodeaffinity.NAME: nodeaffinity.NodeAffinity,
    nodeports.NAME: nodeports.NodePorts,
    noderesources_fit.NAME: noderesources_fit.Fit,
    volumebinding.NAME: volumebinding.VolumeBinding,
    podtopologyspread.NAME: podtopologyspread.PodTopologySpread,
    interpodaffinity.NAME: interpodaffinity.InterPodAffinity,
    defaultpreemption.NAME: defaultpreemption.DefaultPreemption,
    balancedallocation.NAME: balancedallocation.BalancedAllocation,
    imagelocality.NAME: imagelocality.ImageLocality,
    defaultbinder.NAME: defaultbinder.DefaultBinder,
}


def in_tree_registry() -> Registry:
    registry = Registry()
    for module in _MODULES:
        registry.register(module.NAME, module.new)
    return registry


def implemented_points(classes: dict[str, type] | None = None) -> dict[str, set[str]]:
    """Extension point -> names of the plugins whose class has that point's method."""
    from ..framework.interface import EXTENSION_POINTS
    out: dict[str, set[str]] = {point: set() for point in EXTENSION_POINTS}
    for name, cls in (classes or _CLASSES).items():
        for point, method in EXTENSION_POINTS.items():
            if hasattr(cls, method):
                out[point].add(name)
    return out


def plugin_events(name: str) -> frozenset[str]:
    """Cluster events after which a pod this plugin rejected may fit (EnqueueExtensions);
    an unknown plugin answers every event."""
    cls = _CLASSES.get(name)
    return getattr(cls, "events", None) or frozenset({"*"})
