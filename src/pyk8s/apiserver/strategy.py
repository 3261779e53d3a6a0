"""Per-kind behaviour behind the generic REST handlers (RESTCreateStrategy upstream).

The handlers do what every kind shares (metadata, resourceVersion, finalizers,
status-subresource split, generation). A Strategy adds what one kind needs:
defaults, validation, the fields a fieldSelector may name, and hooks that reserve
and release resources (Service cluster IPs and node ports). Strategies for the
kinds the cluster acts on live in :mod:`pyk8s.apiserver.kinds`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import FieldError

if TYPE_CHECKING:
    from .context import ServerContext


class Strategy:
    """Defaults for a kind with no special behaviour; subclasses override hooks."""

    #: metadata.generation starts at 1 and is bumped when anything but metadata and
    #: status changes (upstream does this for kinds with a spec the controllers act on).
    tracks_generation: bool = False

    #: DELETE answers with the deleted object instead of a Status (pods do upstream).
    return_deleted_object: bool = False

    #: PUT of a missing object creates it (endpoints, leases... upstream's AllowCreateOnUpdate).
    allow_create_on_update: bool = False

    def prepare_for_create(self, obj: dict) -> None:
        """Reset what a client may not set on create (e.g. status of most kinds)."""

    def set_requester(self, obj: dict, user) -> None:
        """Record who creates the object where the kind says (a CSR's spec.username...)."""

    def prepare_for_update(self, obj: dict, old: dict) -> None:
        """Carry over what a client may not change through the main endpoint."""

    def default(self, obj: dict) -> None:
        """Fill defaulted fields in place (applied on create, update and patch)."""

    def on_read(self, obj: dict) -> dict:
        """The object as served from storage (custom resources re-apply schema defaults);
        returns a new dict when it changes anything, as ``obj`` may be shared."""
        return obj

    def validate(self, obj: dict) -> list[FieldError]:
        """Errors in a new object (metadata is validated generically)."""
        return []

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        """Errors in an update, e.g. immutable fields; defaults to :meth:`validate`."""
        return self.validate(obj)

    def validate_subresource_update(self, subresource: str, obj: dict,
                                    old: dict) -> list[FieldError]:
        """Validation of a write through a subresource (the object is already narrowed to
        what the subresource may change)."""
        return self.validate_update(obj, old)

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        """Extra fields a fieldSelector may use, beyond metadata.name/namespace."""
        return {}

    def warnings(self, obj: dict) -> list[str]:
        """Deprecation or hygiene warnings returned as ``Warning: 299`` headers."""
        return []

    async def before_create(self, ctx: "ServerContext", obj: dict) -> None:
        """Reserve resources the object needs (raise APIError to refuse)."""

    async def before_update(self, ctx: "ServerContext", obj: dict, old: dict) -> None:
        """Reserve or release resources an update changes."""

    async def after_delete(self, ctx: "ServerContext", obj: dict) -> None:
        """Release what the object held once it is gone from the store."""

    async def undo_create(self, ctx: "ServerContext", obj: dict) -> None:
        """Release what :meth:`before_create` reserved when the create then failed."""


def get_path(obj: Any, *path: str, default: Any = None) -> Any:
    """``obj[p0][p1]...`` or ``default`` when any step is missing or not a mapping."""
    for step in path:
        if not isinstance(obj, dict):
            return default
        obj = obj.get(step)
        if obj is None:
            return default
    return obj
