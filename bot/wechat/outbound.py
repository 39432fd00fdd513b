"""The async WeChat API client: one ``_request`` chokepoint, API areas mounted on the client.

``_request`` takes the app's access token from the cluster-wide cache (``token.py``), a slot from
the shared rate limiter, sends JSON as UTF-8 without ``\\uXXXX`` escapes (40033 otherwise), parses
the ``rid`` WeChat appends to errmsg, and maps errcodes to the typed exceptions of ``errors.py``
(WECHAT_PROTOCOL.md 13):

* 40001/40014/42001: compare-and-swap invalidation, one fetch, one retry of the call;
* -1 (and other answered "busy" codes): bounded exponential backoff; a call WeChat may have
  performed without answering (timeout) is retried only when it is idempotent;
* 45009/45011: the (app, API) pair is blocked for every process until the quota resets, an alert
  is logged and counted, and nothing is sent meanwhile.

The base URL comes from settings (``JIUBOT_WECHAT_API_BASE``), so the simulator is one setting
away. The ``ClientSession`` is injected and owned by the caller.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
import redis.asyncio as aioredis
import structlog
from aiohttp import ClientConnectorError, ClientError, ClientSession, ClientTimeout
from prometheus_client import Counter, Histogram

from bot.redis import Keys
from bot.wechat.errors import (
    ConfigError,
    QuotaExceeded,
    Retryable,
    TokenInvalid,
    TransportError,
    WeChatError,
    error_for,
)
from bot.wechat.outbound_api import (
    JsApiAPI,
    MassAPI,
    MenuAPI,
    MessageAPI,
    QRCodeAPI,
    TagsAPI,
    UserAPI,
    WxaAPI,
)
from bot.wechat.ratelimit import RateLimiter, api_name
from bot.wechat.token import CredentialCache

log = structlog.get_logger(__name__)

api_calls = Counter("jiubot_wechat_api_calls_total", "WeChat API calls by outcome", ["api", "result"])
api_latency = Histogram(
    "jiubot_wechat_api_seconds",
    "WeChat API call latency",
    ["api"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
alerts = Counter(
    "jiubot_wechat_alerts_total",
    "WeChat errors that need an operator (quota spent, configuration, token still invalid)",
    ["appid", "api", "errcode"],
)

SecretLookup = Callable[[str], Awaitable[str]]

_counted: dict[tuple[str, str], Counter] = {}
_timed: dict[str, Histogram] = {}


def _count(api: str, result: str) -> None:
    # labels() takes a lock and builds a key each time: keep the children (bounded: APIs x results)
    child = _counted.get((api, result))
    if child is None:
        child = _counted[(api, result)] = api_calls.labels(api=api, result=result)
    child.inc()


def _observe(api: str, seconds: float) -> None:
    child = _timed.get(api)
    if child is None:
        child = _timed[api] = api_latency.labels(api=api)
    child.observe(seconds)


class WeChatClient:
    def __init__(
        self,
        session: ClientSession,
        *,
        base_url: str,
        secrets: SecretLookup,
        redis: aioredis.Redis,
        keys: Keys,
        limiter: RateLimiter | None = None,
        timeout: float = 5.0,
        retries: int = 4,
        backoff: float = 0.5,
        refresh_ahead: float = 300.0,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.secrets = secrets
        self.limiter = limiter
        self.timeout = ClientTimeout(total=timeout)
        self.retries = retries
        self.backoff = backoff
        self.tokens = CredentialCache(redis, keys, "token", self._fetch_token, refresh_ahead=refresh_ahead)
        self.tickets = CredentialCache(redis, keys, "jsapi", self._fetch_ticket, refresh_ahead=refresh_ahead)
        self.message = MessageAPI(self)
        self.qrcode = QRCodeAPI(self)
        self.menu = MenuAPI(self)
        self.user = UserAPI(self)
        self.tags = TagsAPI(self)
        self.mass = MassAPI(self)
        self.wxa = WxaAPI(self)
        self.jsapi = JsApiAPI(self)

    # the chokepoint -------------------------------------------------------------------------
    async def _request(
        self,
        method: str,
        path: str,
        *,
        appid: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        token: bool = True,
        idempotent: bool = False,
        binary: bool = False,
    ) -> Any:  # the JSON document (its shape is the API's) or, for ``binary``, the bytes
        """Call ``path``; returns the JSON document (or bytes for a binary answer when ``binary``)."""
        api = api_name(path)
        attempt = 0
        token_retried = False
        while True:
            if self.limiter is not None:
                await self.limiter.acquire(appid, api)
            access = await self.tokens.get(appid) if token else None
            try:
                return await self._once(method, path, api, appid, params, body, access, binary)
            except TokenInvalid as exc:
                if access is None or token_retried:
                    self._alert(appid, api, exc, "token_still_invalid")
                    raise
                token_retried = True
                await self.tokens.refresh_after_failure(appid, access)
            except ConfigError as exc:
                self._alert(appid, api, exc, "configuration")
                if not token and self.limiter is not None and exc.errcode is not None:
                    # Wrong secret, IP not whitelisted...: do not ask again at every call.
                    await self.limiter.block(appid, api, exc.errcode, 60.0)
                raise
            except QuotaExceeded as exc:
                if self.limiter is not None and exc.errcode is not None:
                    await self.limiter.block(appid, api, exc.errcode, exc.retry_after)
                self._alert(appid, api, exc, "quota_spent")
                raise
            except Retryable as exc:
                attempt += 1
                unsure = isinstance(exc, TransportError) and exc.maybe_sent and not idempotent
                if unsure or attempt > self.retries:
                    raise
                delay = self.backoff * (2 ** (attempt - 1)) * (0.8 + 0.4 * random.random())
                log.info(
                    "wechat_retry",
                    api=api,
                    appid=appid,
                    attempt=attempt,
                    delay=round(delay, 3),
                    error=str(exc),
                )
                await asyncio.sleep(delay)

    async def _once(
        self,
        method: str,
        path: str,
        api: str,
        appid: str,
        params: Mapping[str, Any] | None,
        body: Any,
        access: str | None,
        binary: bool,
    ) -> Any:
        query = dict(params or {})
        if access is not None:
            query["access_token"] = access
        data = orjson.dumps(body) if body is not None else None  # UTF-8, never \\uXXXX escapes
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with self.session.request(
                method, self.base_url + path, params=query, data=data, headers=headers, timeout=self.timeout
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except ClientConnectorError as exc:
            _count(api, "connect_error")
            raise TransportError(None, f"cannot connect: {exc}", api=api, maybe_sent=False) from exc
        except (ClientError, TimeoutError) as exc:
            _count(api, "transport_error")
            raise TransportError(None, f"{type(exc).__name__}: {exc}", api=api) from exc
        finally:
            _observe(api, loop.time() - started)
        if status >= 500:
            _count(api, f"http_{status}")
            raise TransportError(None, f"HTTP {status}", api=api)
        if binary and raw[:1] != b"{":
            _count(api, "ok")
            return raw
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            _count(api, "bad_body")
            raise TransportError(None, f"HTTP {status}, body is not JSON", api=api) from exc
        errcode = doc.get("errcode", 0) if isinstance(doc, dict) else 0
        if errcode:
            error = error_for(int(errcode), str(doc.get("errmsg", "")), api=api)
            _count(api, str(errcode))
            log.warning(
                "wechat_api_error",
                api=api,
                appid=appid,
                errcode=error.errcode,
                errmsg=error.errmsg[:200],
                rid=error.rid,
                reaction=error.reaction,
            )
            raise error
        _count(api, "ok")
        return doc

    def _alert(self, appid: str, api: str, exc: WeChatError, why: str) -> None:
        alerts.labels(appid=appid, api=api, errcode=str(exc.errcode)).inc()
        log.error(
            "wechat_alert",
            why=why,
            appid=appid,
            api=api,
            errcode=exc.errcode,
            errmsg=exc.errmsg[:200],
            rid=exc.rid,
            retry_after=getattr(exc, "retry_after", None),
        )

    # credentials ---------------------------------------------------------------------------
    async def _fetch_token(self, appid: str, force: bool) -> tuple[str, int]:
        secret = await self.secrets(appid)
        doc = await self._request(
            "POST",
            "/cgi-bin/stable_token",
            appid=appid,
            token=False,
            idempotent=True,
            body={
                "grant_type": "client_credential",
                "appid": appid,
                "secret": secret,
                "force_refresh": force,
            },
        )
        return str(doc["access_token"]), int(doc.get("expires_in", 7200))

    async def _fetch_ticket(self, appid: str, force: bool) -> tuple[str, int]:
        doc = await self._request(
            "GET", "/cgi-bin/ticket/getticket", appid=appid, params={"type": "jsapi"}, idempotent=True
        )
        return str(doc["ticket"]), int(doc.get("expires_in", 7200))

    async def access_token(self, appid: str) -> str:
        return await self.tokens.get(appid)
