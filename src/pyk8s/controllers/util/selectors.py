"""Label selectors evaluated locally against cached objects (apimachinery's labels package).

Controllers match pods to their owners from the informer cache, so they evaluate
``metav1.LabelSelector`` (matchLabels + matchExpressions) themselves. An empty selector
matches everything and a missing (None) one matches nothing, as LabelSelectorAsSelector.
ReplicationControllers use a plain map; :func:`from_map` turns it into the same form.
"""

from __future__ import annotations


def from_map(labels: dict | None) -> dict:
    """A LabelSelector for a map selector (ReplicationController's ``spec.selector``)."""
    return {"matchLabels": dict(labels or {})}


def is_empty(selector: dict | None) -> bool:
    """True for a selector with no requirements (it selects everything)."""
    return selector is not None and not selector.get("matchLabels") and \
        not selector.get("matchExpressions")


def _requirement(expr: dict, labels: dict) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    raise ValueError(f"{op!r} is not a valid label selector operator")


def matches(selector: dict | None, labels: dict | None) -> bool:
    """Whether ``labels`` satisfy ``selector`` (None selects nothing, {} everything)."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_requirement(e, labels) for e in selector.get("matchExpressions") or ())

