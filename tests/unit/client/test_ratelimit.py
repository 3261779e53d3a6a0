"""Rate limiter math (client-go default_rate_limiters_test.go), with a fake clock."""

from __future__ import annotations

import pytest

from pyk8s.client.backoff import Backoff
from pyk8s.client.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("failures, expected", [
    (0, 0.005), (1, 0.01), (2, 0.02), (10, 5.12), (17, 655.36), (18, 1000.0), (100, 1000.0),
])
def test_item_exponential(failures, expected):
    limiter = ItemExponentialFailureRateLimiter(0.005, 1000.0)
    for _ in range(failures):
        limiter.when("x")
    assert limiter.when("x") == pytest.approx(expected)
    assert limiter.num_requeues("x") == failures + 1
    assert limiter.when("other") == pytest.approx(0.005)
    limiter.forget("x")
    assert limiter.num_requeues("x") == 0
    assert limiter.when("x") == pytest.approx(0.005)


def test_bucket_burst_then_qps():
    clock = FakeClock()
    bucket = BucketRateLimiter(qps=10, burst=100, clock=clock)
    assert [bucket.when(i) for i in range(100)] == [0.0] * 100
    assert bucket.when("a") == pytest.approx(0.1)
    assert bucket.when("b") == pytest.approx(0.2)
    clock.now += 1.0  # 10 tokens refilled, 2 were owed
    assert bucket.when("c") == pytest.approx(0.0)
    assert [round(bucket.when(i), 3) for i in range(8)] == [0.0] * 7 + [0.1]


def test_bucket_refill_caps_at_burst():
    clock = FakeClock()
    bucket = BucketRateLimiter(qps=10, burst=5, clock=clock)
    clock.now += 3600
    assert [bucket.when(i) for i in range(5)] == [0.0] * 5
    assert bucket.when("x") == pytest.approx(0.1)


def test_max_of_and_default():
    limiter = default_controller_rate_limiter()
    assert limiter.when("a") == pytest.approx(0.005)
    assert limiter.when("a") == pytest.approx(0.01)
    assert limiter.num_requeues("a") == 2
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    fast = ItemExponentialFailureRateLimiter(0.001, 1)
    slow = ItemExponentialFailureRateLimiter(0.5, 1)
    assert MaxOfRateLimiter(fast, slow).when("k") == 0.5


def test_backoff_grows_caps_and_resets():
    clock = FakeClock()
    backoff = Backoff(initial=1, cap=8, jitter=0, reset_after=60, clock=clock)
    assert [backoff.next() for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    clock.now += 61
    assert backoff.next() == 1
    backoff.reset()
    assert backoff.next() == 1
