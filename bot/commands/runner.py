"""What the operator commands share: run an async command body on the runtime, find a tenant."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.config import Settings, settings_or_exit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    Runner = Callable[[Settings, async_sessionmaker[AsyncSession], argparse.Namespace], Awaitable[int]]


def run(runner: Runner) -> Callable[[argparse.Namespace], int]:
    """A subcommand's ``func``: settings (or exit 2), the runtime (bot.wiring), then ``runner``."""

    def command(args: argparse.Namespace) -> int:
        settings = settings_or_exit()

        async def main() -> int:
            from bot.wiring.runtime import open_runtime

            async with open_runtime(settings, redis_mode="require") as runtime:
                return await runner(settings, runtime.services.sessions, args)

        return asyncio.run(main())

    return command


async def tenant_of(sessions: async_sessionmaker[AsyncSession], slug: str | None) -> int:
    """The id of tenant ``slug`` (default: JIUBOT_TENANT_SLUG), or exit with the reason."""
    from bot.db import session_scope
    from bot.tenancy.repository import tenant_by_slug

    slug = slug or settings_or_exit().tenant_slug
    async with session_scope(sessions) as session:
        tenant = await tenant_by_slug(session, slug)
    if tenant is None:
        raise SystemExit(f"jiubot: no tenant {slug!r}")
    return tenant.id
