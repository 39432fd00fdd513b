"""A store in the console: its owner and staff, its live binding codes, issuing an owner binding
QR (``bot.ordering.binding``: the token here, the QR from WeChat after the commit) and revoking
every binding code of the store. Each change claims the form's one-time token and writes its
audit entry in the same transaction; the store must come from the actor's scoped read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import audit, form_tokens, scope
from bot.console.policy import Actor
from bot.console.repository import StoreView
from bot.membership.models import Member
from bot.ordering import binding
from bot.ordering.models import BindToken

STORE_ROLES = ("store_owner", "store_staff")
MAX_DAYS = 30  # WeChat's temporary QR codes live at most 30 days
_DAYS = re.compile(r"^\d{1,2}$")


class StoreRefused(Exception):
    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


@dataclass(frozen=True)
class StoreMember:
    id: int
    role: str
    phone: str | None
    status: str
    created_at: datetime


@dataclass(frozen=True)
class LiveToken:
    id: int
    kind: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None


async def members(session: AsyncSession, actor: Actor, store: StoreView) -> list[StoreMember]:
    """The store's owner and staff (owner first)."""
    if store.store_id is None:
        return []
    rows = await session.scalars(
        select(Member)
        .where(scope.members_clause(actor), Member.store_id == store.store_id, Member.role.in_(STORE_ROLES))
        .order_by(Member.role, Member.id)
        .limit(200)
    )
    return [StoreMember(m.id, m.role, m.phone, m.status, m.created_at) for m in rows.all()]


async def live_tokens(
    session: AsyncSession, tenant_id: int, store: StoreView, now: datetime
) -> list[LiveToken]:
    """Binding codes of the store that still work: not revoked, not expired, staff ones unused."""
    rows = await session.scalars(
        select(BindToken)
        .where(
            BindToken.tenant_id == tenant_id,
            BindToken.core_store_id == store.core_id,
            BindToken.revoked_at.is_(None),
            or_(BindToken.expires_at.is_(None), BindToken.expires_at > now),
            or_(BindToken.kind == binding.OWNER_TOKEN, BindToken.used_at.is_(None)),
        )
        .order_by(BindToken.id.desc())
        .limit(50)
    )
    return [LiveToken(t.id, t.kind, t.created_by, t.created_at, t.expires_at) for t in rows.all()]


def parse_days(text: str) -> int:
    text = text.strip()
    if not _DAYS.match(text) or not 1 <= int(text) <= MAX_DAYS:
        raise StoreRefused("days", "days_invalid")
    return int(text)


def _token(text: str) -> str:
    try:
        return form_tokens.check(text)
    except form_tokens.TokenMissing:
        raise StoreRefused("token", "form_expired") from None


async def issue_owner_token(
    session: AsyncSession,
    who: audit.Who,
    store: StoreView,
    *,
    days: int,
    form_token: str,
    origin: audit.Origin,
    now: datetime,
) -> str | None:
    """A new owner binding token for the store; None when this form already made one."""
    if not await form_tokens.claim(
        session, who.tenant_id, _token(form_token), "store.qr", operator_id=who.operator_id, now=now
    ):
        return None
    token = await binding.create_token(
        session,
        who.tenant_id,
        binding.OWNER_TOKEN,
        store.core_id,
        created_by=f"console:{who.username}",
        ttl_seconds=days * 86400,
        now=now,
    )
    await audit.record(
        session,
        who,
        "store.qr",
        target_kind="store",
        target_id=store.code,
        after={"days": days, "core_store_id": store.core_id},
        origin=origin,
        now=now,
    )
    return token


async def revoke(
    session: AsyncSession,
    who: audit.Who,
    store: StoreView,
    *,
    form_token: str,
    origin: audit.Origin,
    now: datetime,
) -> int | None:
    """Revoke every live binding code of the store; how many, or None for a repeated form."""
    if not await form_tokens.claim(
        session, who.tenant_id, _token(form_token), "store.revoke", operator_id=who.operator_id, now=now
    ):
        return None
    count = await binding.revoke_tokens(session, who.tenant_id, store.core_id, now=now)
    await audit.record(
        session,
        who,
        "store.revoke",
        target_kind="store",
        target_id=store.code,
        after={"revoked": count, "core_store_id": store.core_id},
        origin=origin,
        now=now,
    )
    return count
