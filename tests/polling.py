"""Polling for the blocking (kubectl-driven) e2e suites: wait until a check holds."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(check: Callable[[], object], timeout: float, what: str,
               interval: float = 0.25) -> object:
    """Poll ``check`` until it answers something truthy (returned); fail after timeout."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = check()
        except AssertionError as err:  # a check may assert to explain what it saw
            last = err
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; "
                                 f"last saw: {last!r}")
        time.sleep(interval)
