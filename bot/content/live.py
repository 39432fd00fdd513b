"""Livestreams: schedule, reservations (with their inviter), T-15 reminders, replay, figures.

Reminders and replays are rows of ``content_live_deliveries``, unique on (live, member, kind):
a worker claims a batch by inserting them (``INSERT ... ON CONFLICT DO NOTHING RETURNING``
answers only the rows it inserted), then sends each and records ``sent`` or ``unreachable``
(no customer-service window and no 开播提醒 credit). A claimed row is never sent twice, even by
another process or after a crash (at most once; a crash leaves it ``claimed``, visible in the
figures). The channel is the notifier's lawful choice for marketing: customer service inside
the 48-hour window, else a subscribe-message credit the member granted; never a template.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content.errors import NotAllowed
from bot.content.interface import Live
from bot.content.models import ContentCredit, LiveDelivery, LiveReservation, Livestream
from bot.db import insert_ignore, is_postgres, session_scope, utcnow
from bot.membership.models import Member, MemberIdentity
from bot.ports import Purpose, PushNotifier, Recipient, SubscribeMessage

REMIND_BEFORE = timedelta(minutes=15)
REMIND_GRACE = timedelta(minutes=20)  # a reminder is pointless once the show has run a while
BATCH = 200
SENDERS = 16


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in (p.strip() for p in value.split(",")) if v)


def to_live(row: Livestream) -> Live:
    return Live(
        row.id,
        row.tenant_id,
        row.title,
        row.host,
        row.starts_at,
        row.room,
        _split(row.products),
        _split(row.audience),
        row.replay_url,
        row.order_hours,
        row.state,
    )


async def schedule(
    session: AsyncSession,
    tenant_id: int,
    *,
    title: str,
    starts_at: datetime,
    host: str = "",
    room: str = "",
    products: Sequence[str] = (),
    audience: Sequence[str] = (),
    order_hours: int = 24,
) -> Live:
    if starts_at.tzinfo is None:
        raise NotAllowed("naive_time")
    if not title.strip():
        raise NotAllowed("bad_title")
    row = Livestream(
        tenant_id=tenant_id,
        title=title.strip()[:64],
        host=host,
        starts_at=starts_at,
        room=room,
        products=",".join(products),
        audience=",".join(audience),
        order_hours=order_hours,
    )
    session.add(row)
    await session.flush()
    return to_live(row)


async def get(session: AsyncSession, tenant_id: int, live_id: int) -> Live | None:
    row = await session.get(Livestream, live_id)
    return to_live(row) if row is not None and row.tenant_id == tenant_id else None


async def upcoming(session: AsyncSession, tenant_id: int, now: datetime, limit: int = 5) -> list[Live]:
    stmt = (
        select(Livestream)
        .where(
            Livestream.tenant_id == tenant_id,
            Livestream.state == "scheduled",
            Livestream.starts_at > now - REMIND_GRACE,
        )
        .order_by(Livestream.starts_at)
        .limit(limit)
    )
    return [to_live(r) for r in (await session.execute(stmt)).scalars()]


async def reserve(
    session: AsyncSession,
    live: Live,
    member_id: int,
    *,
    inviter_id: int | None = None,
    channel: str = "h5",
    now: datetime | None = None,
) -> bool:
    """Record a reservation (once per member); True when it is new."""
    if live.state != "scheduled":
        raise NotAllowed("live_not_open")
    done = await session.execute(
        insert_ignore(
            session,
            LiveReservation.__table__,
            [
                {
                    "tenant_id": live.tenant_id,
                    "live_id": live.id,
                    "member_id": member_id,
                    "inviter_id": inviter_id if inviter_id != member_id else None,
                    "channel": channel,
                    "created_at": now or utcnow(),
                }
            ],
            index_elements=["live_id", "member_id"],
        ).returning(LiveReservation.__table__.c.id)
    )
    return done.first() is not None


async def mark(session: AsyncSession, live: Live, member_id: int, kind: str) -> bool:
    """A fact of one member about a live, once (kind click: he opened the live page)."""
    done = await session.execute(
        insert_ignore(
            session,
            LiveDelivery.__table__,
            [
                {
                    "tenant_id": live.tenant_id,
                    "live_id": live.id,
                    "member_id": member_id,
                    "kind": kind,
                    "state": "sent",
                    "created_at": utcnow(),
                }
            ],
            index_elements=["live_id", "member_id", "kind"],
        ).returning(LiveDelivery.__table__.c.id)
    )
    return done.first() is not None


def _audience(live: Live) -> Select[Any]:
    """Members an invitation goes to: active, not opted out of pushes, of the live's audience
    (roles or tiers; empty = every member)."""
    stmt = select(Member.id.label("member_id")).where(
        Member.tenant_id == live.tenant_id, Member.status == "active", Member.push_opt_out.is_(False)
    )
    if live.audience:
        stmt = stmt.where(or_(Member.role.in_(live.audience), Member.tier.in_(live.audience)))
    return stmt


def _reservants(live: Live) -> Select[Any]:
    return select(LiveReservation.member_id.label("member_id")).where(LiveReservation.live_id == live.id)


async def _claim(
    sessions: async_sessionmaker[AsyncSession], live: Live, kind: str, now: datetime, appid: str
) -> list[tuple[int, str, str]]:
    """Claim up to BATCH recipients (reservants; the audience for ``invite``) without a ``kind``
    row: (member, appid, openid) of each."""
    source = (_audience(live) if kind == "invite" else _reservants(live)).subquery()
    async with session_scope(sessions) as session:
        pending = (
            select(source.c.member_id)
            .where(
                ~select(LiveDelivery.id)
                .where(
                    LiveDelivery.live_id == live.id,
                    LiveDelivery.member_id == source.c.member_id,
                    LiveDelivery.kind == kind,
                )
                .exists()
            )
            .order_by(source.c.member_id)
            .limit(BATCH)
        )
        members = list((await session.execute(pending)).scalars())
        if not members:
            return []
        rows = [
            {
                "tenant_id": live.tenant_id,
                "live_id": live.id,
                "member_id": m,
                "kind": kind,
                "state": "claimed",
                "created_at": now,
            }
            for m in members
        ]
        stmt = insert_ignore(
            session, LiveDelivery.__table__, rows, index_elements=["live_id", "member_id", "kind"]
        ).returning(LiveDelivery.__table__.c.member_id)
        mine = set((await session.execute(stmt)).scalars())
        identities = await session.execute(
            select(MemberIdentity.member_id, MemberIdentity.appid, MemberIdentity.openid).where(
                MemberIdentity.member_id.in_(mine), MemberIdentity.appid == appid
            )
        )
        found: dict[int, tuple[str, str]] = {}
        for member_id, appid, openid in identities.all():
            found.setdefault(member_id, (appid, openid))
    return [(m, *found.get(m, ("", ""))) for m in sorted(mine)]


@dataclass(frozen=True)
class PushPlan:
    kind: str  # reminder | replay
    text: str
    subscribe_template: str  # the 开播提醒 subscribe template ("" = customer service only)
    page: str
    oa_appid: str


async def push(
    sessions: async_sessionmaker[AsyncSession],
    notifier: PushNotifier,
    live: Live,
    plan: PushPlan,
    *,
    now: datetime | None = None,
) -> dict[str, int]:
    """Send ``plan`` to every reservant once; the counts of this run by final state."""
    now = now or utcnow()
    counts = {"sent": 0, "unreachable": 0}
    async with sessions() as probe:  # SQLite takes one writer at a time: fewer concurrent sends
        gate = asyncio.Semaphore(SENDERS if is_postgres(probe) else 2)

    async def one(member_id: int, appid: str, openid: str) -> None:
        async with gate:
            state, channel, reason = "unreachable", "", "no_identity"
            if openid:
                subscribe = (
                    SubscribeMessage.of(
                        plan.subscribe_template,
                        {"thing1": live.title[:20], "time2": live.starts_at.strftime("%Y-%m-%d %H:%M")},
                        page=plan.page,
                    )
                    if plan.subscribe_template
                    else None
                )
                delivery = await notifier.notify(
                    Recipient(appid, openid, member_id),
                    Purpose.MARKETING,
                    key=f"live:{live.id}:{plan.kind}:{member_id}",
                    text=plan.text,
                    subscribe=subscribe,
                )
                channel, reason = delivery.channel, delivery.reason
                state = "sent" if delivery.delivered else "unreachable"
            counts[state] += 1
            outcomes.setdefault((state, channel[:16], reason[:128]), []).append(member_id)

    while True:
        batch = await _claim(sessions, live, plan.kind, now, plan.oa_appid)
        if not batch:
            return counts
        outcomes: dict[tuple[str, str, str], list[int]] = {}
        await asyncio.gather(*(one(*entry) for entry in batch))
        async with session_scope(sessions) as session:  # one write per outcome, not per member
            for (state, channel, reason), member_ids in outcomes.items():
                await session.execute(
                    update(LiveDelivery)
                    .where(
                        LiveDelivery.live_id == live.id,
                        LiveDelivery.member_id.in_(member_ids),
                        LiveDelivery.kind == plan.kind,
                    )
                    .values(state=state, channel=channel, reason=reason)
                    .execution_options(synchronize_session=False)
                )


async def recent(session: AsyncSession, now: datetime, days: int = 3) -> list[Live]:
    """Lives that started within ``days`` (their order windows may still be open)."""
    stmt = select(Livestream).where(
        Livestream.starts_at <= now,
        Livestream.starts_at > now - timedelta(days=days),
        Livestream.state != "cancelled",
    )
    return [to_live(r) for r in (await session.execute(stmt)).scalars()]


async def due_for_reminder(session: AsyncSession, now: datetime) -> list[Live]:
    stmt = select(Livestream).where(
        Livestream.state == "scheduled",
        Livestream.starts_at <= now + REMIND_BEFORE,
        Livestream.starts_at > now - REMIND_GRACE,
    )
    return [to_live(r) for r in (await session.execute(stmt)).scalars()]


async def end(session: AsyncSession, tenant_id: int, live_id: int, replay_url: str = "") -> Live:
    await session.execute(
        update(Livestream)
        .where(Livestream.id == live_id, Livestream.tenant_id == tenant_id)
        .values(state="ended", replay_url=replay_url)
        .execution_options(synchronize_session=False)
    )
    row = await session.get(Livestream, live_id, populate_existing=True)
    if row is None:
        raise NotAllowed("no_live")
    return to_live(row)


async def credit_orders(session: AsyncSession, live: Live, now: datetime | None = None) -> int:
    """Orders with a featured product by a reservant within ``order_hours`` of the start:
    credited to the live (kind live_order, once per order). Returns how many were new."""
    from bot.ordering.models import OrderIntent

    until = live.starts_at + timedelta(hours=live.order_hours)
    reservants = select(LiveReservation.member_id).where(LiveReservation.live_id == live.id).scalar_subquery()
    stmt = select(
        OrderIntent.member_id, OrderIntent.order_id, OrderIntent.created_at, OrderIntent.body
    ).where(
        OrderIntent.tenant_id == live.tenant_id,
        OrderIntent.status == "placed",
        OrderIntent.order_id.is_not(None),
        OrderIntent.member_id.in_(reservants),
        OrderIntent.created_at >= live.starts_at,
        OrderIntent.created_at <= until,
    )
    new = 0
    for member_id, order_id, at, body in (await session.execute(stmt)).all():
        if live.products and not any(sku in (body or "") for sku in live.products):
            continue
        done = await session.execute(
            insert_ignore(
                session,
                ContentCredit.__table__,
                [
                    {
                        "tenant_id": live.tenant_id,
                        "kind": "live_order",
                        "subject": f"o{order_id}",
                        "live_id": live.id,
                        "viewer_id": member_id,
                        "points": 0,
                        "happened_at": at,
                        "created_at": now or utcnow(),
                    }
                ],
                index_elements=["tenant_id", "kind", "subject"],
            ).returning(ContentCredit.__table__.c.id)
        )
        new += int(done.first() is not None)
    return new


async def figures(session: AsyncSession, live: Live) -> dict[str, int]:
    """invited, reserved, reminded, unreachable, clicked, ordered."""

    async def count(kind: str, state: str = "sent") -> int:
        stmt = select(func.count()).where(
            LiveDelivery.live_id == live.id, LiveDelivery.kind == kind, LiveDelivery.state == state
        )
        return int((await session.execute(stmt)).scalar_one())

    reserved = select(func.count()).where(LiveReservation.live_id == live.id)
    ordered = select(func.count()).where(ContentCredit.live_id == live.id, ContentCredit.kind == "live_order")
    return {
        "invited": await count("invite"),
        "reserved": int((await session.execute(reserved)).scalar_one()),
        "reminded": await count("reminder"),
        "unreachable": await count("reminder", "unreachable"),
        "clicked": await count("click"),
        "ordered": int((await session.execute(ordered)).scalar_one()),
    }
