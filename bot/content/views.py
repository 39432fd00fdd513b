"""Views of share pages and their reading times: the rules, applied to a batch.

The share page appends a view to a Redis stream (``view_stream``) and a writer stores batches
here; ``record_view`` stores one directly (tests, commands). Either way one function applies the
rules:

* a view is stored once per ``ref`` (the random key the page gave it): an entry stored twice
  after a crash, or a batch retried, is one view;
* a self-view (the forwarder opening his own link) is stored but not counted (reason "self");
* a counted viewer is one row per (share, viewer, day in Asia/Shanghai) in
  ``content_daily_viewers`` and starts his touch on the share (first view wins: the touch is
  unique per (share, viewer), so later views do not move his window);
* a view of a share revoked before the view is not stored;
* a reading time longer than the page had been open (plus 5 s of slack) or over 3 hours marks the
  view's reading time invalid; otherwise the longest is kept (a replayed beacon changes nothing).

Bots and link previews never reach this module: the page counts only people signed in through
WeChat's OAuth inside WeChat's browser.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.attribution import share_for
from bot.content.interface import Share, ViewResult
from bot.content.models import ContentDailyViewer, ContentShare, ContentTouch, ContentView
from bot.db import insert_ignore_statement, utcnow

log = structlog.get_logger(__name__)
TZ = ZoneInfo("Asia/Shanghai")
MAX_READ_SECONDS = 3 * 3600
READ_SLACK_SECONDS = 5


def new_ref() -> str:
    return secrets.token_urlsafe(12)


@dataclass(frozen=True, slots=True)
class ViewEvent:
    ref: str
    tenant_id: int
    share_id: int
    forwarder_id: int
    viewer_id: int
    at: datetime
    radar: bool = False  # the page claimed this share's live notice for the minute


@dataclass(frozen=True, slots=True)
class ReadEvent:
    ref: str
    viewer_id: int
    seconds: int
    at: datetime
    attempt: int = 0  # how many times it came back because its view was not stored yet


@dataclass(frozen=True, slots=True)
class Opened:
    """A counted view the forwarder is to hear about now (the radar's live notice)."""

    view_id: int
    tenant_id: int
    share_id: int
    forwarder_id: int


@dataclass(frozen=True, slots=True)
class Stored:
    opened: list[Opened]  # the radar's views
    waiting: list[ReadEvent]  # reads whose view is not stored yet (another writer holds it)


async def store(session: AsyncSession, views: Sequence[ViewEvent], reads: Sequence[ReadEvent]) -> Stored:
    """Apply a batch (views before the reads that may name them)."""
    opened = await _store_views(session, views) if views else []
    waiting = await _store_reads(session, reads) if reads else []
    return Stored(opened, waiting)


async def _store_views(session: AsyncSession, views: Sequence[ViewEvent]) -> list[Opened]:
    shares = {v.share_id for v in views}
    found = await session.execute(
        select(ContentShare.id, ContentShare.revoked_at).where(
            ContentShare.id.in_(shares), ContentShare.revoked_at.is_not(None)
        )
    )
    revoked = {share_id: at for share_id, at in found.all() if at is not None}
    kept = [v for v in views if v.share_id not in revoked or v.at < revoked[v.share_id]]
    if not kept:
        return []
    rows = [
        {
            "tenant_id": v.tenant_id, "share_id": v.share_id, "viewer_id": v.viewer_id, "ref": v.ref,
            "counted": v.viewer_id != v.forwarder_id,
            "reason": "self" if v.viewer_id == v.forwarder_id else "",
            "opened_at": v.at, "read_seconds": 0, "read_valid": True, "notified": "",
        }
        for v in kept
    ]  # fmt: skip
    await session.execute(
        insert_ignore_statement(session, ContentView.__table__, index_elements=["ref"]), rows
    )
    counted = [v for v in kept if v.viewer_id != v.forwarder_id]
    if not counted:
        return []
    daily = [
        {
            "tenant_id": v.tenant_id,
            "share_id": v.share_id,
            "viewer_id": v.viewer_id,
            "day": v.at.astimezone(TZ).date(),
        }
        for v in counted
    ]
    await session.execute(
        insert_ignore_statement(
            session, ContentDailyViewer.__table__, index_elements=["share_id", "viewer_id", "day"]
        ),
        daily,
    )
    touches = [
        {
            "tenant_id": v.tenant_id, "share_id": v.share_id, "viewer_id": v.viewer_id,
            "forwarder_id": v.forwarder_id, "first_at": v.at,
        }
        for v in counted
    ]  # fmt: skip
    await session.execute(
        insert_ignore_statement(session, ContentTouch.__table__, index_elements=["share_id", "viewer_id"]),
        touches,
    )
    radar = {v.ref: v for v in counted if v.radar}
    if not radar:
        return []
    stored = await session.execute(
        select(ContentView.id, ContentView.ref).where(
            ContentView.ref.in_(list(radar)), ContentView.notified == ""
        )
    )
    return [
        Opened(view_id, radar[ref].tenant_id, radar[ref].share_id, radar[ref].forwarder_id)
        for view_id, ref in stored.all()
        if ref is not None
    ]


async def _store_reads(session: AsyncSession, reads: Sequence[ReadEvent]) -> list[ReadEvent]:
    refs = list({r.ref for r in reads})
    found = await session.execute(
        select(ContentView.id, ContentView.ref, ContentView.viewer_id, ContentView.opened_at).where(
            ContentView.ref.in_(refs)
        )
    )
    by_ref = {ref: (view_id, viewer, opened) for view_id, ref, viewer, opened in found.all()}
    waiting: list[ReadEvent] = []
    for read in reads:
        view = by_ref.get(read.ref)
        if view is None:
            waiting.append(read)
        elif view[1] != read.viewer_id:
            log.info("content_read_dropped", reason="not_his_view")
        else:
            await _apply_read(session, view[0], view[2], read.seconds, read.at)
    return waiting


async def _apply_read(
    session: AsyncSession, view_id: int, opened_at: datetime, seconds: int, at: datetime
) -> None:
    open_for = (at - opened_at).total_seconds()
    if seconds < 0 or seconds > MAX_READ_SECONDS or seconds > open_for + READ_SLACK_SECONDS:
        await session.execute(
            update(ContentView)
            .where(ContentView.id == view_id)
            .values(read_valid=False)
            .execution_options(synchronize_session=False)
        )
        return
    await session.execute(
        update(ContentView)
        .where(ContentView.id == view_id, ContentView.read_seconds < seconds)
        .values(read_seconds=seconds)
        .execution_options(synchronize_session=False)
    )


async def record_view(
    session: AsyncSession, share: Share, viewer_id: int, *, now: datetime | None = None
) -> ViewResult:
    """One open of ``share`` by ``viewer_id``, stored now (the page goes through the stream)."""
    now = now or utcnow()
    if share.revoked:
        return ViewResult(0, False, "revoked", False, None)
    own = viewer_id == share.forwarder_id
    seen_today = (
        await session.execute(
            select(ContentDailyViewer.id).where(
                ContentDailyViewer.share_id == share.id,
                ContentDailyViewer.viewer_id == viewer_id,
                ContentDailyViewer.day == now.astimezone(TZ).date(),
            )
        )
    ).first()
    ref = new_ref()
    await store(session, [ViewEvent(ref, share.tenant_id, share.id, share.forwarder_id, viewer_id, now)], [])
    view_id = (await session.execute(select(ContentView.id).where(ContentView.ref == ref))).scalar_one()
    if own:
        return ViewResult(view_id, False, "self", False, share)
    mine = await share_for(session, share.tenant_id, share.item_id, viewer_id, parent=share, now=now)
    return ViewResult(view_id, True, "", seen_today is None, mine)


async def record_read(
    session: AsyncSession, view_id: int, viewer_id: int, seconds: int, *, now: datetime | None = None
) -> bool:
    """A reading time for a view stored earlier; False when the view is not this viewer's."""
    view = await session.get(ContentView, view_id)
    if view is None or view.viewer_id != viewer_id:
        return False
    await _apply_read(session, view_id, view.opened_at, seconds, now or utcnow())
    return True
