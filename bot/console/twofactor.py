"""Optional second factor: the operator scans a temporary QR code with his own WeChat.

Binding: a signed-in operator asks for a QR (scene ``op2fa:<nonce>``), scans it with the
tenant's Official Account, and the openid that scanned is bound to his account. Signing in: after
the password, an operator with a bound openid gets a QR; the sign-in completes only when that
same openid scans it. The scan reaches jiubot as a WeChat callback (``scenes`` handler below);
the page polls ``status`` and then posts to finish.

A challenge is a Redis hash (5 minutes) naming its purpose, operator, tenant, app, the browser
session that asked (hash of the session id) and, for sign-in, the expected openid. The first
matching scan wins (HSETNX); finishing deletes it, so it is used once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import redis.asyncio as aioredis
import segno
import structlog

from bot.dispatch import EventContext
from bot.handlers.scenes import scenes
from bot.messages import Reply, TextReply
from bot.redis import Keys
from bot.services import Services
from bot.wechat.outbound import WeChatClient

log = structlog.get_logger(__name__)

SCENE_PREFIX = "op2fa:"
TTL_SECONDS = 300
LOGIN = "login"
BIND = "bind"


def wechat_client(services: Services) -> WeChatClient | None:
    """The outbound WeChat client, when the WeChat feature is wired."""
    return services.wechat


def oa_appid(services: Services, tenant_id: int) -> str | None:
    for app in services.registry.all():
        if app.tenant_id == tenant_id and app.kind == "oa":
            return app.appid
    return None


def sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


@dataclass(frozen=True)
class Challenge:
    nonce: str
    purpose: str
    operator_id: int
    tenant_id: int
    appid: str
    session: str  # sid_hash of the browser session that asked
    expected: str  # the bound openid (sign-in), "" (binding)
    openid: str  # who scanned, "" until then


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _key(keys: Keys, nonce: str) -> str:
    return keys("console", "2fa", nonce)


async def start(
    redis: aioredis.Redis,
    keys: Keys,
    *,
    purpose: str,
    operator_id: int,
    tenant_id: int,
    appid: str,
    session_sid: str,
    expected: str = "",
) -> str:
    nonce = secrets.token_urlsafe(24)
    key = _key(keys, nonce)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(
            key,
            mapping={
                "purpose": purpose,
                "operator_id": operator_id,
                "tenant_id": tenant_id,
                "appid": appid,
                "session": sid_hash(session_sid),
                "expected": expected,
            },
        )
        pipe.expire(key, TTL_SECONDS)
        await pipe.execute()
    return nonce


async def load(redis: aioredis.Redis, keys: Keys, nonce: str) -> Challenge | None:
    if not nonce or len(nonce) > 64:
        return None
    raw = await redis.hgetall(_key(keys, nonce))
    if not raw:
        return None
    data = {_text(k): _text(v) for k, v in raw.items()}
    return Challenge(
        nonce,
        data["purpose"],
        int(data["operator_id"]),
        int(data["tenant_id"]),
        data["appid"],
        data["session"],
        data.get("expected", ""),
        data.get("openid", ""),
    )


async def take(redis: aioredis.Redis, keys: Keys, nonce: str, session_sid: str) -> Challenge | None:
    """The scanned challenge of this browser session, deleted (None: not scanned, not this
    session's, expired, or already used)."""
    found = await load(redis, keys, nonce)
    if found is None or not found.openid or found.session != sid_hash(session_sid):
        return None
    if await redis.delete(_key(keys, nonce)) != 1:
        return None
    return found


def qr_data_uri(content: str) -> str:
    """The QR image as an SVG data URI (drawn here: the page loads nothing from outside)."""
    return segno.make(content, error="m").svg_data_uri(scale=5, border=2)


async def make_qr(services: Services, appid: str, nonce: str) -> str | None:
    """A data URI of a temporary parametric QR for the challenge; None without a WeChat client."""
    client = wechat_client(services)
    if client is None:
        return None
    qr = await client.qrcode.create(appid, SCENE_PREFIX + nonce, expire_seconds=TTL_SECONDS)
    return qr_data_uri(qr.url)


@scenes.handler(SCENE_PREFIX)
async def on_scan(ctx: EventContext, nonce: str) -> Reply | None:
    services, message = ctx.services, ctx.message
    found = await load(services.redis, services.keys, nonce)
    if found is None or found.appid != message.appid:
        return TextReply(services.text("console_2fa_expired"))
    if found.expected and found.expected != message.openid:
        log.info("console_2fa_wrong_person", operator=found.operator_id)
        return TextReply(services.text("console_2fa_wrong_person"))
    first = await services.redis.hsetnx(_key(services.keys, nonce), "openid", message.openid)
    if not first:
        return TextReply(services.text("console_2fa_expired"))
    log.info("console_2fa_scanned", operator=found.operator_id, purpose=found.purpose)
    return TextReply(services.text("console_2fa_bound" if found.purpose == BIND else "console_2fa_confirmed"))
