"""``GET|POST /wechat/{appid}``: verify, decrypt, parse, then hand over to the pipeline.

Every rejection is a 4xx with a machine reason in the body, a log line and a metric, and nothing
is dispatched: unknown appid, oversized body, missing or stale parameters, bad signature, replayed
nonce, XML that is malformed or uses DTDs/entities, missing fields, undecryptable ciphertext, a
ciphertext for another appid.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

from bot.clientip import client_ip
from bot.observability import child, hash_openid, metrics
from bot.tenancy.registry import AppConfig, AppRegistry
from bot.wechat.crypto import CryptoError, MessageCrypto, signature_ok
from bot.wechat.pipeline import Pipeline, finished_within
from bot.wechat.steps import SETTLE_GRACE, ReplayedNonce
from bot.wechat.xml import BadMessage, parse_xml, to_inbound

if TYPE_CHECKING:
    from multidict import MultiMapping

log = structlog.get_logger(__name__)

ACK = b"success"


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CallbackView:
    """The callback endpoint of every configured app."""

    def __init__(
        self,
        *,
        timestamp_window: int,
        max_body: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Bound once the runtime exists (``bind``, called by the app's start-up): the routes
        # must be added before the app starts, the pipeline needs the database and Redis.
        self._registry: AppRegistry | None = None
        self._pipeline: Pipeline | None = None
        self.window = timestamp_window
        self.max_body = max_body
        self.clock = clock
        self._crypto: dict[tuple[str, tuple[str, ...]], MessageCrypto] = {}

    def bind(self, registry: AppRegistry, pipeline: Pipeline) -> None:
        self._registry, self._pipeline = registry, pipeline

    @property
    def registry(self) -> AppRegistry:
        if self._registry is None:
            raise RuntimeError("CallbackView.bind() was not called (the app has not started)")
        return self._registry

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            raise RuntimeError("CallbackView.bind() was not called (the app has not started)")
        return self._pipeline

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/wechat/{appid}", self.verify), web.post("/wechat/{appid}", self.receive)]

    # GET ----------------------------------------------------------------------------------
    async def verify(self, request: web.Request) -> web.Response:
        try:
            app = await self._app(request)
            q = request.query
            self._fresh(q.get("timestamp"))
            if not signature_ok(q.get("signature"), app.token, q.get("timestamp", ""), q.get("nonce", "")):
                raise Rejected(403, "bad_signature")
            echostr = q.get("echostr")
            if echostr is None:
                raise Rejected(400, "missing_param:echostr")
        except Rejected as exc:
            return self._reject(request, exc)
        return web.Response(text=echostr, content_type="text/plain")

    # POST ---------------------------------------------------------------------------------
    async def receive(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        try:
            app = await self._app(request)
            body = await self._body(request)
            q = request.query
            timestamp, nonce = q.get("timestamp"), q.get("nonce")
            if not timestamp or not nonce:
                raise Rejected(400, "missing_param:timestamp_or_nonce")
            self._fresh(timestamp)
            fields, crypto, key_index = self._open(app, body, q, timestamp, nonce)
            message = to_inbound(app.appid, fields)
            if app.original_id and message.to_user != app.original_id:
                raise Rejected(400, "wrong_account")
        except Rejected as exc:
            return self._reject(request, exc)
        except BadMessage as exc:
            return self._reject(request, Rejected(400, exc.reason))

        fingerprint = hashlib.sha1(body, usedforsecurity=False).hexdigest()
        # A task of its own: if the server cancels the request (a client hang-up under a runner
        # with handler cancellation), the lease is still settled and a late reply still goes out.
        # Every step inside has a deadline within the budget (pipeline.py); the cap below is the
        # last line of defence: WeChat gets an ack in time whatever an unforeseen await does.
        task = asyncio.ensure_future(
            self.pipeline.handle(
                app, message, started=started, timestamp=timestamp, nonce=nonce, fingerprint=fingerprint
            )
        )
        cap = self.pipeline.budget + SETTLE_GRACE + 0.1 - (time.monotonic() - started)
        if not await finished_within(task, cap):
            self.pipeline.adopt(task)
            log.error("callback_deadline_cap", appid=app.appid, user=hash_openid(message.openid))
            child(metrics.callbacks, message.msg_type, "capped").inc()
            return web.Response(body=ACK, content_type="text/plain")
        try:
            outcome = task.result()
        except ReplayedNonce:
            return self._reject(request, Rejected(403, "nonce_replayed"))
        child(metrics.callbacks, message.msg_type, outcome.status).inc()
        child(metrics.callback_latency, "aes" if crypto else "plain").observe(time.monotonic() - started)
        if outcome.status == "failed":
            # Not an ack: WeChat retries, and the retry runs the handler again.
            return web.Response(status=500, text="handler_failed")
        if outcome.xml is None:
            return web.Response(body=ACK, content_type="text/plain")
        if crypto is not None:
            reply = crypto.envelope(outcome.xml, nonce, str(int(self.clock())), key_index)
            return web.Response(body=reply, content_type="application/xml")
        return web.Response(body=outcome.xml, content_type="application/xml")

    # steps --------------------------------------------------------------------------------
    async def _app(self, request: web.Request) -> AppConfig:
        appid = request.match_info["appid"]
        app = await self.registry.get(appid) if len(appid) <= 32 else None
        if app is None:
            raise Rejected(404, "unknown_appid")
        return app

    async def _body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > self.max_body:
            raise Rejected(413, "body_too_large")
        body = await request.content.read(self.max_body + 1)
        if len(body) > self.max_body:
            raise Rejected(413, "body_too_large")
        return body

    def _fresh(self, timestamp: str | None) -> None:
        if not timestamp:
            raise Rejected(400, "missing_param:timestamp")
        try:
            sent = int(timestamp)
        except ValueError:
            raise Rejected(400, "bad_param:timestamp") from None
        if self.window and abs(self.clock() - sent) > self.window:
            raise Rejected(403, "stale_timestamp")

    def _crypto_for(self, app: AppConfig) -> MessageCrypto:
        cache_key = (app.appid, tuple(app.aes_keys))
        crypto = self._crypto.get(cache_key)
        if crypto is None:
            crypto = self._crypto[cache_key] = MessageCrypto(app.token, app.appid, app.aes_keys)
        return crypto

    def _open(
        self, app: AppConfig, body: bytes, q: MultiMapping[str], timestamp: str, nonce: str
    ) -> tuple[dict[str, Any], MessageCrypto | None, int]:
        """Return (inner fields, crypto used or None, AES key index)."""
        encrypted = q.get("encrypt_type") == "aes"
        if not encrypted:
            if app.mode == "safe":
                raise Rejected(400, "encryption_required")
            if not signature_ok(q.get("signature"), app.token, timestamp, nonce):
                raise Rejected(403, "bad_signature")
            return parse_xml(body), None, 0
        if not app.aes_keys:
            raise Rejected(400, "encryption_not_configured")
        outer = parse_xml(body)
        ciphertext = outer.get("Encrypt")
        if not isinstance(ciphertext, str) or not ciphertext:
            raise Rejected(400, "missing_field:Encrypt")
        if not signature_ok(q.get("msg_signature"), app.token, timestamp, nonce, ciphertext):
            raise Rejected(403, "bad_msg_signature")
        crypto = self._crypto_for(app)
        try:
            plain, key_index = crypto.decrypt(ciphertext)
        except CryptoError as exc:
            status = 403 if exc.reason == "appid_mismatch" else 400
            raise Rejected(status, f"decrypt:{exc.reason}") from None
        return parse_xml(plain), crypto, key_index

    def _reject(self, request: web.Request, exc: Rejected) -> web.Response:
        metrics.rejected.labels(reason=exc.reason.split(":")[0]).inc()
        log.warning(
            "callback_rejected",
            reason=exc.reason,
            status=exc.status,
            appid=request.match_info.get("appid", "")[:40],
            user=hash_openid(request.query.get("openid")),
            client=client_ip(request),
        )
        return web.json_response({"error": exc.reason}, status=exc.status)
