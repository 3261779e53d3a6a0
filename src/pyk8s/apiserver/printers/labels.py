"""Label maps and label selectors written as upstream's printers write them.

Two upstream formatters are in play: ``labels.FormatLabels`` for plain maps (sorted ``k=v`` pairs,
``<none>`` when empty) and ``metav1.FormatLabelSelector`` for ``LabelSelector`` objects (the
selector's string form: requirements sorted by key, set values sorted, ``<none>`` when it selects
everything or nothing, ``<error>`` when it cannot be parsed). Deployments print the bare string form
instead, so that is exposed too.
"""

from __future__ import annotations

NONE = "<none>"

_OPERATORS = {"In": " in ", "NotIn": " notin ", "Exists": "", "DoesNotExist": ""}


class SelectorError(ValueError):
    """A LabelSelector that ``metav1.LabelSelectorAsSelector`` would reject."""


def format_labels(labels: object) -> str:
    """``labels.FormatLabels``: ``a=1,b=2`` in key order, ``<none>`` when empty."""
    if not isinstance(labels, dict) or not labels:
        return NONE
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def _requirement(key: str, operator: str, values: list[str]) -> str:
    if operator == "Equals":
        return f"{key}={values[0]}"
    if operator == "Exists":
        return key
    if operator == "DoesNotExist":
        return f"!{key}"
    return f"{key}{_OPERATORS[operator]}({','.join(sorted(values))})"


def selector_string(selector: object) -> str:
    """The string form of a LabelSelector, ``""`` for a nil or empty one.

    Raises :class:`SelectorError` for what upstream refuses: unknown operators, In/NotIn without
    values, Exists/DoesNotExist with values.
    """
    if not isinstance(selector, dict):
        return ""
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    requirements: list[tuple[str, str]] = []
    for key, value in match_labels.items():
        requirements.append((key, _requirement(key, "Equals", [str(value)])))
    for expr in expressions:
        if not isinstance(expr, dict):
            raise SelectorError("matchExpressions entries must be objects")
        key, operator = str(expr.get("key") or ""), expr.get("operator")
        values = [str(v) for v in expr.get("values") or []]
        if operator not in _OPERATORS:
            raise SelectorError(f"{operator!r} is not a valid label selector operator")
        if operator in ("In", "NotIn") and not values:
            raise SelectorError(f"values: must be specified when `operator` is {operator!r}")
        if operator in ("Exists", "DoesNotExist") and values:
            raise SelectorError(f"values: may not be specified when `operator` is {operator!r}")
        requirements.append((key, _requirement(key, operator, values)))
    requirements.sort(key=lambda item: item[0])
    return ",".join(text for _, text in requirements)


def format_label_selector(selector: object) -> str:
    """``metav1.FormatLabelSelector``: the selector's string, ``<none>`` or ``<error>``."""
    try:
        text = selector_string(selector)
    except SelectorError:
        return "<error>"
    return text or NONE
