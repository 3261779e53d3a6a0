"""Sets of field paths, the unit of ownership in ``metadata.managedFields``.

A path is a tuple of elements, each written as upstream's FieldsV1 keys:
``f:<field>`` (a map key or struct field), ``k:<json>`` (an item of an associative
list, named by its key fields sorted by name), ``v:<json>`` (an item of a set) and
``i:<n>`` (an item of an atomic-free list addressed by index). A :class:`Set` is a
tree of such elements; a node is a *member* when the path ending there is in the
set (``".": {}`` in FieldsV1 when the node also has children).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from json.encoder import encode_basestring

Path = tuple[str, ...]
_ORDER = {"f": 0, "k": 1, "v": 2, "i": 3}


def field(name: str) -> str:
    return "f:" + name


def key_element(fields: dict) -> str:
    return "k:{" + ",".join(encode_basestring(k) + ":" + _json(fields[k])
                            for k in sorted(fields)) + "}"


def value_element(value: object) -> str:
    return "v:" + _json(value)


def index_element(index: int) -> str:
    return f"i:{index}"


def _json(value: object) -> str:
    """Compact JSON as upstream writes path elements (strings and integers directly)."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is int:
        return int.__repr__(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sorted_elements(elements: Iterator[str] | dict) -> list[str]:
    """Elements in upstream's order: fields, keys, values, then indexes by number.
    Elements of one kind other than indexes sort as plain strings."""
    out = sorted(elements)
    if out and (out[0][0] != out[-1][0] or out[0][0] == "i"):
        out.sort(key=_sort_key)
    return out


def _sort_key(element: str) -> tuple:
    kind, text = element[0], element[2:]
    if kind == "i" and text.isdigit():
        return _ORDER[kind], int(text), ""
    return _ORDER.get(kind, 4), 0, text


class Set:
    """A set of paths stored as a tree (one node per path prefix).

    The algebra returns new sets that may share subtrees with their operands, so a
    set is not changed once built (:meth:`insert` is for building only)."""

    __slots__ = ("children", "member")

    def __init__(self) -> None:
        self.member = False
        self.children: dict[str, Set] = {}

    # ---- building and reading -------------------------------------------------

    @classmethod
    def of(cls, *paths: Path) -> Set:
        out = cls()
        for path in paths:
            out.insert(path)
        return out

    def insert(self, path: Path) -> None:
        node = self
        for element in path:
            node = node.children.setdefault(element, Set())
        node.member = True

    def child(self, element: str) -> Set | None:
        return self.children.get(element)

    def has(self, path: Path) -> bool:
        node: Set | None = self
        for element in path:
            node = node.children.get(element)
            if node is None:
                return False
        return node.member

    def empty(self) -> bool:
        return not self.member and not self.children

    def paths(self, prefix: Path = ()) -> Iterator[Path]:
        """Member paths, in upstream's sorted order."""
        if self.member:
            yield prefix
        for element in sorted_elements(self.children):
            yield from self.children[element].paths(prefix + (element,))

    def copy(self) -> Set:
        """A copy of this node whose children may be replaced (subtrees are shared)."""
        out = Set()
        out.member = self.member
        out.children = dict(self.children)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Set) and self.member == other.member and \
            self.children == other.children

    def __repr__(self) -> str:
        return f"Set({[path_string(p) for p in self.paths()]})"

    # ---- set algebra (all return new sets) -------------------------------------

    # An operand that the result would equal is returned itself (sets are not changed
    # once built), so a write that touches few fields copies little.

    def union(self, other: Set) -> Set:
        if other.empty() or other is self:
            return self
        if self.empty():
            return other
        out = Set()
        out.member = self.member or other.member
        children = out.children = dict(self.children)
        for element, theirs in other.children.items():
            mine = children.get(element)
            children[element] = theirs if mine is None else mine.union(theirs)
        return out

    def intersection(self, other: Set) -> Set:
        out = Set()
        out.member = self.member and other.member
        mine_all, theirs_all = self.children, other.children
        swapped = len(theirs_all) < len(mine_all)
        if swapped:
            mine_all, theirs_all = theirs_all, mine_all
        for element, mine in mine_all.items():
            theirs = theirs_all.get(element)
            if theirs is not None:
                both = theirs.intersection(mine) if swapped else mine.intersection(theirs)
                if not both.empty():
                    out.children[element] = both
        return out

    def difference(self, other: Set) -> Set:
        member = self.member and not other.member
        children = self.children
        kept: dict[str, Set] | None = None
        for element, theirs in other.children.items():
            mine = children.get(element)
            if mine is None:
                continue
            rest = mine.difference(theirs)
            if rest is mine:
                continue
            if kept is None:
                kept = dict(children)
            if rest.empty():
                del kept[element]
            else:
                kept[element] = rest
        if kept is None and member == self.member:
            return self
        out = Set()
        out.member = member
        out.children = dict(children) if kept is None else kept
        return out

    # ---- FieldsV1 --------------------------------------------------------------

    def to_fields_v1(self) -> dict:
        """The FieldsV1 JSON object of this set (``"."`` marks members with children)."""
        out: dict = {}
        children = self.children
        for element in sorted_elements(children):
            node = children[element]
            if node.children:
                inner = node.to_fields_v1()
                out[element] = {".": {}, **inner} if node.member and inner else inner
            else:
                out[element] = {}
        return out

    @classmethod
    def from_fields_v1(cls, data: object) -> Set:
        """Parse FieldsV1; raises ValueError for anything upstream would not decode."""
        if not isinstance(data, dict):
            raise ValueError("FieldsV1 must be a JSON object")
        return _decode(data)


def _decode(data: dict) -> Set:
    out = Set()
    children = out.children
    for element, inner in data.items():
        if element == ".":
            if inner != {}:
                raise ValueError('"." must map to an empty object')
            out.member = True
            continue
        _check_element(element)
        if not isinstance(inner, dict):
            raise ValueError("FieldsV1 must be a JSON object")
        if inner:
            node = _decode(inner)
            if not node.children:
                node.member = True
        else:
            node = Set()
            node.member = True
        children[element] = node
    return out


def _check_element(element: str) -> None:
    if element.startswith("f:") or element in _CHECKED:
        return
    kind, sep, text = element.partition(":")
    if not sep or kind not in _ORDER:
        raise ValueError(f"unknown path element {element!r}")
    if kind == "i" and not text.isdigit():
        raise ValueError(f"bad index {element!r}")
    if kind in ("k", "v"):
        decoded = json.loads(text)
        if kind == "k" and not isinstance(decoded, dict):
            raise ValueError(f"bad key {element!r}")
    if len(_CHECKED) < _CHECKED_LIMIT:
        _CHECKED.add(element)


# Key and value elements already found valid: every write decodes the managedFields
# again, and their list items are mostly the same few names.
_CHECKED: set[str] = set()
_CHECKED_LIMIT = 10_000


def element_string(element: str) -> str:
    """One element as upstream's Path.String writes it: ``.f``, ``[k=v]``, ``[=v]``, ``[i]``."""
    kind, text = element[0], element[2:]
    if kind == "f":
        return "." + text
    if kind == "k":
        fields = json.loads(text)
        return "[" + ",".join(f"{k}={_json(v)}" for k, v in fields.items()) + "]"
    if kind == "v":
        return f"[={text}]"
    return f"[{text}]"


def path_string(path: Path) -> str:
    return "".join(element_string(e) for e in path)
