"""Exponential backoff with jitter, reset after a quiet period.

The shape of client-go's ``wait.NewExponentialBackoffManager`` as the reflector uses it
(800 ms initial, doubling, 30 s cap, reset after 2 minutes without failures), with an
injectable clock so the math is testable without sleeping.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable


class Backoff:
    def __init__(self, *, initial: float = 0.8, cap: float = 30.0, factor: float = 2.0,
                 jitter: float = 1.0, reset_after: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.initial, self.cap, self.factor = initial, cap, factor
        self.jitter, self.reset_after, self.clock = jitter, reset_after, clock
        self._current = 0.0
        self._last = 0.0

    def next(self) -> float:
        """The delay before the next attempt after a failure."""
        now = self.clock()
        if self._current == 0.0 or now - self._last > self.reset_after:
            self._current = self.initial
        else:
            self._current = min(self.cap, self._current * self.factor)
        self._last = now
        return self._current * (1 + random.uniform(0, self.jitter))

    def reset(self) -> None:
        self._current = 0.0
