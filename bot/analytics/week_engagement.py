"""The weekly report's engagement counts kept by the content and automation domains: win-back
conversions, livestream reservations and attendance, content-attributed orders. Each is a range
count over the week on the domain's own table, scoped by the member it concerns."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.analytics.week_counts import WeekCounts
from bot.automation.models import Enrolment
from bot.content.models import ContentCredit, LiveDelivery, LiveReservation

WIN_BACK = "win-back"  # the journey's name (bot/automation/journeys/win-back.yaml)
ATTENDED = "click"  # a member opened the live's page (bot/content/live.mark)
ATTRIBUTED = ("order", "live_order")  # orders credited to a forwarder or to a live


async def win_back_conversions(w: WeekCounts) -> float:
    """Lapsed stores in the win-back journey's treatment arm that ordered again this week."""
    e = Enrolment
    return await w.scalar(
        select(func.count()).where(
            e.tenant_id == w.tenant_id,
            e.journey == WIN_BACK,
            e.arm == "treatment",
            e.converted_at >= w.start,
            e.converted_at < w.end,
            w.member_filter(e.member_id),
        )
    )


async def live_reservations(w: WeekCounts) -> float:
    r = LiveReservation
    return await w.scalar(
        select(func.count()).where(
            r.tenant_id == w.tenant_id,
            r.created_at >= w.start,
            r.created_at < w.end,
            w.member_filter(r.member_id),
        )
    )


async def live_attendance(w: WeekCounts) -> float:
    d = LiveDelivery
    return await w.scalar(
        select(func.count()).where(
            d.tenant_id == w.tenant_id,
            d.kind == ATTENDED,
            d.created_at >= w.start,
            d.created_at < w.end,
            w.member_filter(d.member_id),
        )
    )


async def content_orders(w: WeekCounts) -> float:
    """Orders credited to content (a forwarder's share, or a live) placed this week."""
    c = ContentCredit
    return await w.scalar(
        select(func.count()).where(
            c.tenant_id == w.tenant_id,
            c.kind.in_(ATTRIBUTED),
            c.happened_at >= w.start,
            c.happened_at < w.end,
            w.member_filter(c.viewer_id),
        )
    )
