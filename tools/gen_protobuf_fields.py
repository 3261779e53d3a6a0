#!/usr/bin/env python3
"""Build ``src/pyk8s/apiserver/protobuf/fields.json`` from Kubernetes ``generated.proto`` files.

kubectl's typed clients send request bodies as ``application/vnd.kubernetes.protobuf``;
the server decodes them with a table of every message's fields (number -> JSON name,
type, label, message type).  This script produces that table.  It never runs at server
start: the JSON data file is committed, this script is how it is (re)made.

Two sub-commands:

``build`` (the default)
    Parses every ``tools/proto/**/generated.proto`` and writes ``fields.json``.

``extract KUBECTL``
    (Re)writes ``tools/proto/**/generated.proto`` from a kubectl binary.  Why from a
    binary: go-to-protobuf's ``generated.pb.go`` embeds each file's FileDescriptorProto
    (gzipped, ``proto.RegisterFile``), so a kubectl v1.32 binary carries exactly the
    v1.32 k8s.io/api + k8s.io/apimachinery definitions, *including* the gogoproto field
    options that the published ``.proto`` copies strip.  One of them matters for JSON:
    ``(gogoproto.nullable) = false`` marks a Go non-pointer field.  gogo always writes
    such a scalar on the wire, even when it is ""/0/false, and Go reads it back into a
    plain value where zero means "unset" (``omitempty`` drops it from JSON).  Without
    that flag a decoder cannot tell ``restartPolicy: ""`` (unset) from a real value.
    The rendered files are declaration-for-declaration the upstream ``generated.proto``
    (Apache-2.0, The Kubernetes Authors) with those options kept; doc comments are not
    in the descriptors.

fields.json layout::

    {"<message full name>": {"<field number>": [jsonName, type, label, ref, flags?]}}

``type`` is a protobuf scalar type name, ``"message"`` or ``"map"``; ``label`` is
``optional``, ``repeated`` or ``map``; ``ref`` is the message full name (no leading dot)
for messages, ``[keyType, valueType]`` for maps (a value type with a dot is a message),
else null.  ``flags`` (omitted when empty): ``z`` = Go non-pointer scalar whose zero
value means unset: gogo-marshalled (``nullable=false``) and not in the definition's
OpenAPI ``required`` list (openapi-gen's "required" = JSON tag without ``omitempty``),
so Go's JSON omits it when zero; ``i`` = Go embedded struct with ``json:",inline"``,
its fields are merged into the parent object.  Fields keep declaration order (= Go
struct order = Go JSON key order).

The ``required`` lists come from the v1.32 OpenAPI definitions that the project
already reads (``pyk8s.apiserver.schemas``, from the kubernetes-validate package), so
``build`` runs in the project's venv.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "tools" / "proto"
OUT = ROOT / "src" / "pyk8s" / "apiserver" / "protobuf" / "fields.json"

# Which embedded descriptors ``extract`` keeps: the GA API groups kube-apiserver serves
# plus the apimachinery packages they import.
EXTRACT = [
    "k8s.io/apimachinery/pkg/api/resource/generated.proto",
    "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto",
    "k8s.io/apimachinery/pkg/runtime/generated.proto",
    "k8s.io/apimachinery/pkg/runtime/schema/generated.proto",
    "k8s.io/apimachinery/pkg/util/intstr/generated.proto",
    *(f"k8s.io/api/{gv}/generated.proto" for gv in (
        "admissionregistration/v1", "apps/v1", "authentication/v1", "authorization/v1",
        "autoscaling/v1", "autoscaling/v2", "batch/v1", "certificates/v1",
        "coordination/v1", "core/v1", "discovery/v1", "events/v1", "flowcontrol/v1",
        "networking/v1", "node/v1", "policy/v1", "rbac/v1", "scheduling/v1", "storage/v1",
    )),
]

# Go embedded structs tagged ``json:",inline"`` (from the k8s.io/api types.go files).
# Nothing in a descriptor says a field is inlined: go-to-protobuf gives the embedded
# struct an ordinary field.  (``metadata`` is embedded too but has a JSON name.)
INLINE = {
    "k8s.io.api.core.v1.ConfigMapEnvSource": "localObjectReference",
    "k8s.io.api.core.v1.ConfigMapKeySelector": "localObjectReference",
    "k8s.io.api.core.v1.ConfigMapProjection": "localObjectReference",
    "k8s.io.api.core.v1.ConfigMapVolumeSource": "localObjectReference",
    "k8s.io.api.core.v1.SecretEnvSource": "localObjectReference",
    "k8s.io.api.core.v1.SecretKeySelector": "localObjectReference",
    "k8s.io.api.core.v1.SecretProjection": "localObjectReference",
    "k8s.io.api.core.v1.EphemeralContainer": "ephemeralContainerCommon",
    "k8s.io.api.core.v1.PersistentVolumeSpec": "persistentVolumeSource",
    "k8s.io.api.core.v1.Probe": "handler",
    "k8s.io.api.core.v1.Volume": "volumeSource",
    "k8s.io.api.networking.v1.IngressRule": "ingressRuleValue",
    "k8s.io.api.admissionregistration.v1.NamedRuleWithOperations": "ruleWithOperations",
    "k8s.io.api.admissionregistration.v1.RuleWithOperations": "rule",
    "k8s.io.apimachinery.pkg.runtime.Unknown": "typeMeta",
}

# Fields whose Go ``json:`` name is not the protobuf ``name=`` (all other fields use the
# same name for both).  Checked against the kubernetes Python client's attribute maps.
JSON_NAMES = {
    ("k8s.io.api.admissionregistration.v1.MutatingWebhookConfiguration", "Webhooks"): "webhooks",
    ("k8s.io.api.admissionregistration.v1.ValidatingWebhookConfiguration", "Webhooks"): "webhooks",
    ("k8s.io.api.admissionregistration.v1.Validation", "Expression"): "expression",
    ("k8s.io.api.admissionregistration.v1.Variable", "Name"): "name",
    ("k8s.io.api.admissionregistration.v1.Variable", "Expression"): "expression",
    ("k8s.io.api.authentication.v1.BoundObjectReference", "uID"): "uid",
    ("k8s.io.api.networking.v1.IngressClassParametersReference", "aPIGroup"): "apiGroup",
}

SCALARS = {
    "double", "float", "int64", "uint64", "int32", "fixed64", "fixed32", "bool", "string",
    "bytes", "uint32", "sfixed32", "sfixed64", "sint32", "sint64",
}

LICENSE = """\
/*
Copyright The Kubernetes Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/
"""


# ---------------------------------------------------------------------------------------
# extract: kubectl binary -> .proto texts

def _varint(b: bytes, i: int) -> tuple[int, int]:
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def _fields(b: bytes):
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        yield num, v


def _descriptors(binary: bytes):
    """Yield (name, FileDescriptorProto bytes) for every gzipped descriptor in a binary."""
    head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00"
    pos = binary.find(head)
    while pos >= 0:
        try:
            data = zlib.decompressobj(31).decompress(binary[pos:pos + 4_000_000])
            first = next(_fields(data))
            name = first[1].decode() if first[0] == 1 else ""
        except Exception:  # not a descriptor: any other gzip member or a false match
            name = ""
        if name.endswith(".proto"):
            yield name, data
        pos = binary.find(head, pos + 1)


_TYPES = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64",
          7: "fixed32", 8: "bool", 9: "string", 12: "bytes", 13: "uint32", 15: "sfixed32",
          16: "sfixed64", 17: "sint32", 18: "sint64"}
_LABELS = {1: "optional", 2: "required", 3: "repeated"}
# gogoproto field options (github.com/gogo/protobuf/gogoproto/gogo.proto)
_GOGO = {65001: "nullable", 65002: "embed", 65003: "customtype", 65004: "customname",
         65005: "jsontag", 65006: "moretags", 65007: "casttype", 65008: "castkey",
         65009: "castvalue"}


def _render(name: str, data: bytes, source: str) -> str:
    fd: dict[int, list] = {}
    for num, v in _fields(data):
        fd.setdefault(num, []).append(v)
    package = fd[2][0].decode()
    go_package = ""
    for opts in fd.get(8, []):
        for num, v in _fields(opts):
            if num == 11:
                go_package = v.decode()
    out = [LICENSE, "",
           "// This file was autogenerated by go-to-protobuf. Do not edit it manually!",
           f"// Rendered by tools/gen_protobuf_fields.py from the descriptor that {source}",
           "// embeds for it; doc comments are not in descriptors, gogoproto options are.",
           "", 'syntax = "proto2";', "", f"package {package};", ""]
    for dep in sorted(v.decode() for v in fd.get(3, [])):
        out.append(f'import "{dep}";')
    out += ["", "// Package-wide variables from generator \"generated\".",
            f'option go_package = "{go_package}";', ""]

    def tname(t: str) -> str:
        return t[len(package) + 2:] if t.startswith(f".{package}.") else t

    def message(raw: bytes, indent: str, scope: str) -> list[str]:
        parts: dict[int, list] = {}
        for num, v in _fields(raw):
            parts.setdefault(num, []).append(v)
        mname = parts[1][0].decode()
        full = f"{scope}.{mname}"
        maps: dict[str, tuple[str, str]] = {}
        nested: list[bytes] = []
        for sub in parts.get(3, []):
            sp = dict(_fields(sub))
            is_map = any(n == 7 and v for n, v in _fields(sp.get(7, b"")))
            if is_map:
                kv = {}
                for f in (dict(_fields(x)) for n, x in _fields(sub) if n == 2):
                    kv[f[1].decode()] = tname(f[6].decode()) if f[5] == 11 else _TYPES[f[5]]
                maps[f"{full}.{sp[1].decode()}"] = (kv["key"], kv["value"])
            else:
                nested.append(sub)
        lines = [f"{indent}message {mname} {{"]
        for raw_field in parts.get(2, []):
            f = dict(_fields(raw_field))
            opts = []
            for num, v in _fields(f.get(8, b"")):
                if num in _GOGO:
                    val = (("true" if v else "false") if isinstance(v, int)
                           else json.dumps(v.decode()))
                    opts.append(f"(gogoproto.{_GOGO[num]}) = {val}")
            opt = f" [{', '.join(opts)}]" if opts else ""
            fname, number = f[1].decode(), f[3]
            ref = f.get(6, b"").decode()
            if ref in maps:
                k, v = maps[ref]
                lines.append(f"{indent}  map<{k}, {v}> {fname} = {number}{opt};")
                continue
            typ = tname(ref) if f[5] in (11, 14) else _TYPES[f[5]]
            lines.append(f"{indent}  {_LABELS[f[4]]} {typ} {fname} = {number}{opt};")
        for sub in nested:
            lines += [""] + message(sub, indent + "  ", full)
        lines.append(f"{indent}}}")
        return lines

    for raw in fd.get(4, []):
        out += message(raw, "", "." + package) + [""]
    if fd.get(5):
        raise SystemExit(f"{name}: enums are not expected in Kubernetes protos")
    return "\n".join(out)


def extract(binary_path: str, source: str | None) -> None:
    binary = Path(binary_path).read_bytes()
    source = source or f"kubectl ({Path(binary_path).name})"
    found = dict(_descriptors(binary))
    missing = [n for n in EXTRACT if n not in found]
    if missing:
        raise SystemExit(f"not embedded in {binary_path}: {missing}")
    for name in EXTRACT:
        dest = PROTO_DIR / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(_render(name, found[name], source))
        print(f"wrote {dest.relative_to(ROOT)}")


# ---------------------------------------------------------------------------------------
# build: .proto texts -> fields.json

_TOKEN = re.compile(r"""
    (?P<ws>\s+) | (?P<line>//[^\n]*) | (?P<block>/\*.*?\*/)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<num>-?\d+) | (?P<id>\.?[A-Za-z_][\w.]*) | (?P<p>[{}\[\]<>=;,()])
