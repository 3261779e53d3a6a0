"""Per-item and overall rate limiters for the work queue, as client-go's workqueue ones.

``when(item)`` answers how long to wait before the item may be retried and counts a
failure; ``forget(item)`` clears its history after a success. The default controller
limiter is the max of per-item exponential backoff (5 ms doubling to 1000 s) and a token
bucket (10 qps, burst 100) shared by all items, exactly DefaultControllerRateLimiter.
Clocks are injectable so the math is tested without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Protocol


class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float: ...
    def forget(self, item: Hashable) -> None: ...
    def num_requeues(self, item: Hashable) -> int: ...


class ItemExponentialFailureRateLimiter:
    """base * 2**failures per item, capped at ``cap``."""

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        self.base, self.cap = base, cap
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        exp = self._failures.get(item, 0)
        self._failures[item] = exp + 1
        if exp > 62:  # 2**63 overflows Go's int64; keep the cap semantics
            return self.cap
        return min(self.cap, self.base * 2 ** exp)

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """A token bucket (golang.org/x/time/rate semantics): every ``when`` reserves a token
    and answers how long until that token exists."""

    def __init__(self, qps: float = 10.0, burst: int = 100,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.qps, self.burst, self.clock = qps, burst, clock
        self._tokens = float(burst)
        self._last = clock()

    def when(self, item: Hashable) -> float:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest wait of several limiters (each still counts the failure)."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_controller_rate_limiter() -> MaxOfRateLimiter:
    return MaxOfRateLimiter(ItemExponentialFailureRateLimiter(0.005, 1000.0),
                            BucketRateLimiter(qps=10.0, burst=100))
