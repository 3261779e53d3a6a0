"""ReplicationController controller: the ReplicaSet controller for the v1 kind.

Upstream runs the ReplicaSet logic for RCs through a conversion adapter; ours is smaller:
an RC differs only in its API (``v1``/``ReplicationController``) and its selector, a plain
label map, which :meth:`selector_of` turns into a LabelSelector.
"""

from __future__ import annotations

from typing import ClassVar

from . import register
from .replicaset import ReplicaSetController
from .util import selectors


@register("replicationcontroller")
class ReplicationControllerController(ReplicaSetController):
    api_version: ClassVar[str] = "v1"
    kind: ClassVar[str] = "ReplicationController"

    def selector_of(self, owner: dict) -> dict | None:
        selector = (owner.get("spec") or {}).get("selector")
        return selectors.from_map(selector) if selector else None
