"""Server-side events of the domains below analytics (they cannot import it): coupon claims,
content forwards, share-page views and journey steps, read from the rows those domains already
write and emitted through the one ``emit`` API by the minute job, so their request paths stay untouched.

Each source is read after its cursor; a row that is not final yet (a claim still ``pending``,
a step not finished) holds the cursor at it until it settles, or for at most ``STUCK`` (a row
abandoned by a crash must not hold the cursor for ever). Rows just below the cursor that
committed late (ids of concurrent transactions commit out of order) are read again for
``RECENT``. Event ids are the cause (``coupon:<claim>``, ``forward:<share>``,
``journey_step:<run>``): a row emitted twice is stored once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.analytics.interface import Event
from bot.automation.models import Enrolment, StepRun
from bot.content.models import ContentShare, ContentView
from bot.membership.models import Store
from bot.membership.reward_models import CouponClaim

RECENT = timedelta(minutes=5)
STUCK = timedelta(days=1)
LOOKBACK_IDS = 1000  # how far below the cursor a late commit is looked for


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Read:
    events: list[Event]
    cursor: int  # where the source's cursor may move


def _window(id_col: Any, time_col: Any, cursor: int, now: datetime) -> Any:
    return or_(
        id_col > cursor,
        and_(id_col > cursor - LOOKBACK_IDS, time_col >= now - RECENT),
    )


def _advance(rows: Sequence[tuple[int, datetime, bool]], cursor: int, now: datetime) -> int:
    """The highest id of the rows after ``cursor`` up to the first one not final yet."""
    for row_id, at, final in sorted(r for r in rows if r[0] > cursor):
        if not final and at >= now - STUCK:
            break
        cursor = row_id
    return cursor


async def coupon_claims(session: AsyncSession, cursor: int, now: datetime, limit: int) -> Read:
    c = CouponClaim
    rows = (
        await session.execute(
            select(c, Store.id, Store.region_code, Store.distributor_code)
            .outerjoin(Store, (Store.tenant_id == c.tenant_id) & (Store.code == c.store_code))
            .where(_window(c.id, c.claimed_at, cursor, now))
            .order_by(c.id)
            .limit(limit)
        )
    ).all()
    events = [
        Event(
            claim.tenant_id,
            f"coupon:{claim.id}",
            "coupon_claimed",
            _ms(claim.claimed_at),
            member_id=claim.member_id,
            store_id=store_id,
            region_code=region or "",
            distributor_code=distributor or "",
            props={"campaign": claim.campaign[:64], "source": claim.source},
        )
        for claim, store_id, region, distributor in rows
        if claim.status == "claimed"
    ]
    seen = [(claim.id, claim.claimed_at, claim.status != "pending") for claim, *_ in rows]
    return Read(events, _advance(seen, cursor, now))


async def forwards(session: AsyncSession, cursor: int, now: datetime, limit: int) -> Read:
    s = ContentShare
    rows = (
        await session.scalars(
            select(s).where(_window(s.id, s.created_at, cursor, now)).order_by(s.id).limit(limit)
        )
    ).all()
    events = [
        Event(
            share.tenant_id,
            f"forward:{share.id}",
            "forward",
            _ms(share.created_at),
            member_id=share.forwarder_id,
            props={"item": share.item_id, "depth": share.depth},
        )
        for share in rows
    ]
    return Read(events, _advance([(s.id, s.created_at, True) for s in rows], cursor, now))


async def share_views(session: AsyncSession, cursor: int, now: datetime, limit: int) -> Read:
    """Opens of forwarded share pages (H5), counted ones only (a forwarder's own view is not)."""
    v, s = ContentView, ContentShare
    rows = (
        await session.execute(
            select(v, s.item_id)
            .join(s, s.id == v.share_id)
            .where(_window(v.id, v.opened_at, cursor, now))
            .order_by(v.id)
            .limit(limit)
        )
    ).all()
    events = [
        Event(
            view.tenant_id,
            f"content_view:{view.id}",
            "content_view",
            _ms(view.opened_at),
            member_id=view.viewer_id,
            props={"item": item_id, "share": view.share_id},
        )
        for view, item_id in rows
        if view.counted
    ]
    return Read(events, _advance([(view.id, view.opened_at, True) for view, _ in rows], cursor, now))


async def journey_steps(session: AsyncSession, cursor: int, now: datetime, limit: int) -> Read:
    r, e = StepRun, Enrolment
    rows = (
        await session.execute(
            select(r, e.tenant_id, e.journey, e.member_id, e.arm)
            .join(e, e.id == r.enrolment_id)
            .where(_window(r.id, r.started_at, cursor, now))
            .order_by(r.id)
            .limit(limit)
        )
    ).all()
    events = [
        Event(
            tenant_id,
            f"journey_step:{run.id}",
            "journey_step",
            _ms(run.finished_at),
            member_id=member_id,
            props={
                "journey": journey[:64],
                "step": run.step[:64],
                "kind": run.kind,
                "status": run.status,
                "arm": arm,
            },
        )
        for run, tenant_id, journey, member_id, arm in rows
        if run.finished_at is not None
    ]
    seen = [(run.id, run.started_at, run.finished_at is not None) for run, *_ in rows]
    return Read(events, _advance(seen, cursor, now))


# (cursor name, reader)
SOURCES: tuple[tuple[str, Callable[[AsyncSession, int, datetime, int], Any]], ...] = (
    ("coupon_claims", coupon_claims),
    ("content_shares", forwards),
    ("content_views", share_views),
    ("journey_steps", journey_steps),
)
