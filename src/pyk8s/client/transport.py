"""HTTP to the API server: one keep-alive aiohttp session, JSON in and out, retries.

Retries follow client-go's rules in spirit: a request the server refused before doing any
work (429, or a connection that never opened) is retried for every verb; 5xx answers,
resets and timeouts only for idempotent verbs (GET, PUT with its resourceVersion
precondition, DELETE). Waits grow exponentially with full jitter and honour Retry-After.
Every failure leaves this module as a ``ClientError`` subclass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import orjson

from .config import Config
from .errors import (
    ApiError,
    ServerError,
    TooManyRequests,
    TransportError,
    from_status,
    status_body,
)

log = logging.getLogger(__name__)

JSON = "application/json"
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits up to min(cap, base * 2**n)."""

    attempts: int = 5
    base: float = 0.2
    cap: float = 10.0
    max_retry_after: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.cap, self.base * 2 ** attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _retry_after(err: ApiError) -> float | None:
    value = getattr(err, "retry_after", None)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def retryable(err: Exception, method: str) -> bool:
    """Whether ``err`` for a ``method`` request may be sent again unchanged."""
    if isinstance(err, TooManyRequests):
        return True
    cause = err.__cause__
    if isinstance(err, TransportError) and isinstance(cause, aiohttp.ClientConnectorError):
        return True  # never reached the server
    if isinstance(err, (ServerError, TransportError)):
        return method in IDEMPOTENT
    return False


async def _error(resp: aiohttp.ClientResponse) -> ApiError:
    raw = await resp.read()
    try:
        status = orjson.loads(raw)
        if not isinstance(status, dict) or status.get("kind") != "Status":
            raise ValueError("not a Status")
    except ValueError:
        status = status_body(resp.status, raw.decode(errors="replace")[:1024] or resp.reason)
    err = from_status(status, resp.status)
    err.retry_after = resp.headers.get("Retry-After")
    return err


class Transport:
    """The session and the request loop; knows nothing of resources."""

    def __init__(self, config: Config, *, connection_limit: int = 100,
                 retry: RetryPolicy | None = None, timeout: float = 60.0) -> None:
        self.config = config
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.connection_limit = connection_limit
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=self.connection_limit,
                                         ssl=self.config.ssl_context
                                         if self.config.ssl_context is not None else True,
                                         keepalive_timeout=60)
        self._session = aiohttp.ClientSession(connector=connector)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("client is not open: use 'async with Client(...)'")
        return self._session

    def _headers(self, content_type: str | None, accept: str) -> dict[str, str]:
        headers = self.config.request_headers()
        headers["Accept"] = accept
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    async def request(self, method: str, path: str, *, params: dict | None = None,
                      body: object = None, content_type: str = JSON,
                      accept: str = JSON) -> dict:
        """Send one request (retrying as the policy allows) and decode the JSON answer."""
        data = orjson.dumps(body) if body is not None else None
        attempt = 0
        while True:
            try:
                return await self._once(method, path, params, data,
                                        content_type if data is not None else None, accept)
            except (ApiError, TransportError) as err:
                if attempt + 1 >= self.retry.attempts or not retryable(err, method):
                    raise
                delay = self.retry.delay(attempt, _retry_after(err)
                                         if isinstance(err, ApiError) else None)
                log.info("%s %s failed (%s); retry %d in %.2fs", method, path, err,
                         attempt + 1, delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def _once(self, method: str, path: str, params: dict | None, data: bytes | None,
                    content_type: str | None, accept: str) -> dict:
        try:
            async with self.session.request(
                    method, self.config.server + path, params=_clean(params), data=data,
                    headers=self._headers(content_type, accept),
                    timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                if resp.status >= 400:
                    raise await _error(resp)
                raw = await resp.read()
        except aiohttp.ClientError as err:
            raise TransportError(f"{method} {path}: {err}") from err
        except TimeoutError as err:
            raise TransportError(f"{method} {path}: timed out") from err
        return orjson.loads(raw) if raw else {}

    @contextlib.asynccontextmanager
    async def stream(self, path: str, *, params: dict, read_timeout: float | None
                     ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Open a streaming GET (a watch); the body is left to the caller. Not retried."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.timeout,
                                        sock_read=read_timeout)
        try:
            async with self.session.get(self.config.server + path, params=_clean(params),
                                        headers=self._headers(None, JSON),
                                        timeout=timeout) as resp:
                if resp.status >= 400:
                    raise await _error(resp)
                yield resp
        except aiohttp.ClientError as err:
            raise TransportError(f"watch {path}: {err}") from err
        except TimeoutError as err:
            raise TransportError(f"watch {path}: read timed out") from err


def _clean(params: dict | None) -> dict[str, str] | None:
    """Drop None values and spell booleans as the API server expects."""
    if not params:
        return None
    out = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


async def iter_lines(resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """Newline-delimited frames of a chunked body, however large (no readline limit)."""
    buf = bytearray()
    async for chunk in resp.content.iter_any():
        buf += chunk
        start = 0
        while (end := buf.find(b"\n", start)) >= 0:
            if end > start:
                yield bytes(buf[start:end])
            start = end + 1
        del buf[:start]
    if buf.strip():
        yield bytes(buf)
