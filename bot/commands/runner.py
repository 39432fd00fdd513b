"""What the operator commands share: run an async command body on the runtime, find a tenant."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from bot.config import Settings, settings_or_exit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.wiring.feature import Feature, Runtime

    Runner = Callable[[Settings, async_sessionmaker[AsyncSession], argparse.Namespace], Awaitable[int]]
    RuntimeRunner = Callable[[Runtime, argparse.Namespace], Awaitable[int]]


def run_on(
    runner: RuntimeRunner, features: Sequence[Feature] | None = None
) -> Callable[[argparse.Namespace], int]:
    """A subcommand's ``func`` that needs features' runtime objects: settings (or exit 2), logs to
    stderr (stdout is the command's answer, e.g. ``--json``), the runtime of ``features`` (default:
    all of them), then ``runner``."""

    def command(args: argparse.Namespace) -> int:
        import structlog

        from bot.observability import configure_logging

        settings = settings_or_exit()
        if not structlog.is_configured():  # a command run inside a configured process keeps its logs
            configure_logging(settings.log_level, settings.log_format, secret_key=settings.secret_key)

        async def main() -> int:
            from bot.wiring.features import FEATURES
            from bot.wiring.runtime import open_runtime

            chosen = FEATURES if features is None else features
            async with open_runtime(settings, chosen, redis_mode="require") as runtime:
                return await runner(runtime, args)

        return asyncio.run(main())

    return command


def run(runner: Runner) -> Callable[[argparse.Namespace], int]:
    """A subcommand's ``func`` needing only the database: ``run_on`` with no feature's runtime."""

    async def on_runtime(runtime: Runtime, args: argparse.Namespace) -> int:
        return await runner(runtime.settings, runtime.services.sessions, args)

    return run_on(on_runtime, ())


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
