"""``metadata.managedFields``: decoding, encoding and the Update bookkeeping.

Why it exists: every write records who owns which fields. Entries are keyed like
upstream's manager identifier (manager, operation, subresource, and apiVersion for
Update entries), hold a :class:`~.fieldpath.Set` and a second-precision time, and
are written back sorted as kube-apiserver sorts them (operation, time, manager,
apiVersion, subresource). Fields no one may own (apiVersion, kind, the server-set
metadata) are stripped, and the fields a request cannot change (``status`` through
the main resource, everything but ``status`` through ``/status``) are filtered out.
Past ten Update entries the oldest are merged into ``ancient-changes``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .fieldpath import Set
from .typed import Comparison, Node, compare

APPLY, UPDATE = "Apply", "Update"
FIELDS_V1 = "FieldsV1"
MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"
STATUS_SUBRESOURCES = ("status", "approval")
_STRIPPED = Set.of(("f:apiVersion",), ("f:kind",), *(
    ("f:metadata", "f:" + name) for name in (
        "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
        "generation", "managedFields", "resourceVersion")))


_STRIPPED_ROOT = tuple(e for e, node in _STRIPPED.children.items() if node.member)
_STRIPPED_METADATA = tuple(_STRIPPED.children["f:metadata"].children)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Entry:
    manager: str
    operation: str
    api_version: str
    fields: Set
    time: str | None = None
    subresource: str = ""

    @property
    def identity(self) -> tuple[str, str, str, str]:
        version = self.api_version if self.operation == UPDATE else ""
        return self.manager, self.operation, version, self.subresource

    def encode(self) -> dict:
        out = {"manager": self.manager, "operation": self.operation,
               "apiVersion": self.api_version}
        if self.time:
            out["time"] = self.time
        out["fieldsType"] = FIELDS_V1
        out["fieldsV1"] = self.fields.to_fields_v1()
        if self.subresource:
            out["subresource"] = self.subresource
        return out


Managers = dict[tuple[str, str, str, str], Entry]


def decode(entries: object) -> Managers:
    """Parse managedFields; ValueError when upstream's decoder would refuse them."""
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ValueError("managedFields must be a list")
    out: Managers = {}
    for raw in entries:
        entry = _decode_entry(raw)
        out[entry.identity] = entry
    return out


def _decode_entry(raw: object) -> Entry:
    if not isinstance(raw, dict):
        raise ValueError("managed fields entry must be an object")
    if raw.get("operation") not in (APPLY, UPDATE):
        raise ValueError("operation must be `Apply` or `Update`")
    if not raw.get("apiVersion"):
        raise ValueError("apiVersion must not be empty")
    if raw.get("fieldsType") != FIELDS_V1:
        raise ValueError(f"invalid fieldsType {raw.get('fieldsType')!r}")
    fields = Set.from_fields_v1(raw.get("fieldsV1") or {})
    return Entry(str(raw.get("manager") or ""), raw["operation"], raw["apiVersion"], fields,
                 raw.get("time"), str(raw.get("subresource") or ""))


def encode(managers: Managers) -> list[dict]:
    entries = [e for e in managers.values() if not e.fields.empty()]
    entries.sort(key=lambda e: (e.operation, e.time or "", e.manager, e.api_version,
                                e.subresource))
    return [e.encode() for e in entries]


def is_reset(entries: object) -> bool:
    """``[]`` or ``[{}]``: the client asks for the managed fields to be cleared."""
    return entries == [] or entries == [{}]


def live_or_new(old: dict | None, new: dict, subresource: str) -> Managers:
    """The managers a write starts from: the client's own managedFields when it sent
    valid ones (not through a subresource), else the live object's."""
    live = ((old or {}).get("metadata") or {}).get("managedFields")
    sent = (new.get("metadata") or {}).get("managedFields")
    if not subresource:
        if is_reset(sent):
            return {}
        try:
            managers = decode(sent)
        except ValueError:
            managers = {}
        if managers:
            return managers
    try:
        return decode(live)
    except ValueError:
        return {}


def filter_fields(fields: Set, has_status: bool, subresource: str) -> Set:
    """Drop what nobody owns and what this request cannot change."""
    fields = fields.difference(_STRIPPED)
    if subresource in STATUS_SUBRESOURCES:
        kept = Set()
        status = fields.child("f:status")
        if status is not None:
            kept.children["f:status"] = status
        return kept
    if has_status and "f:status" in fields.children:
        fields = fields.copy()
        del fields.children["f:status"]
    return fields


