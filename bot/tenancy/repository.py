"""Queries on tenants and apps; each takes an AsyncSession."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore, utcnow
from bot.tenancy.cores import CoreConfig
from bot.tenancy.models import Tenant, WechatApp
from bot.tenancy.registry import AppConfig


async def get_or_create_tenant(session: AsyncSession, slug: str, name: str) -> Tenant:
    # Several workers start at once: insert-or-ignore, never check-then-insert.
    await session.execute(
        insert_ignore(
            session,
            Tenant.__table__,
            [{"slug": slug, "name": name, "created_at": utcnow()}],
            index_elements=["slug"],
        )
    )
    return (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one()


async def upsert_app(session: AsyncSession, tenant_id: int, appid: str, **values: object) -> WechatApp:
    now = utcnow()
    await session.execute(
        insert_ignore(
            session,
            WechatApp.__table__,
            [{"tenant_id": tenant_id, "appid": appid, "created_at": now, "updated_at": now}],
            index_elements=["appid"],
        )
    )
    app = (await session.execute(select(WechatApp).where(WechatApp.appid == appid))).scalar_one()
    if app.tenant_id != tenant_id:
        raise ValueError(f"app {appid} belongs to another tenant")
    for name, value in values.items():
        setattr(app, name, value)
    await session.flush()
    return app


async def list_apps(session: AsyncSession) -> list[AppConfig]:
    rows = (await session.execute(select(WechatApp).where(WechatApp.active.is_(True)))).scalars()
    return [
        AppConfig(
            tenant_id=r.tenant_id,
            appid=r.appid,
            kind=r.kind,
            token=r.token,
            mode=r.mode,
            secret=r.secret,
            aes_key=r.aes_key,
            prev_aes_key=r.prev_aes_key,
            original_id=r.original_id,
            name=r.name,
        )
        for r in rows
    ]


async def tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()


async def core_config(session: AsyncSession, tenant_id: int) -> CoreConfig | None:
    """The tenant's own core, or None when it uses the process-wide one."""
    row = (
        await session.execute(
            select(Tenant.core_url, Tenant.core_api_key, Tenant.core_webhook_secret).where(
                Tenant.id == tenant_id
            )
        )
    ).first()
    if row is None or not row.core_url:
        return None
    return CoreConfig(row.core_url, row.core_api_key, row.core_webhook_secret)


async def set_core(session: AsyncSession, tenant_id: int, config: CoreConfig | None) -> None:
    """Give the tenant its own core, or (None) put it back on the process-wide one."""
    tenant = (await session.execute(select(Tenant).where(Tenant.id == tenant_id))).scalar_one()
    tenant.core_url = config.url if config else ""
    tenant.core_api_key = config.api_key if config else ""
    tenant.core_webhook_secret = config.webhook_secret if config else ""
    await session.flush()


async def list_tenants(session: AsyncSession) -> list[Tenant]:
    return list((await session.execute(select(Tenant).order_by(Tenant.id))).scalars())
