"""Binding a store owner and inviting staff (门店子账户).

* An operator makes an **owner token** for a store (``jiubot store qr``): the ``bind:<token>`` QR
  scene. Whoever scans it proves ownership with a code sent to the phone the core holds for the
  store (or, in the mini-program, with WeChat's verified phone number) and becomes the owner; a
  previous owner of that store steps down to consumer.
* The owner makes single-use **staff tokens**; the first member who scans one becomes staff of the
  store. Staff may order; they cannot invite, remove staff or change the binding.

Tokens are rows (unique token, expiry, single use by conditional update); codes live in Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
import redis.asyncio as aioredis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import rowcount, utcnow
from bot.membership.actions import assign_role, ensure_store, live_member_id
from bot.membership.models import Member
from bot.ordering import repository as repo
from bot.ordering.errors import ChatErrorCode, ChatOrderingError
from bot.ordering.models import BindToken, StoreLink
from bot.ordering.views import OWNER, STAFF, StoreRef
from bot.redis import Keys

# kinds of binding tokens (QR scene arguments, not secrets of any account)
OWNER_TOKEN = "owner"  # noqa: S105
STAFF_TOKEN = "staff"  # noqa: S105
SCENE_PREFIX = "bind:"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    token: str
    kind: str
    tenant_id: int
    core_store_id: int
    created_by: str


@dataclass(frozen=True, slots=True)
class CoreStore:
    """What binding needs of the core's store record."""

    core_store_id: int
    code: str
    name: str
    owner_phone: str


@dataclass(frozen=True, slots=True)
class Bound:
    store: StoreRef
    previous_owner: int | None  # a member who was the owner until now
    moved_from: int | None  # the member's previous store (jiubot id), if they switched stores


def new_token() -> str:
    return secrets.token_urlsafe(12)  # 16 characters: "bind:" + token fits WeChat's 64


async def create_token(
    session: AsyncSession,
    tenant_id: int,
    kind: str,
    core_store_id: int,
    *,
    created_by: str,
    ttl_seconds: int | None,
    now: datetime | None = None,
) -> str:
    now = now or utcnow()
    token = new_token()
    session.add(
        BindToken(
            tenant_id=tenant_id,
            token=token,
            kind=kind,
            core_store_id=core_store_id,
            created_by=created_by[:64],
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds) if ttl_seconds else None,
        )
    )
    await session.flush()
    return token


class QrCodes(Protocol):
    """WeChat's parametric QR API (``WeChatClient.qrcode``; ordering does not import bot.wechat)."""

    async def create(
        self, appid: str, scene: int | str, *, expire_seconds: int | None = None, permanent: bool = False
    ) -> Any: ...


async def binding_qr(qrcodes: QrCodes, appid: str, token: str, days: int | None) -> tuple[str, Any]:
    """(the scene, WeChat's QR code) of a binding token made by ``create_token``: a temporary QR
    for ``days``, or a permanent one when None (what ``jiubot store qr`` and the console show)."""
    scene = SCENE_PREFIX + token
    qr = await qrcodes.create(
        appid, scene, expire_seconds=days * 86400 if days else None, permanent=days is None
    )
    return scene, qr


