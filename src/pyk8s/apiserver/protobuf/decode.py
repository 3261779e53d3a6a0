"""Kubernetes protobuf messages -> the JSON dicts the same objects are in JSON.

The server validates and stores objects as JSON dicts, so a protobuf body becomes the
dict Go's encoding/json would print for the object kube-apiserver would decode from it.
Two passes: ``_parse`` reads the wire records into per-message ``{field number: value}``
accumulators (repeated records append, a singular message sent twice merges, as Go's
generated Unmarshal does; unknown field numbers are skipped, as Go does), then
``render`` turns those into JSON values in Go struct order.

Go JSON semantics that the field table (fields.json, see tools/gen_protobuf_fields.py)
carries per field:

* ``z`` - a Go non-pointer scalar.  gogo writes it even when it is ""/0/false, and Go
  reads that back as "unset" (``omitempty`` drops it), so a zero value is dropped here
  too: ``restartPolicy: ""`` must not reach defaulting as a value.  Pointer fields
  (``replicas``, ``gracePeriodSeconds``, ``automountServiceAccountToken``...) keep an
  explicit 0/false/"" because their presence on the wire is the information.
* ``i`` - a Go embedded struct with ``json:",inline"`` (Probe's handler, Volume's
  volumeSource...): its keys go into the parent object.

Types whose JSON form is not an object (custom MarshalJSON in apimachinery) are in
``_SPECIAL``: Time, MicroTime, Duration, Quantity, IntOrString, RawExtension, FieldsV1
and the ``[]string`` wrappers (ExtraValue, Verbs).  Messages always present on the wire
(non-pointer structs) render as objects even when empty, like Go (``"status": {}``);
an empty Time is Go's zero time and renders ``null``, like ``creationTimestamp: null``
in kubectl's JSON bodies.
"""

from __future__ import annotations

import base64
import datetime
import functools
from pathlib import Path
from typing import NamedTuple

import orjson

from .wire import LEN, ProtobufError, iter_fields, packed, scalar

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
OBJECT_META, LIST_META = f"{META}.ObjectMeta", f"{META}.ListMeta"
UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown"

MAX_DEPTH = 64
# metav1.AddToGroupVersion registers these kinds in every group version, so a typed
# client's delete body may say {"apiVersion": "apps/v1", "kind": "DeleteOptions"}.
OPTION_KINDS = frozenset({"DeleteOptions", "CreateOptions", "UpdateOptions", "PatchOptions",
                          "GetOptions", "ListOptions"})
_LEGACY_GROUPS = frozenset({"apps", "batch", "policy", "autoscaling", "extensions"})
_ZERO = {"string": "", "bytes": b"", "bool": False, "double": 0.0, "float": 0.0}
_GO_ZERO_UNIX = -62135596800  # time.Time{}.Unix(): 0001-01-01T00:00:00Z


class Field(NamedTuple):
    json: str
    type: str           # protobuf scalar type, "message" or "map"
    label: str          # optional | repeated | map
    ref: object         # message full name, (key type, value type) for maps, or None
    zero_unset: bool    # "z": Go non-pointer scalar, zero value means unset
    inline: bool        # "i": json:",inline" embedded struct


@functools.cache
def schema() -> dict[str, dict[int, Field]]:
    raw = orjson.loads(Path(__file__).with_name("fields.json").read_bytes())
    table: dict[str, dict[int, Field]] = {}
    for name, fields in raw.items():
        entries: dict[int, Field] = {}
        for number, entry in fields.items():
            flags = entry[4] if len(entry) > 4 else ""
            ref = tuple(entry[3]) if isinstance(entry[3], list) else entry[3]
            entries[int(number)] = Field(entry[0], entry[1], entry[2], ref,
                                         "z" in flags, "i" in flags)
        table[name] = entries
    return table


