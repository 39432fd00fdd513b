"""``CoreClient``: the async client of the core ordering & promotion API.

Every call goes through ``_request``, the one place that adds the API key, applies the connect and
total timeouts, retries with jittered exponential backoff where a retry cannot duplicate an effect
(GET, or a POST carrying an Idempotency-Key), consults and feeds the circuit breaker, and turns
error responses into typed exceptions.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from backend_client import areas
from backend_client.breaker import CircuitBreaker
from backend_client.errors import BackendUnavailable, ProtocolError, from_response

RETRYABLE_STATUS = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Timeouts:
    connect: float = 1.0  # TCP connect (and waiting for a pooled connection)
    total: float = 3.0  # one attempt, end to end


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # tries in all, including the first
    base_delay: float = 0.1
    max_delay: float = 1.0
    # stop retrying once this much time has gone (e.g. inside WeChat's 5-second window); None: no cap
    budget: float | None = None

    def delay(self, retry: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2^retry)]."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**retry))


@dataclass
class ClientStats:
    """Counters for metrics (read them; the client only increments)."""

    requests: int = 0
    retries: int = 0
    failures: int = 0
    rejected_by_breaker: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class CoreClient:
    """Construct once per process with the app's ``aiohttp.ClientSession``; areas hang off it:
    ``org``, ``catalog``, ``orders``, ``promotions``, ``coupons``, ``webhooks``, ``admin``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str,
        *,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self.timeouts = timeouts
        self.retry = retry
        self.breaker = breaker or CircuitBreaker()
        self.stats = ClientStats()
        self.org = areas.Org(self)
        self.catalog = areas.Catalog(self)
        self.orders = areas.Orders(self)
        self.promotions = areas.Promotions(self)
        self.coupons = areas.Coupons(self)
        self.webhooks = areas.Webhooks(self)
        self.admin = areas.Admin(self)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,  # anything aiohttp accepts as query parameters
        json: Any = None,  # a JSON-serialisable body
        idempotency_key: str | None = None,
        safe: bool = False,
    ) -> Any:  # parsed JSON of unknown shape: the areas decode it into models
        """One logical call: returns the decoded JSON body of a 2xx, raises a CoreError otherwise.

        Retried only when a repeat cannot duplicate an effect: GET, a request carrying an
        Idempotency-Key, or one the area marks ``safe`` (quotes, which reserve nothing, and writes
        that are idempotent by definition such as cancel or set-stock)."""
        safe = safe or method == "GET" or idempotency_key is not None
        attempts = self.retry.attempts if safe else 1
        headers = dict(self._headers)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        data = orjson.dumps(json) if json is not None else None
        if data is not None:
            headers["Content-Type"] = "application/json"
        timeout = aiohttp.ClientTimeout(total=self.timeouts.total, connect=self.timeouts.connect)
        started = time.monotonic()
        last: BackendUnavailable | None = None
        for attempt in range(attempts):
            if attempt:
                pause = self.retry.delay(attempt - 1)
                if self.retry.budget is not None and time.monotonic() - started + pause > self.retry.budget:
                    break
                self.stats.retries += 1
                await asyncio.sleep(pause)
            if not self.breaker.allow():
                self.stats.rejected_by_breaker += 1
                raise BackendUnavailable(
                    f"circuit open; core unavailable for {self.breaker.retry_after():.1f}s more"
                ) from last
            self.stats.requests += 1
            try:
                async with self._session.request(
                    method, self.base_url + path, params=params, data=data, headers=headers, timeout=timeout
                ) as response:
                    status = response.status
                    raw = await response.read()
            except asyncio.CancelledError:
                self.breaker.release()
                raise
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.stats.failures += 1
                self.breaker.record_failure()
                last = BackendUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}")
                continue
            self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
            if status >= 500:
                self.stats.failures += 1
                self.breaker.record_failure()
                last = BackendUnavailable(f"{method} {path}: HTTP {status}", status=status)
                if status in RETRYABLE_STATUS:
                    continue
                break
            self.breaker.record_success()  # any answer below 500 means the core is up
            body = _json(raw, status)
            if status >= 400:
                raise from_response(status, body)
            return body
        assert last is not None
        raise last


def _json(raw: bytes, status: int) -> Any:  # parsed JSON of unknown shape
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        raise ProtocolError(f"HTTP {status} with a body that is not JSON", status=status) from None
