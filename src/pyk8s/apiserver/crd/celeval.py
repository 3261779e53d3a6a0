"""Evaluation of expressions compiled by :mod:`.cel` over JSON values.

Why this exists apart from the parser: evaluation is the part that runs on every
write of a custom object, and keeping it on its own keeps both halves small. Values
are the decoded JSON of the object (dicts, lists, str, int, float, bool, None);
errors (missing keys, bad operand types, division by zero) raise
:class:`~.cel.CelError` with CEL's wording, e.g. ``no such key: replicas``.
"""

from __future__ import annotations

import re

from .cel import CelError


def eval_node(node: tuple, env: dict) -> object:
    handler = _HANDLERS.get(node[0])
    if handler is None:
        raise CelError(f"unsupported expression {node[0]}")
    return handler(node, env)


def _lit(node: tuple, env: dict) -> object:
    return node[1]


def _ident(node: tuple, env: dict) -> object:
    if node[1] not in env:
        raise CelError(f"undeclared reference to '{node[1]}'")
    return env[node[1]]


def _select(node: tuple, env: dict) -> object:
    target = eval_node(node[1], env)
    if not isinstance(target, dict):
        raise CelError(f"no such key: {node[2]}")
    if node[2] not in target:
        raise CelError(f"no such key: {node[2]}")
    return target[node[2]]


def _index(node: tuple, env: dict) -> object:
    target, key = eval_node(node[1], env), eval_node(node[2], env)
    if isinstance(target, list):
        if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key < len(target):
            raise CelError(f"index out of bounds: {key}")
        return target[key]
    if isinstance(target, dict):
        if key not in target:
            raise CelError(f"no such key: {key}")
        return target[key]
    raise CelError("no such overload: index")


def _has(node: tuple, env: dict) -> bool:
    sel = node[1]
    target = eval_node(sel[1], env)
    if not isinstance(target, dict):
        raise CelError("invalid type for field selection.")
    return sel[2] in target


def _unary(node: tuple, env: dict) -> object:
    value = eval_node(node[2], env)
    if node[1] == "!":
        if not isinstance(value, bool):
            raise CelError("no such overload: !_")
        return not value
    if not _is_num(value):
        raise CelError("no such overload: -_")
    return -value


def _is_num(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cond(node: tuple, env: dict) -> object:
    test = eval_node(node[1], env)
    if not isinstance(test, bool):
        raise CelError("no such overload: _?_:_")
    return eval_node(node[2] if test else node[3], env)


def _logic(op: str, left: tuple, right: tuple, env: dict) -> bool:
    """``&&``/``||`` with CEL's commutative error handling."""
    decisive = op == "||"
    error: CelError | None = None
    for side in (left, right):
        try:
            value = eval_node(side, env)
        except CelError as exc:
            error = error or exc
            continue
        if not isinstance(value, bool):
            error = error or CelError(f"no such overload: _{op}_")
        elif value is decisive:
            return decisive
    if error is not None:
        raise error
    return not decisive


def _binary(node: tuple, env: dict) -> object:
    op = node[1]
    if op in ("&&", "||"):
        return _logic(op, node[2], node[3], env)
    left, right = eval_node(node[2], env), eval_node(node[3], env)
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op == "in":
        if isinstance(right, (list, dict)):
            return any(_equal(left, item) for item in right)
        raise CelError("no such overload: @in")
    if op in ("<", "<=", ">", ">="):
        return _compare(op, left, right)
    return _arith(op, left, right)


def _equal(left: object, right: object) -> bool:
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return left == right


def _compare(op: str, left: object, right: object) -> bool:
    comparable = (_is_num(left) and _is_num(right)) or (
        type(left) is type(right) and isinstance(left, (str, bool)))
    if not comparable:
        raise CelError(f"no such overload: _{op}_")
    return {"<": left < right, "<=": left <= right, ">": left > right,
            ">=": left >= right}[op]


def _arith(op: str, left: object, right: object) -> object:
    if op == "+" and type(left) is type(right) and isinstance(left, (str, list)):
        return left + right
    if not (_is_num(left) and _is_num(right)):
        raise CelError(f"no such overload: _{op}_")
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0 and isinstance(right, int):
        raise CelError("division by zero" if op == "/" else "modulus by zero")
    if isinstance(left, int) and isinstance(right, int):
        quotient = abs(left) // abs(right) * (1 if (left >= 0) == (right >= 0) else -1)
        return quotient if op == "/" else left - right * quotient
    return left / right if op == "/" else left % right


def _list(node: tuple, env: dict) -> list:
    return [eval_node(item, env) for item in node[1]]


def _map(node: tuple, env: dict) -> dict:
    return {eval_node(k, env): eval_node(v, env) for k, v in node[1]}


def _macro(node: tuple, env: dict) -> object:
    _, name, target_node, var, body = node
    target = eval_node(target_node, env)
    if not isinstance(target, (list, dict)):
        raise CelError(f"no such overload: {name}")
    items = list(target)
    if name == "map":
        return [eval_node(body, {**env, var: item}) for item in items]
    results = [eval_node(body, {**env, var: item}) for item in items]
    if any(not isinstance(r, bool) for r in results):
        raise CelError(f"no such overload: {name}")
    if name == "all":
        return all(results)
    if name == "exists":
        return any(results)
    if name == "exists_one":
        return sum(results) == 1
    return [item for item, keep in zip(items, results) if keep]


def _call(node: tuple, env: dict) -> object:
    _, name, target_node, arg_nodes = node
    args = [eval_node(a, env) for a in arg_nodes]
    if target_node is not None:
        args.insert(0, eval_node(target_node, env))
    func = _FUNCTIONS[name]
    try:
        return func(*args)
    except (TypeError, ValueError, KeyError, AttributeError, re.error):
        raise CelError(f"no such overload: {name}") from None


def _size(value: object) -> int:
    if isinstance(value, (str, list, dict)):
        return len(value)
    raise TypeError


def _to_int(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError
    return int(value)


def _to_string(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise TypeError


def _str_method(check):
    def call(target: object, *args: object) -> object:
        if not isinstance(target, str) or not all(isinstance(a, str) for a in args):
            raise TypeError
        return check(target, *args)

    return call


_FUNCTIONS = {
    "size": _size,
    "int": _to_int,
    "uint": _to_int,
    "double": lambda v: float(_to_int(v) if isinstance(v, bool) else v),
    "string": _to_string,
    "bool": lambda v: {"true": True, "false": False}[v] if isinstance(v, str) else bool(v),
    "startsWith": _str_method(str.startswith),
    "endsWith": _str_method(str.endswith),
    "contains": _str_method(lambda s, sub: sub in s),
    "matches": _str_method(lambda s, rx: re.search(rx, s) is not None),
    "lowerAscii": _str_method(str.lower),
    "upperAscii": _str_method(str.upper),
    "trim": _str_method(str.strip),
    "split": _str_method(lambda s, sep: s.split(sep)),
    "indexOf": _str_method(str.find),
    "join": lambda items, sep="": sep.join(items),
}

_HANDLERS = {
    "lit": _lit, "id": _ident, "sel": _select, "idx": _index, "has": _has, "un": _unary,
    "cond": _cond, "bin": _binary, "list": _list, "map": _map, "macro": _macro, "call": _call,
}
