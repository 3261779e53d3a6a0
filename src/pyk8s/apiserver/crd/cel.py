"""A small CEL (Common Expression Language) evaluator for ``x-kubernetes-validations``.

Why this exists: CRD authors write validation rules in CEL; kube-apiserver compiles
them when the CRD is written and evaluates them on every write of a custom object.
pyk8s carries no CEL library, so this module parses and evaluates the subset that
real CRDs use. A rule outside the subset is refused when the CRD is written (never
silently ignored), with a message naming what is not supported.

Supported:

* literals: integers, doubles, strings ('..', "..", with \\ escapes), ``true``,
  ``false``, ``null``, lists ``[a, b]`` and maps ``{"k": v}``;
* variables ``self`` and ``oldSelf`` (transition rules), field selection ``a.b``,
  indexing ``a[0]`` / ``a["key"]``;
* operators ``! - * / % + - == != < <= > >= in && || ?:`` with CEL's precedence;
  ``&&`` and ``||`` absorb errors on either side as CEL does;
* macros ``has(a.b)``, ``list.all(x, p)``, ``exists``, ``exists_one``, ``map``,
  ``filter``;
* functions ``size``, ``int``, ``uint``, ``double``, ``string``, ``bool``, ``type``-free
  conversions, and string methods ``startsWith``, ``endsWith``, ``contains``,
  ``matches`` (also as a global), ``lowerAscii``, ``upperAscii``, ``trim``, ``split``,
  ``join``, ``indexOf``; ``size()`` as a method on strings, lists and maps.

Not supported (refused at CRD write): other functions and extension libraries
(quantity, url, ip, cidr, format, optional types ``?.``), timestamps and durations,
byte literals, ``messageExpression`` evaluation (the static ``message`` is used).
"""

from __future__ import annotations

import re
from functools import lru_cache

MACROS = ("all", "exists", "exists_one", "map", "filter")
GLOBALS = ("size", "int", "uint", "double", "string", "bool", "matches", "has")
METHODS = ("size", "startsWith", "endsWith", "contains", "matches", "lowerAscii", "upperAscii",
           "trim", "split", "join", "indexOf")
VARIABLES = ("self", "oldSelf")


class CelError(Exception):
    """A parse, check or evaluation error (the message is what users see)."""


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|0x[0-9a-fA-F]+|\d+)(?P<unsigned>[uU])?
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\|\||&&|==|!=|<=|>=|\?\.|[-+*/%!<>?:.,()\[\]{}])
""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise CelError(f"Syntax error: token recognition error at: '{text[pos]}'")
        pos = m.end()
        if m.lastgroup == "ws":
            continue
        if m.group("num") is not None:
            raw = m.group("num")
            value = int(raw, 16) if raw.startswith("0x") else (
                float(raw) if any(c in raw for c in ".eE") else int(raw))
            out.append(("lit", value))
        elif m.group("str") is not None:
            out.append(("lit", _unquote(m.group("str"))))
        elif m.group("id") is not None:
            out.append(("id", m.group("id")))
        else:
            if m.group("op") == "?.":
                raise CelError("optional field selection '?.' is not supported")
            out.append(("op", m.group("op")))
    out.append(("end", None))
    return out


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1),
                                                                           m.group(1)), body)


_LITERAL_IDS = {"true": True, "false": False, "null": None}
_REL = ("==", "!=", "<", "<=", ">", ">=")


