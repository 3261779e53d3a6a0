"""ImageLocality: prefer nodes that already have the pod's container images, weighing
each image by its size and by how many nodes have it (so one node holding a common image
does not attract every pod)."""

from __future__ import annotations

from ..framework.interface import MAX_NODE_SCORE, SKIP, CycleState, Status
from ..framework.types import NodeInfo, normalized_image

NAME = "ImageLocality"
MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB


def scale(sum_scores: int, containers: int) -> int:
    high = MAX_CONTAINER_THRESHOLD * containers
    clamped = min(max(sum_scores, MIN_THRESHOLD), high)
    return MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) // (high - MIN_THRESHOLD)


def _containers(pod: dict) -> list[dict]:
    spec = pod.get("spec") or {}
    return [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]


class ImageLocality:
    name = NAME

    def __init__(self, handle) -> None:
        self.handle = handle

    def pre_score(self, state: CycleState, pod: dict, nodes: list) -> Status | None:
        """Skip (every node would score 0) when no node has any of the pod's images."""
        snapshot = self.handle.snapshot
        if not any(snapshot.image_nodes(normalized_image(c.get("image") or ""))
                   for c in _containers(pod)):
            return SKIP
        return None

    def score(self, state: CycleState, pod: dict, node: NodeInfo) -> tuple[int, Status | None]:
        containers = _containers(pod)
        snapshot = self.handle.snapshot
        total_nodes = max(len(snapshot.node_infos), 1)
        total = 0
        for container in containers:
            image = normalized_image(container.get("image") or "")
            size = node.images.get(image)
            if size:
                total += int(size * snapshot.image_nodes(image) / total_nodes)
        return scale(total, max(len(containers), 1)), None


def new(args: dict, handle) -> ImageLocality:
    return ImageLocality(handle)