async def revoke_tokens(
    session: AsyncSession, tenant_id: int, core_store_id: int, *, now: datetime | None = None
) -> int:
    """Revoke every binding code of a store that is not revoked yet (owner and staff); how many."""
    result = await session.execute(
        update(BindToken)
        .where(BindToken.tenant_id == tenant_id, BindToken.core_store_id == core_store_id)
        .where(BindToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


async def read_token(session: AsyncSession, token: str, *, now: datetime | None = None) -> TokenInfo:
    """A usable token, or ChatOrderingError(TOKEN_INVALID, reason=unknown|expired|used|revoked)."""
    now = now or utcnow()
    row = (await session.execute(select(BindToken).where(BindToken.token == token[:32]))).scalar_one_or_none()
    if row is None:
        raise ChatOrderingError(ChatErrorCode.TOKEN_INVALID, "unknown")
    if row.revoked_at is not None:
        raise ChatOrderingError(ChatErrorCode.TOKEN_INVALID, "revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise ChatOrderingError(ChatErrorCode.TOKEN_INVALID, "expired")
    if row.kind == STAFF_TOKEN and row.used_at is not None:
        raise ChatOrderingError(ChatErrorCode.TOKEN_INVALID, "used")
    return TokenInfo(row.token, row.kind, row.tenant_id, row.core_store_id, row.created_by)


async def bind_owner(
    session: AsyncSession, tenant_id: int, member_id: int, store: CoreStore, *, now: datetime | None = None
) -> Bound:
    """Make the member the store's owner (after the phone was proven). Idempotent."""
    now = now or utcnow()
    member_id = await live_member_id(session, member_id)
    store_id = await ensure_store(session, tenant_id, store.code, name=store.name)
    link = await repo.upsert_link(session, tenant_id, store_id, store.core_store_id, store.code, store.name)
    before = (await session.execute(select(Member.role, Member.store_id).where(Member.id == member_id))).one()
    moved_from = before.store_id if before.role in (OWNER, STAFF) and before.store_id != store_id else None
    previous = link.owner_member_id if link.owner_member_id not in (None, member_id) else None
    if previous is not None:
        prev = (
            await session.execute(select(Member.role, Member.store_id).where(Member.id == previous))
        ).first()
        if prev is not None and prev.role == OWNER and prev.store_id == store_id:
            await assign_role(session, previous, "consumer")
    await assign_role(session, member_id, OWNER, store_id=store_id)
    await session.execute(
        update(StoreLink)
        .where(StoreLink.id == link.id)
        .values(owner_member_id=member_id, bound_at=now, updated_at=now)
    )
    if moved_from is not None and before.role == OWNER:
        # the store the owner left has no owner in chat until someone binds it again
        await session.execute(
            update(StoreLink)
            .where(
                StoreLink.tenant_id == tenant_id,
                StoreLink.store_id == moved_from,
                StoreLink.owner_member_id == member_id,
            )
            .values(owner_member_id=None, updated_at=now)
        )
    return Bound(StoreRef(store_id, store.core_store_id, store.code, store.name), previous, moved_from)


async def join_staff(
    session: AsyncSession, tenant_id: int, member_id: int, token: TokenInfo, *, now: datetime | None = None
) -> StoreRef:
    """Use a staff invitation (single use: the first scanner wins)."""
    now = now or utcnow()
    member_id = await live_member_id(session, member_id)
    link = await repo.link_by_core_id(session, tenant_id, token.core_store_id)
    if link is None:
        raise ChatOrderingError(ChatErrorCode.STORE_UNKNOWN, str(token.core_store_id))
    if link.owner_member_id == member_id:
        raise ChatOrderingError(ChatErrorCode.TOKEN_INVALID, "own_store")
    used = await session.execute(
        update(BindToken)
        .where(BindToken.token == token.token, BindToken.used_at.is_(None), BindToken.revoked_at.is_(None))
        .values(used_at=now, used_by_member_id=member_id)
    )
    if rowcount(used) != 1:
        raise ChatOrderingError(ChatErrorCode.TOKEN_INVALID, "used")
    await assign_role(session, member_id, STAFF, store_id=link.store_id)
    return StoreRef(link.store_id, link.core_store_id, link.code, link.name)


async def remove_staff(session: AsyncSession, tenant_id: int, store_id: int, staff_member_id: int) -> bool:
    """The owner takes a staff member off the store; False if they were not staff of it."""
    row = (
        await session.execute(
            select(Member.role, Member.store_id, Member.tenant_id).where(Member.id == staff_member_id)
        )
    ).first()
    if row is None or row.tenant_id != tenant_id or row.role != STAFF or row.store_id != store_id:
        return False
    await assign_role(session, staff_member_id, "consumer")
    return True


# phone codes ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Challenge:
    phone: str
    payload: dict


class PhoneCodes:
    """Six-digit codes sent by SMS: one live code per subject, a minimum gap between sends, and a
    lock after ``max_attempts`` wrong answers (the code must then be sent again)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        ttl: int = 600,
        resend_after: int = 60,
        max_attempts: int = 5,
        secret: bytes = b"jiubot",
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.ttl = ttl
        self.resend_after = resend_after
        self.max_attempts = max_attempts
        self.secret = secret

    def _key(self, subject: str) -> str:
        return self.keys("bind", "code", subject)

    def _digest(self, subject: str, code: str) -> str:
        return hmac.new(self.secret, f"{subject}:{code}".encode(), hashlib.sha256).hexdigest()

    async def issue(self, subject: str, phone: str, payload: dict) -> str:
        gap = self.keys("bind", "code-sent", subject)
        if not await self.redis.set(gap, b"1", nx=True, ex=self.resend_after):
            raise ChatOrderingError(ChatErrorCode.SMS_TOO_SOON, str(await self.redis.ttl(gap)))
        code = f"{secrets.randbelow(10**6):06d}"
        doc = {"digest": self._digest(subject, code), "phone": phone, "payload": payload, "tries": 0}
        await self.redis.set(self._key(subject), orjson.dumps(doc), ex=self.ttl)
        return code

    async def withdraw(self, subject: str) -> None:
        """The code could not be sent: forget it and the resend gap (a retry may send at once)."""
        await self.redis.delete(self._key(subject), self.keys("bind", "code-sent", subject))

    async def pending(self, subject: str) -> Challenge | None:
        raw = await self.redis.get(self._key(subject))
        if not raw:
            return None
        doc = orjson.loads(raw)
        return Challenge(doc["phone"], doc["payload"])

    async def verify(self, subject: str, code: str) -> Challenge:
        key = self._key(subject)
        raw = await self.redis.get(key)
        if not raw:
            raise ChatOrderingError(ChatErrorCode.CODE_EXPIRED)
        doc = orjson.loads(raw)
        if doc["tries"] >= self.max_attempts:
            raise ChatOrderingError(ChatErrorCode.CODE_LOCKED)
        if not hmac.compare_digest(doc["digest"], self._digest(subject, code.strip())):
            doc["tries"] += 1
            await self.redis.set(key, orjson.dumps(doc), keepttl=True)
            left = self.max_attempts - doc["tries"]
            raise ChatOrderingError(
                ChatErrorCode.CODE_LOCKED if left <= 0 else ChatErrorCode.CODE_WRONG, str(left), left=left
            )
        await self.redis.delete(key, self.keys("bind", "code-sent", subject))
        return Challenge(doc["phone"], doc["payload"])
