"""Field management: who owns which fields (metadata.managedFields) and server-side apply.

:func:`track` is called by the generic object code for every create and update,
after validation and before the store write, with the manager the client named
(``?fieldManager=``, or one derived from its user agent) and the operation.
"""

from __future__ import annotations

from ..registry import ResourceType


def track(rt: ResourceType, old: dict | None, new: dict, manager: str | None,
          operation: str, subresource: str = "") -> None:
    """Update ``new["metadata"]["managedFields"]`` in place for this write."""
