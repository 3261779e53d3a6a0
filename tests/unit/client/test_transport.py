"""Which failures the transport retries, and how long it waits."""

from __future__ import annotations

import aiohttp
import pytest

from pyk8s.client.errors import (
    AlreadyExists,
    Conflict,
    NotFound,
    ServerError,
    TooManyRequests,
    TransportError,
    from_status,
    status_body,
)
from pyk8s.client.transport import RetryPolicy, retryable


def transport_error(cause: Exception) -> TransportError:
    err = TransportError("x")
    err.__cause__ = cause
    return err


REFUSED = aiohttp.ClientConnectorError(
    aiohttp.client_reqrep.ConnectionKey("h", 1, True, None, None, None, None),
    OSError(111, "refused"))


@pytest.mark.parametrize("err, method, expected", [
    (TooManyRequests(status_body(429, "slow down")), "POST", True),
    (ServerError(status_body(503, "unavailable")), "GET", True),
    (ServerError(status_body(500, "boom")), "POST", False),
    (ServerError(status_body(500, "boom")), "PATCH", False),
    (transport_error(REFUSED), "POST", True),          # never reached the server
    (transport_error(aiohttp.ServerDisconnectedError()), "PUT", True),
    (transport_error(aiohttp.ServerDisconnectedError()), "POST", False),
    (Conflict(status_body(409, "stale")), "PUT", False),
    (NotFound(status_body(404, "gone")), "GET", False),
])
def test_retryable(err, method, expected):
    assert retryable(err, method) is expected


@pytest.mark.parametrize("code, reason, cls", [
    (404, "NotFound", NotFound), (409, "Conflict", Conflict),
    (409, "AlreadyExists", AlreadyExists), (503, "ServiceUnavailable", ServerError),
    (429, "TooManyRequests", TooManyRequests),
])
def test_errors_keyed_by_code(code, reason, cls):
    err = from_status(status_body(code, "m", reason))
    assert type(err) is cls and err.code == code and err.status["reason"] == reason


def test_backoff_delays():
    policy = RetryPolicy(base=0.2, cap=1.0)
    for attempt, ceiling in [(0, 0.2), (1, 0.4), (2, 0.8), (5, 1.0)]:
        assert ceiling / 2 <= policy.delay(attempt) <= ceiling
    assert policy.delay(3, retry_after=7) == 7
    assert policy.delay(0, retry_after=600) == policy.max_retry_after
