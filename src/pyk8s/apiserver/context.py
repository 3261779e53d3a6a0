"""What a request handler or strategy hook may reach: the server's shared state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import Store
    from .allocators import IPAllocator, PortAllocator
    from .registry import Registry
    from .watchcache import WatchCache


@dataclass
class ServerContext:
    """Shared by every request of one API server process."""

    store: "Store"
    registry: "Registry"
    cluster_ips: "IPAllocator"
    node_ports: "PortAllocator"
    watch_cache: "WatchCache | None" = None
    config: dict[str, Any] = field(default_factory=dict)