def filter_fields_v1(fields: dict, has_status: bool, subresource: str) -> dict:
    """:func:`filter_fields` for a FieldsV1 object whose root is not a member (a create's
    fields, built directly); ``fields`` is changed in place and returned."""
    if subresource in STATUS_SUBRESOURCES:
        status = fields.get("f:status")
        return {} if status is None else {"f:status": status}
    for element in _STRIPPED_ROOT:
        _strip_v1(fields, element)
    metadata = fields.get("f:metadata")
    if metadata:
        for element in _STRIPPED_METADATA:
            _strip_v1(metadata, element)
        if not metadata:
            del fields["f:metadata"]
        elif len(metadata) == 1 and "." in metadata:
            fields["f:metadata"] = {}
    if has_status:
        fields.pop("f:status", None)
    return fields


def _strip_v1(fields: dict, element: str) -> None:
    """Take ``element`` out of ``fields`` as a member (its children stay)."""
    inner = fields.get(element)
    if inner is None:
        return
    if "." in inner:
        fields[element] = {k: v for k, v in inner.items() if k != "."}
    elif not inner:
        del fields[element]


def filter_comparison(cmp: Comparison, has_status: bool, subresource: str) -> Comparison:
    return Comparison(*(filter_fields(s, has_status, subresource)
                        for s in (cmp.added, cmp.modified, cmp.removed)))


def record_update(managers: Managers, cmp: Comparison, entry: Entry) -> Managers:
    """Upstream's Update: the writer takes the fields it changed from everyone, removed
    fields leave every set, and the writer's entry (merged with its previous one of
    the same identity) gets the time of the write when it took anything."""
    changed = cmp.changed()
    out: Managers = {}
    for identity, other in managers.items():
        rest = other.fields.difference(changed).difference(cmp.removed)
        if not rest.empty():
            out[identity] = Entry(other.manager, other.operation, other.api_version, rest,
                                  other.time, other.subresource)
    if not changed.empty():
        previous = out.get(entry.identity)
        fields = changed.union(previous.fields) if previous else changed
        out[entry.identity] = Entry(entry.manager, entry.operation, entry.api_version,
                                    fields, now(), entry.subresource)
    return out


def compare_update(managers: Managers, old: dict | None, new: dict, node: Node, entry: Entry,
                   has_status: bool) -> Managers:
    """The managers after ``entry`` (an Update) turned ``old`` into ``new``."""
    cmp = filter_comparison(compare(old, new, node), has_status, entry.subresource)
    return cap_updaters(record_update(managers, cmp, entry))


def created_entries(manager: str, api_version: str, subresource: str, fields: dict) -> list[dict]:
    """The managedFields of a create by an Update manager nobody else shares the object
    with: its one entry, owning ``fields`` (FieldsV1, not empty), as :func:`encode`
    writes it."""
    entry = {"manager": manager, "operation": UPDATE, "apiVersion": api_version,
             "time": now(), "fieldsType": FIELDS_V1, "fieldsV1": fields}
    if subresource:
        entry["subresource"] = subresource
    return [entry]


def cap_updaters(managers: Managers, limit: int = MAX_UPDATE_MANAGERS) -> Managers:
    """At most ``limit`` Update entries: the oldest are merged, per API version, into
    an ``ancient-changes`` entry (upstream's capManagersManager)."""
    updaters = sorted((e for e in managers.values() if e.operation == UPDATE),
                      key=lambda e: (e.time or "", e.manager, e.api_version, e.subresource))
    if len(updaters) <= limit:
        return managers
    out = dict(managers)
    first_of_version: dict[str, Entry] = {}
    length = len(updaters)
    for entry in updaters:
        if length <= limit:
            break
        first = first_of_version.setdefault(entry.api_version, entry)
        if first is entry:
            continue
        bucket_id = (ANCIENT_CHANGES, UPDATE, entry.api_version, "")
        bucket = out.get(bucket_id)
        if bucket is None:
            bucket = out.pop(first.identity)
        out.pop(entry.identity)
        out[bucket_id] = Entry(ANCIENT_CHANGES, UPDATE, entry.api_version,
                               entry.fields.union(bucket.fields), entry.time)
        length -= 1
    return out


def same_ownership(old: dict | None, new: dict) -> bool:
    """Whether two objects' managedFields agree apart from timestamps."""
    def strip(obj: dict | None) -> list:
        entries = ((obj or {}).get("metadata") or {}).get("managedFields") or []
        return [{k: v for k, v in e.items() if k != "time"} if isinstance(e, dict) else e
                for e in entries]

    return strip(old) == strip(new)
