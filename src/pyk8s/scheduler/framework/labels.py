"""Label-selector, node-selector and toleration matching, as the scheduler needs them.

Components do not import the API server's internals, so the scheduler keeps its own
small matchers over plain dicts: LabelSelector (matchLabels/matchExpressions),
NodeSelector terms (In/NotIn/Exists/DoesNotExist/Gt/Lt and matchFields on
metadata.name) and taint/toleration matching (upstream's v1helper).
"""

from __future__ import annotations


def labels_of(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("labels") or {}


def match_label_selector(selector: dict | None, labels: dict) -> bool:
    """A metav1.LabelSelector; ``None`` matches nothing, ``{}`` matches everything."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for req in selector.get("matchExpressions") or ():
        key, op, values = req.get("key"), req.get("operator"), req.get("values") or ()
        if op == "In":
            ok = key in labels and labels[key] in values
        elif op == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif op == "Exists":
            ok = key in labels
        elif op == "DoesNotExist":
            ok = key not in labels
        else:
            return False
        if not ok:
            return False
    return True


def _match_requirement(req: dict, value: str | None) -> bool:
    op, values = req.get("operator"), req.get("values") or ()
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt"):
        if value is None or len(values) != 1:
            return False
        try:
            have, want = int(value), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def match_node_selector_term(term: dict, node: dict) -> bool:
    """One NodeSelectorTerm: all its requirements hold; an empty term matches nothing."""
    exprs, fields = term.get("matchExpressions") or (), term.get("matchFields") or ()
    if not exprs and not fields:
        return False
    labels = labels_of(node)
    for req in exprs:
        if not _match_requirement(req, labels.get(req.get("key"))):
            return False
    name = node["metadata"]["name"]
    for req in fields:
        if req.get("key") != "metadata.name" or not _match_requirement(req, name):
            return False
    return True


def match_node_selector(selector: dict, node: dict) -> bool:
    """A NodeSelector: its terms are ORed."""
    return any(match_node_selector_term(t, node) for t in selector.get("nodeSelectorTerms") or ())


def tolerates(toleration: dict, taint: dict) -> bool:
    """Whether one toleration tolerates one taint (v1.Toleration.ToleratesTaint)."""
    effect = toleration.get("effect")
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key")
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerated(taint: dict, tolerations: list[dict]) -> bool:
    return any(tolerates(t, taint) for t in tolerations)
