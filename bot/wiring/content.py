"""The content feature: library, share pages, attribution, radar, livestreams.

Onto ``services``: ``content`` (``ContentRuntime``: media storage, token key, reward rules, the
view stream). Worker: the view writer (share-page views into the database, the radar's notice).
Listens to ``services.hooks``: a follow, a credited scan, a claimed coupon or a placed order is
credited to the forwarder at once. Routes: the H5 share/poster/library/live pages and the
mini-program content API. Jobs: the attribution sweep (every 15 minutes, the safety net for a
lost hook, and live orders), livestream reminders (every minute, T-15), the radar digest (every
30 minutes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.wiring.feature import Runtime

SWEEP_SECONDS = 900  # the safety net only: credits are made at the events (bot/content/crediting.py)

if TYPE_CHECKING:
    from aiohttp import web

    from bot.scheduler import Scheduler
    from bot.services import Services


async def setup(runtime: Runtime) -> None:
    from bot.content import crediting, radar
    from bot.content.runtime import ContentRuntime
    from bot.content.view_stream import ViewStream
    from bot.content.views import Opened
    from bot.db import session_scope
    from bot.hooks import Happened

    services = runtime.services
    services.content = ContentRuntime.from_settings(runtime.settings)

    def oa_appid_of(tenant_id: int) -> str | None:
        apps = services.registry.all()
        return next((a.appid for a in apps if a.kind == "oa" and a.tenant_id == tenant_id), None)

    async def announce(opened: list[Opened]) -> None:
        await radar.announce(services.sessions, services.notifier, services.text, oa_appid_of, opened)

    async def credit_at_once(happened: Happened) -> None:
        content = services.content
        if content is None:
            return
        async with session_scope(services.sessions) as session:
            await crediting.on_happened(session, happened, content.rewards(happened.tenant_id))

    services.hooks.listen(credit_at_once)
    stream = ViewStream(services.redis, runtime.mux, services.keys, announce=announce)
    services.content.views = stream
    runtime.workers.append(("content-view-writer", lambda stop: stream.run_writer(services.sessions, stop)))


def routes(app: web.Application) -> None:
    from bot.miniapp import content as mp_content
    from bot.web import content_pages

    app.router.add_routes(content_pages.routes)
    app.router.add_routes(mp_content.routes)


def _oa_appid(services: Services) -> str:
    return next((a.appid for a in services.registry.all() if a.kind == "oa"), services.settings.oa_appid)


def jobs(scheduler: Scheduler, services: Services) -> None:
    from bot.content import jobs as content_jobs

    content = services.content
    if content is None:
        return

    async def sweep() -> None:
        await content_jobs.sweep_all(services.sessions, content)

    async def remind() -> None:
        await content_jobs.remind(
            services.sessions,
            services.notifier,
            content,
            oa_appid=_oa_appid(services),
            base_url=services.settings.public_base_url,
            render=services.text,
        )

    async def digest() -> None:
        await content_jobs.digest(
            services.sessions, services.notifier, oa_appid=_oa_appid(services), render=services.text
        )

    scheduler.every("content-sweep", SWEEP_SECONDS, sweep)
    scheduler.every("content-live-reminders", 60, remind)
    scheduler.every("content-radar-digest", 1800, digest)
