"""Bootstrapping the default tenant and its Official Account from settings."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.db import session_scope
from bot.tenancy import repository


async def ensure_default_tenant(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Create the default tenant and upsert the app configured by ``JIUBOT_OA_*``; return the tenant id."""
    async with session_scope(sessions) as session:
        tenant = await repository.get_or_create_tenant(session, settings.tenant_slug, settings.tenant_name)
        if settings.oa_appid:
            await repository.upsert_app(
                session,
                tenant.id,
                settings.oa_appid,
                kind="oa",
                secret=settings.oa_secret,
                token=settings.oa_token,
                aes_key=settings.oa_aes_key,
                prev_aes_key=settings.oa_prev_aes_key,
                mode=settings.oa_mode,
                original_id=settings.oa_original_id,
                active=True,
            )
        return tenant.id
