"""The scheduled org sync: every hour at :07 (Asia/Shanghai clock of the scheduler), guarded so one
process of many runs it. The lead wires it as the console feature's ``jobs``:
``Feature("console", ..., jobs=org_jobs.register_jobs)``."""

from __future__ import annotations

import structlog

from backend_client import CoreClient
from bot.console.org import SyncResult, sync_org
from bot.db import session_scope
from bot.scheduler import Scheduler
from bot.services import Services
from bot.tenancy.repository import tenant_by_slug

log = structlog.get_logger(__name__)


def core_client(services: Services) -> CoreClient | None:
    """The process's core client, when one is configured."""
    return services.core


async def sync_configured_tenant(services: Services) -> SyncResult | None:
    """Sync the tenant the core's API key belongs to (``settings.tenant_slug``)."""
    client = core_client(services)
    if client is None:
        log.info("org_sync_skipped", reason="core not configured")
        return None
    async with session_scope(services.sessions) as session:
        tenant = await tenant_by_slug(session, services.settings.tenant_slug)
    if tenant is None:
        log.warning("org_sync_skipped", reason="no tenant", slug=services.settings.tenant_slug)
        return None
    return await sync_org(services.sessions, client, tenant.id)


def register_jobs(scheduler: Scheduler, services: Services) -> None:
    scheduler.cron("console-org-sync", lambda: sync_configured_tenant(services), minute=7)