class _Parser:
    """Recursive descent over the token list; produces nested tuples."""

    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, object]:
        return self.toks[self.pos]

    def take(self) -> tuple[str, object]:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def accept(self, op: str) -> bool:
        if self.peek() == ("op", op):
            self.pos += 1
            return True
        return False

    def expect(self, op: str) -> None:
        if not self.accept(op):
            raise CelError(f"Syntax error: expected '{op}', found {self.peek()[1]!r}")

    def parse(self) -> tuple:
        node = self.expr()
        if self.peek()[0] != "end":
            raise CelError(f"Syntax error: unexpected {self.peek()[1]!r}")
        return node

    def expr(self) -> tuple:
        cond = self.binary(0)
        if self.accept("?"):
            then = self.expr()
            self.expect(":")
            return ("cond", cond, then, self.expr())
        return cond

    _LEVELS = (("||",), ("&&",), _REL + ("in",), ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int) -> tuple:
        if level == len(self._LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while True:
            kind, value = self.peek()
            if (kind == "op" or (kind == "id" and value == "in")) and value in self._LEVELS[level]:
                self.take()
                node = ("bin", value, node, self.binary(level + 1))
            else:
                return node

    def unary(self) -> tuple:
        if self.accept("!"):
            return ("un", "!", self.unary())
        if self.accept("-"):
            return ("un", "-", self.unary())
        return self.member()

    def member(self) -> tuple:
        node = self.primary()
        while True:
            if self.accept("."):
                kind, name = self.take()
                if kind != "id":
                    raise CelError("Syntax error: expected a field name after '.'")
                if self.accept("("):
                    node = self.call(name, node)
                else:
                    node = ("sel", node, name)
            elif self.accept("["):
                index = self.expr()
                self.expect("]")
                node = ("idx", node, index)
            else:
                return node

    def args(self) -> list[tuple]:
        out: list[tuple] = []
        if self.accept(")"):
            return out
        while True:
            out.append(self.expr())
            if self.accept(")"):
                return out
            self.expect(",")

    def call(self, name: str, target: tuple | None) -> tuple:
        args = self.args()
        if target is not None and name in MACROS:
            if len(args) != 2 or args[0][0] != "id":
                raise CelError(f"{name}() takes a variable name and an expression")
            return ("macro", name, target, args[0][1], args[1])
        if target is None and name == "has":
            if len(args) != 1 or args[0][0] != "sel":
                raise CelError("has() requires a field selection argument")
            return ("has", args[0])
        allowed = METHODS if target is not None else GLOBALS
        if name not in allowed:
            raise CelError(f"undeclared reference to '{name}' (this server supports "
                           f"{', '.join(allowed)})")
        return ("call", name, target, args)

    def primary(self) -> tuple:
        kind, value = self.take()
        if kind == "lit":
            return ("lit", value)
        if kind == "id":
            if value in _LITERAL_IDS:
                return ("lit", _LITERAL_IDS[value])
            if self.accept("("):
                return self.call(value, None)
            return ("id", value)
        if value == "(":
            node = self.expr()
            self.expect(")")
            return node
        if value == "[":
            return ("list", self.sequence("]"))
        if value == "{":
            return ("map", self.pairs())
        raise CelError(f"Syntax error: unexpected {value!r}")

    def sequence(self, close: str) -> list[tuple]:
        out: list[tuple] = []
        while not self.accept(close):
            out.append(self.expr())
            if not self.accept(","):
                self.expect(close)
                break
        return out

    def pairs(self) -> list[tuple[tuple, tuple]]:
        out: list[tuple[tuple, tuple]] = []
        while not self.accept("}"):
            key = self.expr()
            self.expect(":")
            out.append((key, self.expr()))
            if not self.accept(","):
                self.expect("}")
                break
        return out


@lru_cache(maxsize=1024)
def compile_rule(text: str) -> tuple:
    """Parse ``text`` and check its names; raises :class:`CelError` when unsupported."""
    node = _Parser(text).parse()
    _check_names(node, set(VARIABLES))
    return node


def uses_old_self(node: tuple) -> bool:
    """Whether a compiled rule is a transition rule (mentions ``oldSelf``)."""
    if node[0] == "id":
        return node[1] == "oldSelf"
    return any(uses_old_self(c) for c in _children(node))


def _children(node: tuple) -> list[tuple]:
    out: list[tuple] = []
    for part in node[1:]:
        if isinstance(part, tuple) and part and isinstance(part[0], str):
            out.append(part)
        elif isinstance(part, list):
            for item in part:
                out.extend(item if isinstance(item[0], tuple) else [item])
    return out


def _check_names(node: tuple, scope: set[str]) -> None:
    if node[0] == "id" and node[1] not in scope:
        raise CelError(f"undeclared reference to '{node[1]}'")
    if node[0] == "macro":
        _check_names(node[2], scope)
        _check_names(node[4], scope | {node[3]})
        return
    for child in _children(node):
        _check_names(child, scope)

