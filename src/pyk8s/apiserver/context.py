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
    authenticator: Any = None  # authn.UnionAuthenticator
    authorizer: Any = None  # authz.Chain
    admission: Any = None  # admission.AdmissionChain

    def __post_init__(self) -> None:
        from .admission import default_chain
        from .authn import default_authenticator
        from .authz import default_authorizer

        if self.authenticator is None:
            self.authenticator = default_authenticator()
        if self.authorizer is None:
            self.authorizer = default_authorizer()
        if self.admission is None:
            self.admission = default_chain()
