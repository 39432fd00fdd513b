"""Scheduled analytics work (each fire guarded once across processes by the scheduler)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import structlog
from jinja2 import Environment
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.analytics import archive, links, partitions, sources
from bot.analytics.interface import ReportRef
from bot.analytics.models import AnalyticsEvent
from bot.analytics.report import last_full_week
from bot.analytics.rollups import local_day, rollup_day
from bot.analytics.runtime import AnalyticsRuntime
from bot.db import is_postgres, rowcount, session_scope
from bot.ports import PushNotifier
from bot.tenancy.models import Tenant

log = structlog.get_logger(__name__)


async def emit_server_events(sessions: async_sessionmaker[AsyncSession], runtime: AnalyticsRuntime) -> int:
    return await sources.emit_new(sessions, runtime.stream)


async def rollup_yesterday(sessions: async_sessionmaker[AsyncSession], *, now: datetime | None = None) -> int:
    day = local_day(now or datetime.now(UTC)) - timedelta(days=1)
    written = await rollup_day(sessions, day)
    log.info("analytics_rollup", day=day.isoformat(), rows=written)
    return written


async def rollup_today(sessions: async_sessionmaker[AsyncSession], *, now: datetime | None = None) -> int:
    return await rollup_day(sessions, local_day(now or datetime.now(UTC)))


async def maintain_storage(
    sessions: async_sessionmaker[AsyncSession], retention_days: int, *, now: datetime | None = None
) -> dict[str, object]:
    """Partitions three months ahead, whole months past the retention dropped, and older rows
    of the current months deleted (SQLite: the delete only)."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days)
    made: list[str] = []
    dropped: list[str] = []
    async with session_scope(sessions) as session:
        if is_postgres(session):
            connection = await session.connection()
            made = await connection.run_sync(lambda c: partitions.ensure_months(c, now.date(), 4))
            dropped = await connection.run_sync(lambda c: partitions.droppable(c, cutoff.date()))
            for name in dropped:
                await session.execute(text(f"DROP TABLE IF EXISTS {partitions.SCHEMA}.{name}"))
        result = await session.execute(delete(AnalyticsEvent).where(AnalyticsEvent.occurred_at < cutoff))
    summary = {"made": made, "dropped": dropped, "deleted": rowcount(result)}
    log.info("analytics_storage", **summary)
    return summary


async def weekly(
    sessions: async_sessionmaker[AsyncSession],
    runtime: AnalyticsRuntime,
    notifier: PushNotifier,
    texts: Environment,
    *,
    base_url: str,
    now: datetime | None = None,
) -> list[ReportRef]:
    """Monday 08:00: last week's reports for every tenant, region and distributor, archived and
    pushed to region managers and distributors."""
    now = now or datetime.now(UTC)
    week = last_full_week(now)
    async with session_scope(sessions) as session:
        tenants = list((await session.scalars(select(Tenant.id).order_by(Tenant.id))).all())
    refs = []
    for tenant_id in tenants:
        await archive.prepare_week(sessions, tenant_id, week, now)
        async with session_scope(sessions) as session:
            scopes = await archive.scopes_of(session, tenant_id)
        for scope in scopes:
            made = await archive.make_report(
                sessions, tenant_id, week, scope, archive=runtime.archive, now=now
            )
            refs.append(made.ref)
            if scope.kind != "tenant":
                tally = await archive.deliver(
                    sessions,
                    notifier,
                    texts,
                    made,
                    tenant_id,
                    link=partial(
                        report_link, base_url, made, secret=runtime.link_secret, now=now.timestamp()
                    ),
                )
                log.info("weekly_report_delivered", week=week, scope=scope.kind, code=scope.code, **tally)
    return refs


def report_link(base_url: str, made: archive.Made, member_id: int, *, secret: str, now: float) -> str:
    """The recipient's own link: signed for him and the report's scope, expiring (``links``)."""
    ref = made.ref
    grant = links.issue(
        secret,
        report_id=ref.report_id,
        tenant_id=made.figures.tenant_id,
        scope=ref.scope,
        code=ref.scope_code,
        member_id=member_id,
        now=now,
    )
    return f"{base_url.rstrip('/')}/r/report/{ref.token}?g={grant}"
