"""The analytics feature: behaviour events, rollups, sell-through and the weekly report.

Onto ``services``: ``analytics`` (``AnalyticsRuntime``: the event stream, the report archive).
A recorder adds a ``chat_turn`` event to every callback's finishing round trip; a worker writes
the stream into ``analytics_events``. Routes: ``POST /mp/api/events`` and the H5 report page.
Jobs: server-side events from the scan and order tables (every minute), the daily rollup,
partitions and retention, slow-moving alerts and the weekly report (Monday 08:00).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.wiring.feature import Runtime

if TYPE_CHECKING:
    from aiohttp import web

    from bot.messages import Inbound
    from bot.scheduler import Scheduler
    from bot.services import Services
    from bot.wechat.pipeline import CommandBatch

MIGRATIONS = Path(__file__).parent.parent / "analytics" / "migrations"


async def setup(runtime: Runtime) -> None:
    from bot.analytics.ingest import EventStream
    from bot.analytics.interface import Event
    from bot.analytics.runtime import AnalyticsRuntime

    services, settings = runtime.services, runtime.settings
    stream = EventStream(services.redis, runtime.mux, services.keys)
    services.analytics = AnalyticsRuntime(
        stream=stream,
        archive=Path(settings.report_archive_dir),
        link_secret=settings.secret_key,
        retention_days=settings.analytics_retention_days,
    )
    registry = services.registry

    def chat_turn(batch: CommandBatch, message: Inbound, member_id: int | None) -> None:
        if member_id is None or message.msg_type == "event":
            return
        app = next((a for a in registry.all() if a.appid == message.appid), None)
        if app is None:
            return
        event = Event(
            tenant_id=app.tenant_id,
            event_id=f"chat:{message.appid}:{message.dedupe_key}"[:96],
            name="chat_turn",
            occurred_at=message.create_time * 1000,
            member_id=member_id,
            props={"type": message.msg_type},
        )
        batch.execute_command(*stream.command([event]))

    runtime.recorders.append(chat_turn)
    runtime.workers.append(("analytics-writer", lambda stop: stream.run_writer(services.sessions, stop)))


def routes(app: web.Application) -> None:
    from bot.miniapp.routes import add_analytics_routes
    from bot.web import reports

    add_analytics_routes(app)
    reports.add_routes(app)


def jobs(scheduler: Scheduler, services: Services) -> None:
    from bot.analytics import jobs as analytics_jobs

    analytics = services.analytics
    if analytics is None:
        return
    sessions, tz = services.sessions, services.settings.timezone
    scheduler.every(
        "analytics-server-events", 60, lambda: analytics_jobs.emit_server_events(sessions, analytics)
    )
    # yesterday's rollup once a day; today's so far every hour (both replace their day)
    scheduler.cron(
        "analytics-rollup-yesterday",
        lambda: analytics_jobs.rollup_yesterday(sessions),
        hour=0,
        minute=20,
        timezone=tz,
    )
    scheduler.cron(
        "analytics-rollup-today", lambda: analytics_jobs.rollup_today(sessions), minute=5, timezone=tz
    )
    scheduler.cron(
        "analytics-storage",
        lambda: analytics_jobs.maintain_storage(sessions, analytics.retention_days),
        hour=3,
        minute=40,
        timezone=tz,
    )
    base_url = services.settings.public_base_url
    scheduler.cron(
        "analytics-weekly-report",
        lambda: analytics_jobs.weekly(
            sessions, analytics, services.notifier, services.texts, base_url=base_url
        ),
        day_of_week="mon",
        hour=8,
        minute=0,
        timezone=tz,
    )
