"""Merging an applied configuration into the live object (upstream's TypedValue.Merge).

Why it exists: server-side apply does not patch, it merges by type. Granular maps
merge key by key, atomic maps and lists and scalars take the applied value, and
associative lists (``map`` and ``set``) merge item by item: the applied order wins
for the items both sides have, items only the live list has keep their place
among them, applied-only items come where the configuration puts them.
"""

from __future__ import annotations

import copy

from .typed import Node, index_items


def merge(live: object, config: object, node: Node) -> object:
    """``config`` merged over ``live`` (neither is modified)."""
    if live is None or config is None:
        return copy.deepcopy(config if config is not None else live)
    if isinstance(live, dict) and isinstance(config, dict) and not node.atomic(config):
        out = dict(live)
        for key, value in config.items():
            out[key] = merge(live.get(key), value, node.field(key))
        return out
    if isinstance(live, list) and isinstance(config, list) and not node.atomic(config):
        return _merge_lists(live, config, node)
    return copy.deepcopy(config)


def _merge_lists(live: list, config: list, node: Node) -> list:
    items = node.items()
    lhs = [node.item_element(item, i) for i, item in enumerate(live)]
    rhs = [node.item_element(item, i) for i, item in enumerate(config)]
    lhs_items, rhs_items = index_items(live, node), index_items(config, node)
    shared = [e for e in rhs if e in lhs_items]
    out: list = []
    merged: set[str] = set()
    li = ri = 0

    def take(element: str) -> None:
        merged.add(element)
        out.append(merge(lhs_items.get(element), rhs_items[element], items))
        if shared and shared[0] == element:
            shared.pop(0)

    while li < len(lhs) or ri < len(rhs):
        if li < len(lhs) and ri < len(rhs) and lhs[li] == rhs[ri]:
            take(rhs[ri])
            li, ri = li + 1, ri + 1
            continue
        if li < len(lhs):
            element = lhs[li]
            if element not in rhs_items:
                out.append(copy.deepcopy(lhs_items[element]))
                li += 1
                continue
            if element in merged or (ri < len(rhs) and shared and shared[0] != element):
                li += 1
                continue
        if ri < len(rhs):
            take(rhs[ri])
            ri += 1
    return out