class _Msg(dict):
    """Wire values of one message, keyed by field number; ``name`` is its full name."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        super().__init__()
        self.name = name


def _wrong_wire_type(wire_type: int, where: str) -> ProtobufError:
    return ProtobufError(f"wrong wireType = {wire_type} for field {where}")


def _parse(data: memoryview, name: str, path: str, depth: int = 0,
           into: _Msg | None = None) -> _Msg:
    if depth > MAX_DEPTH:
        raise ProtobufError(f"{path}: messages nested more than {MAX_DEPTH} deep")
    fields = schema()[name]
    msg = _Msg(name) if into is None else into
    for number, wire_type, value in iter_fields(data):
        f = fields.get(number)
        if f is None:
            continue
        where = f"{path}.{f.json}"
        if f.label == "map":
            if wire_type != LEN:
                raise _wrong_wire_type(wire_type, where)
            key, item = _map_entry(f.ref, value, where, depth)  # type: ignore[arg-type]
            msg.setdefault(number, {})[key] = item
        elif f.type == "message":
            if wire_type != LEN:
                raise _wrong_wire_type(wire_type, where)
            if f.label == "repeated":
                items = msg.setdefault(number, [])
                items.append(_parse(value, f.ref, f"{where}[{len(items)}]", depth + 1))
            else:
                msg[number] = _parse(value, f.ref, where, depth + 1, msg.get(number))
        elif f.label == "repeated":
            items = msg.setdefault(number, [])
            if wire_type == LEN and f.type not in ("string", "bytes"):
                items.extend(packed(f.type, value, where))  # type: ignore[arg-type]
            else:
                items.append(scalar(f.type, wire_type, value, where))
        else:
            msg[number] = scalar(f.type, wire_type, value, where)
    return msg


def _map_entry(types: tuple[str, str], data: memoryview, where: str, depth: int):
    """A map<K, V> record is a nested message {key = 1, value = 2}; either may be absent."""
    key_type, value_type = types
    is_message = "." in value_type
    key: object = _ZERO.get(key_type, 0)
    item: object = None
    for number, wire_type, value in iter_fields(data):
        if number == 1:
            key = scalar(key_type, wire_type, value, f"{where} (map key)")
        elif number == 2:
            if is_message:
                if wire_type != LEN:
                    raise _wrong_wire_type(wire_type, f"{where} (map value)")
                item = _parse(value, value_type, f"{where}[{key!r}]", depth + 1, item)
            else:
                item = scalar(value_type, wire_type, value, f"{where}[{key!r}]")
    if item is None:
        item = _Msg(value_type) if is_message else _ZERO.get(value_type, 0)
    if isinstance(key, bytes):
        key = key.decode("utf-8", "replace")
    return (key if isinstance(key, str) else str(key)), item


# ---------------------------------------------------------------------------------------
# rendering

def render(msg: _Msg) -> object:
    special = _SPECIAL.get(msg.name)
    if special is not None:
        return special(msg)
    out: dict[str, object] = {}
    for number, f in schema()[msg.name].items():
        if number not in msg:
            continue
        value = msg[number]
        if f.label == "map":
            rendered: object = {k: _value(v) for k, v in value.items()}
        elif f.label == "repeated":
            rendered = [_value(v) for v in value]
        elif f.zero_unset and value in (0, "", b""):
            continue
        else:
            rendered = _value(value)
        if f.inline and isinstance(rendered, dict):
            out.update(rendered)
        else:
            out[f.json] = rendered
    return out


def _value(value: object) -> object:
    if isinstance(value, _Msg):
        return render(value)
    if isinstance(value, bytes):  # Go encodes []byte as standard base64
        return base64.b64encode(value).decode("ascii")
    return value


def _utc(seconds: int) -> datetime.datetime:
    try:
        return datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) \
            + datetime.timedelta(seconds=seconds)
    except OverflowError:
        raise ProtobufError(f"time {seconds}s from the Unix epoch is out of range") from None


def _stamp(dt: datetime.datetime) -> str:
    return (f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"
            f"T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}")


def _time(msg: _Msg) -> str | None:
    """metav1.Time: an empty message is the zero time (null); nanos are dropped, as
    Time.Unmarshal does, and JSON is RFC 3339 in UTC with whole seconds."""
    if not msg:
        return None
    seconds = msg.get(1, 0)
    if seconds == _GO_ZERO_UNIX:
        return None
    return _stamp(_utc(seconds)) + "Z"


def _micro_time(msg: _Msg) -> str | None:
    """metav1.MicroTime: RFC 3339 with exactly 6 fractional digits (truncated)."""
    if not msg:
        return None
    extra, nanos = divmod(msg.get(2, 0), 1_000_000_000)
    seconds = msg.get(1, 0) + extra
    if seconds == _GO_ZERO_UNIX and nanos == 0:
        return None
    return f"{_stamp(_utc(seconds))}.{nanos // 1000:06d}Z"


def go_duration(ns: int) -> str:
    """time.Duration.String(): "1h2m3.5s", "1.5ms", "0s"."""
    if ns == 0:
        return "0s"
    u = -ns if ns < 0 else ns
    if u < 1_000_000_000:
        if u < 1_000:
            text = f"{u}ns"
        elif u < 1_000_000:
            text = _with_fraction(u, 3) + "µs"
        else:
            text = _with_fraction(u, 6) + "ms"
    else:
        seconds, frac = divmod(u, 1_000_000_000)
        text = f"{seconds % 60}{_fraction(frac, 9)}s"
        minutes = seconds // 60
        if minutes:
            text = f"{minutes % 60}m{text}"
            if minutes // 60:
                text = f"{minutes // 60}h{text}"
    return "-" + text if ns < 0 else text


def _with_fraction(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10 ** digits)
    return f"{whole}{_fraction(frac, digits)}"


def _fraction(frac: int, digits: int) -> str:
    return "." + f"{frac:0{digits}d}".rstrip("0") if frac else ""


def _int_or_string(msg: _Msg) -> int | str:
    kind = msg.get(1, 0)
    if kind == 0:
        return msg.get(2, 0)
    if kind == 1:
        return msg.get(3, "")
    raise ProtobufError(f"impossible IntOrString.Type {kind}")


def _embedded_json(what: str):
    """RawExtension / FieldsV1 carry JSON bytes, printed verbatim by Go (nil -> null)."""
    def render_raw(msg: _Msg) -> object:
        raw = msg.get(1)
        if not raw:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ProtobufError(f"{what} does not hold JSON: {exc}") from None
    return render_raw


_SPECIAL = {
    f"{META}.Time": _time,
    f"{META}.MicroTime": _micro_time,
    f"{META}.Duration": lambda msg: go_duration(msg.get(1, 0)),
    f"{META}.FieldsV1": _embedded_json("FieldsV1"),
    f"{META}.Verbs": lambda msg: list(msg.get(1, [])),
    "k8s.io.apimachinery.pkg.api.resource.Quantity": lambda msg: msg.get(1, "0"),
    "k8s.io.apimachinery.pkg.api.resource.QuantityValue": lambda msg: msg.get(1, "0"),
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": _int_or_string,
    "k8s.io.apimachinery.pkg.runtime.RawExtension": _embedded_json("RawExtension"),
    **{f"k8s.io.api.{group}.v1.ExtraValue": (lambda msg: list(msg.get(1, [])))
       for group in ("authentication", "authorization", "certificates")},
}


# ---------------------------------------------------------------------------------------
# kinds

def message_for(api_version: str, kind: str) -> str | None:
    """The protobuf message of a top-level kind, or None when it is not known."""
    group, _, version = api_version.rpartition("/")
    if not group:
        package: str | None = f"k8s.io.api.core.{version}"
    elif group == "meta.k8s.io":
        package = f"k8s.io.apimachinery.pkg.apis.meta.{version}"
    elif group.endswith(".k8s.io") or group in _LEGACY_GROUPS:
        package = f"k8s.io.api.{group.split('.')[0]}.{version}"
    else:
        package = None
    if package and _is_kind(f"{package}.{kind}"):
        return f"{package}.{kind}"
    if kind in OPTION_KINDS:
        return f"{META}.{kind}"
    return None


@functools.cache
def _is_kind(name: str) -> bool:
    """Top-level kinds are the messages with object or list metadata, plus the options."""
    fields = schema().get(name)
    if fields is None:
        return False
    if name.startswith(META + ".") and name.rsplit(".", 1)[1] in OPTION_KINDS:
        return True
    return any(f.json == "metadata" and f.ref in (OBJECT_META, LIST_META)
               for f in fields.values())


def decode_unknown(data: memoryview) -> dict:
    """Decode a runtime.Unknown envelope (the bytes after the magic) into a JSON dict."""
    envelope = _parse(data, UNKNOWN, "Unknown")
    type_meta = envelope.get(1) or {}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    if not kind:
        raise ProtobufError("Object 'Kind' is missing in the protobuf body's typeMeta")
    if not api_version:
        raise ProtobufError(f"Object 'apiVersion' is missing in the protobuf body "
                            f"(kind {kind!r})")
    name = message_for(api_version, kind)
    if name is None:
        raise ProtobufError(f'no kind "{kind}" is registered for version "{api_version}" '
                            f"(protobuf body)")
    # contentEncoding/contentType are ignored, as Go's protobuf serializer ignores them
    obj = _parse(memoryview(envelope.get(2, b"")), name, kind)
    out: dict[str, object] = {"kind": kind, "apiVersion": api_version}  # TypeMeta order
    out.update(render(obj))  # type: ignore[arg-type]
    return out
