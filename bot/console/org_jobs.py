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
from bot.tenancy.repository import list_tenants, tenant_by_slug

log = structlog.get_logger(__name__)


async def core_client(services: Services, tenant_id: int) -> CoreClient | None:
    """The tenant's core client (its own, or the process-wide default), when one is configured."""
    return await services.cores.client(tenant_id)


async def sync_configured_tenant(services: Services) -> SyncResult | None:
    """Sync the process's tenant (``settings.tenant_slug``) from its core."""
    async with session_scope(services.sessions) as session:
        tenant = await tenant_by_slug(session, services.settings.tenant_slug)
    if tenant is None:
        log.warning("org_sync_skipped", reason="no tenant", slug=services.settings.tenant_slug)
        return None
    return await sync_tenant(services, tenant.id)


async def sync_tenant(services: Services, tenant_id: int) -> SyncResult | None:
    client = await core_client(services, tenant_id)
    if client is None:
        log.info("org_sync_skipped", reason="core not configured", tenant=tenant_id)
        return None
    return await sync_org(services.sessions, client, tenant_id)


async def sync_all(services: Services) -> dict[int, SyncResult | None]:
    """The process's tenant, and every tenant with a core of its own, each from its core; one
    tenant's failure stops no other. The result of each tenant synced (None: it failed)."""
    async with session_scope(services.sessions) as session:
        tenants = [(t.id, t.slug) for t in await list_tenants(session)]
    results: dict[int, SyncResult | None] = {}
    for tenant_id, slug in tenants:
        config = await services.cores.config(tenant_id)
        if slug != services.settings.tenant_slug and (config is None or not config.own):
            continue  # another tenant on the default core: that core's org is not its own
        try:
            results[tenant_id] = await sync_tenant(services, tenant_id)
        except Exception:
            results[tenant_id] = None
            log.exception("org_sync_failed", tenant=tenant_id)
    return results


def register_jobs(scheduler: Scheduler, services: Services) -> None:
    scheduler.cron("console-org-sync", lambda: sync_all(services), minute=7)
