"""The "0/N nodes are available: ..." message of a pod that fits no node.

Upstream's FitError.Error(): every node's rejection reasons counted, rendered as
"<count> <reason>", sorted as strings, joined with ", "; the PostFilter (preemption)
message, if any, follows.
"""

from __future__ import annotations

from collections import Counter

from .interface import Status


def fit_error_message(num_nodes: int, statuses: dict[str, Status], pre_filter_msg: str = "",
                      post_filter_msg: str = "") -> str:
    message = f"0/{num_nodes} nodes are available:"
    if pre_filter_msg:
        message += f" {pre_filter_msg}."
    else:
        counts = Counter(reason for status in statuses.values() for reason in status.reasons)
        parts = sorted(f"{count} {reason}" for reason, count in counts.items())
        if parts:
            message += f" {', '.join(parts)}."
    if post_filter_msg:
        message += f" {post_filter_msg}"
    return message
