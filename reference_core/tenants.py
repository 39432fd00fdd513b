"""Tenants and API keys in the database (from the config at start-up, or from seed)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core.config import TenantConfig
from reference_core.db import insert_ignore
from reference_core.models import ApiKey, Tenant
from reference_core.runtime import hash_key


class KeyConflict(Exception):
    """An API key is already registered to another tenant."""


async def ensure_tenant(session: AsyncSession, slug: str, name: str = "") -> Tenant:
    await session.execute(
        insert_ignore(
            session, Tenant.__table__, {"slug": slug, "name": name or slug}, index_elements=["slug"]
        )
    )
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    assert tenant is not None
    return tenant


async def add_key(
    session: AsyncSession, tenant: Tenant, api_key: str, *, label: str = "", keep_plain: bool = False
) -> None:
    digest = hash_key(api_key)
    await session.execute(
        insert_ignore(
            session,
            ApiKey.__table__,
            {
                "tenant_id": tenant.id,
                "key_hash": digest,
                "label": label,
                "seed_key": api_key if keep_plain else None,
            },
            index_elements=["key_hash"],
        )
    )
    owner = await session.scalar(select(ApiKey.tenant_id).where(ApiKey.key_hash == digest))
    if owner != tenant.id:
        raise KeyConflict(f"an API key of tenant {tenant.slug} is already used by another tenant")


async def apply_config(session: AsyncSession, tenant_config: TenantConfig) -> Tenant:
    tenant = await ensure_tenant(session, tenant_config.slug, tenant_config.name)
    values: dict[str, str] = {}
    if tenant_config.name:
        values["name"] = tenant_config.name
    if tenant_config.webhook_url:
        values["webhook_url"] = tenant_config.webhook_url
        values["webhook_secret"] = tenant_config.webhook_secret
    if values:
        await session.execute(update(Tenant).where(Tenant.id == tenant.id).values(**values))
    for key in tenant_config.api_keys:
        await add_key(session, tenant, key, label="config")
    return tenant
