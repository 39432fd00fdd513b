"""Queries and transitions of the outbound message log (``outbound_models``).

``claim`` is the idempotency gate: INSERT ... ON CONFLICT DO NOTHING on (appid, key), then a
conditional UPDATE that lets exactly one caller retry a message whose last try failed. Never
check-then-act: two workers pushing the same order notice both call ``claim``; one sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore, rowcount, utcnow
from bot.messaging.models import DeliveryReceipt
from bot.messaging.outbound_models import OutboundAttempt, OutboundMessage


@dataclass(frozen=True, slots=True)
class Claim:
    message_id: int
    owned: bool  # True: this caller sends; False: someone did or does
    status: str
    channel: str = "none"
    msgid: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    channel: str
    status: str  # sent, refused, failed, undeliverable
    reason: str = ""
    errcode: int | None = None
    errmsg: str = ""
    rid: str = ""
    msgid: str | None = None


async def claim(
    session: AsyncSession,
    *,
    tenant_id: int,
    appid: str,
    openid: str,
    member_id: int | None,
    key: str,
    purpose: str,
    kind: str,
    summary: str,
    now: datetime | None = None,
) -> Claim:
    now = now or utcnow()
    row = {
        "tenant_id": tenant_id,
        "member_id": member_id,
        "appid": appid,
        "openid": openid,
        "idempotency_key": key[:200],
        "purpose": purpose[:16],
        "kind": kind[:32],
        "summary": summary[:500],
        "status": "pending",
        "channel": "none",
        "reason": "",
        "rid": "",
        "attempts": 1,
        "created_at": now,
        "updated_at": now,
    }
    # RETURNING, not rowcount: psycopg reports rowcount -1 for INSERT ... ON CONFLICT DO NOTHING.
    inserted = await session.execute(
        insert_ignore(
            session, OutboundMessage.__table__, [row], index_elements=["appid", "idempotency_key"]
        ).returning(OutboundMessage.__table__.c.id)
    )
    new_id = inserted.scalar_one_or_none()
    if new_id is not None:
        return Claim(new_id, True, "pending")
    current = (
        await session.execute(
            select(
                OutboundMessage.id, OutboundMessage.status, OutboundMessage.channel, OutboundMessage.msgid
            ).where(OutboundMessage.appid == appid, OutboundMessage.idempotency_key == key[:200])
        )
    ).one()
    if current.status == "failed":
        retried = await session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == current.id, OutboundMessage.status == "failed")
            .values(status="pending", attempts=OutboundMessage.attempts + 1, updated_at=now)
        )
        if rowcount(retried):
            return Claim(current.id, True, "pending")
    return Claim(current.id, False, current.status, current.channel, current.msgid)


async def add_attempt(
    session: AsyncSession, tenant_id: int, appid: str, message_id: int, attempt: AttemptRecord
) -> None:
    session.add(
        OutboundAttempt(
            tenant_id=tenant_id,
            message_id=message_id,
            appid=appid,
            channel=attempt.channel,
            status=attempt.status,
            reason=attempt.reason[:128],
            errcode=attempt.errcode,
            errmsg=attempt.errmsg[:256],
            rid=attempt.rid[:64],
            msgid=attempt.msgid,
        )
    )
    await session.flush()


async def finish(
    session: AsyncSession,
    message_id: int,
    status: str,
    attempt: AttemptRecord,
    *,
    now: datetime | None = None,
) -> None:
    await session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message_id)
        .values(
            status=status,
            channel=attempt.channel,
            reason=attempt.reason[:128],
            errcode=attempt.errcode,
            rid=attempt.rid[:64],
            msgid=attempt.msgid,
            updated_at=now or utcnow(),
        )
    )


async def apply_receipt(session: AsyncSession, appid: str, msgid: str, status: str) -> int:
    """A TEMPLATESENDJOBFINISH / subscribe_msg_sent_event status for one of our sends; returns rows."""
    status = status[:64]
    await session.execute(
        update(OutboundAttempt)
        .where(OutboundAttempt.appid == appid, OutboundAttempt.msgid == msgid)
        .values(receipt_status=status)
    )
    result = await session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.appid == appid, OutboundMessage.msgid == msgid)
        .values(receipt_status=status, updated_at=utcnow())
    )
    return rowcount(result) or 0


async def receipt_for(session: AsyncSession, appid: str, msgid: str) -> str | None:
    """The status of a receipt that arrived before the send was logged (WeChat can be that fast)."""
    stmt = (
        select(DeliveryReceipt.status)
        .where(DeliveryReceipt.appid == appid, DeliveryReceipt.msgid == msgid)
        .order_by(DeliveryReceipt.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def message(session: AsyncSession, appid: str, key: str) -> OutboundMessage | None:
    stmt = select(OutboundMessage).where(
        OutboundMessage.appid == appid, OutboundMessage.idempotency_key == key
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def attempts(session: AsyncSession, message_id: int) -> list[OutboundAttempt]:
    stmt = (
        select(OutboundAttempt).where(OutboundAttempt.message_id == message_id).order_by(OutboundAttempt.id)
    )
    return list((await session.execute(stmt)).scalars())
