"""Polling: wait until a check holds, blocking (the kubectl-driven e2e suites) or awaiting
(the asyncio integration tests)."""

from __future__ import annotations

import asyncio
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


async def eventually(check: Callable[[], object], timeout: float = 60.0,
                     interval: float = 0.2) -> object:
    """Await ``check()`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            assert value, f"{check.__name__} never held"
            return value
        await asyncio.sleep(interval)
