"""Queries on tenants and apps; each takes an AsyncSession."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore, utcnow
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