""", re.S | re.X)


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise SyntaxError(f"unexpected {text[pos:pos + 20]!r}")
        pos = m.end()
        if m.lastgroup not in ("ws", "line", "block"):
            out.append(m.group())
    return out


class _Parser:
    """Just enough proto2 for go-to-protobuf's output: package, import, option, message
    (nested too), optional/repeated/required fields, map<,> fields, [options], reserved."""

    def __init__(self, text: str, path: str):
        self.t, self.i, self.path = _tokens(text), 0, path
        self.package = ""
        self.messages: dict[str, list[dict]] = {}  # full name -> fields (unresolved types)

    def next(self) -> str:
        tok = self.t[self.i]
        self.i += 1
        return tok

    def expect(self, tok: str) -> None:
        got = self.next()
        if got != tok:
            raise SyntaxError(f"{self.path}: expected {tok!r}, got {got!r}")

    def skip_statement(self) -> None:
        while self.next() != ";":
            pass

    def parse(self) -> "_Parser":
        while self.i < len(self.t):
            tok = self.next()
            if tok == "package":
                self.package = self.next()
                self.expect(";")
            elif tok in ("syntax", "import", "option"):
                self.skip_statement()
            elif tok == "message":
                self.message(self.package)
            else:
                raise SyntaxError(f"{self.path}: unexpected {tok!r} at top level")
        return self

    def options(self) -> dict[str, str]:
        opts: dict[str, str] = {}
        if self.t[self.i] != "[":
            return opts
        self.next()
        while True:
            name = []
            while (tok := self.next()) != "=":
                name.append(tok)
            value = self.next()
            opts["".join(name).strip("()")] = value.strip("\"'")
            if self.next() == "]":
                return opts

    def message(self, scope: str) -> None:
        name = f"{scope}.{self.next()}"
        self.expect("{")
        fields: list[dict] = []
        self.messages[name] = fields
        while (tok := self.next()) != "}":
            if tok == "message":
                self.message(name)
            elif tok in ("reserved", "option", "extensions"):
                self.skip_statement()
            elif tok == "map":
                self.expect("<")
                key = self.next()
                self.expect(",")
                value = self.next()
                self.expect(">")
                fields.append(self.field("map", ("map", key, value), name))
            elif tok in ("optional", "repeated", "required"):
                fields.append(self.field(tok, self.next(), name))
            elif tok in ("oneof", "enum", "group"):
                raise SyntaxError(f"{self.path}: {tok} is not supported ({name})")
            else:
                fields.append(self.field("optional", tok, name))  # proto3-style, no label
        if self.i < len(self.t) and self.t[self.i] == ";":
            self.i += 1

    def field(self, label: str, typ, scope: str) -> dict:
        fname = self.next()
        self.expect("=")
        number = int(self.next())
        opts = self.options()
        self.expect(";")
        return {"name": fname, "number": number, "label": label, "type": typ,
                "scope": scope, "opts": opts}


def _resolve(ref: str, scope: str, known: set[str]) -> str:
    """Protobuf name scoping: a leading dot is absolute, else search scope outward."""
    if ref in SCALARS:
        return ref
    if ref.startswith("."):
        name = ref[1:]
        if name in known:
            return name
        raise KeyError(ref)
    parts = scope.split(".")
    while True:
        candidate = ".".join(parts + [ref]) if parts else ref
        if candidate in known:
            return candidate
        if not parts:
            raise KeyError(f"{ref} (in {scope})")
        parts.pop()


def build() -> dict:
    files = sorted(PROTO_DIR.rglob("*.proto"))
    if not files:
        raise SystemExit(f"no .proto files under {PROTO_DIR}; run `extract` first")
    parsed: dict[str, list[dict]] = {}
    for path in files:
        parsed.update(_Parser(path.read_text(), str(path.relative_to(ROOT))).parse().messages)
    known = set(parsed)
    sys.path.insert(0, str(ROOT / "src"))
    from pyk8s.apiserver import schemas  # the v1.32 OpenAPI definitions

    definitions = schemas.definitions()
    table: dict[str, dict[str, list]] = {}
    for mname in sorted(parsed):
        entries: dict[str, list] = {}
        inline = INLINE.get(mname)
        # io.k8s.api.core.v1.Pod <- k8s.io.api.core.v1.Pod
        definition = definitions.get("io.k8s." + mname.removeprefix("k8s.io."), {})
        required = set(definition.get("required", ()))
        for f in parsed[mname]:
            typ = f["type"]
            if f["label"] == "map":
                _, key, value = typ
                entry = [f["name"], "map", "map",
                         [_resolve(key, f["scope"], known), _resolve(value, f["scope"], known)]]
            else:
                resolved = _resolve(typ, f["scope"], known)
                kind = resolved if resolved in SCALARS else "message"
                entry = [f["name"], kind, f["label"], None if kind != "message" else resolved]
            flags = ""
            if (entry[1] in SCALARS and entry[2] != "repeated"
                    and f["opts"].get("gogoproto.nullable") == "false"
                    and JSON_NAMES.get((mname, f["name"]), f["name"]) not in required):
                flags += "z"
            if f["name"] == inline:
                flags += "i"
            if flags:
                entry.append(flags)
            entry[0] = JSON_NAMES.get((mname, f["name"]), f["name"])
            if str(f["number"]) in entries:
                raise SystemExit(f"{mname}: field number {f['number']} used twice")
            entries[str(f["number"])] = entry
        table[mname] = entries
    for mname, fname in [*INLINE.items(), *JSON_NAMES]:
        if mname in parsed and not any(f["name"] == fname for f in parsed[mname]):
            raise SystemExit(f"INLINE/JSON_NAMES name a missing field {mname}.{fname}")
    return table


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    ex = sub.add_parser("extract", help="render tools/proto/** from a kubectl binary")
    ex.add_argument("kubectl")
    ex.add_argument("--source", help="how the headers name the binary, e.g. 'kubectl v1.32.5'")
    bd = sub.add_parser("build", help="write fields.json from tools/proto/**")
    bd.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    if args.cmd == "extract":
        extract(args.kubectl, args.source)
        return
    table = build()
    out = Path(getattr(args, "out", OUT))
    out.write_text(json.dumps(table, separators=(",", ":"), sort_keys=False) + "\n")
    nfields = sum(len(v) for v in table.values())
    print(f"wrote {out} ({len(table)} messages, {nfields} fields)", file=sys.stderr)


if __name__ == "__main__":
    main()
