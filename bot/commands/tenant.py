"""``jiubot tenant list`` and ``jiubot tenant core set|clear``: each tenant's own core (issue 16).

``set`` reads the API key and the webhook secret from the environment (``JIUBOT_TENANT_CORE_API_KEY``,
``JIUBOT_TENANT_CORE_WEBHOOK_SECRET``), never from the command line (shell history, ``ps``), asks
the core with the key before saving (``--no-check`` to skip), and prints the webhook URL the core
must call. ``clear`` puts the tenant back on the process-wide ``JIUBOT_CORE_*`` core. Secrets are
never printed. Running processes pick a change up within ``CoreDirectory.ttl`` seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.commands.runner import run, tenant_of
from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.tenancy.cores import CoreConfig

KEY_ENV = "JIUBOT_TENANT_CORE_API_KEY"
SECRET_ENV = "JIUBOT_TENANT_CORE_WEBHOOK_SECRET"  # noqa: S105 - the name of a variable
MIN_SECRET = 16


def register(subparsers: argparse._SubParsersAction) -> None:
    tenant = subparsers.add_parser("tenant", help="tenants (brands) and their core ordering systems")
    sub = tenant.add_subparsers(dest="tenant_command", required=True)
    sub.add_parser("list", help="tenants, their core URL and where it comes from").set_defaults(
        func=run(_list)
    )
    core = sub.add_parser("core", help="a tenant's own core (URL, API key, webhook secret)")
    core_sub = core.add_subparsers(dest="core_command", required=True)
    put = core_sub.add_parser(
        "set", help=f"give the tenant its own core (key and secret from ${KEY_ENV}, ${SECRET_ENV})"
    )
    put.add_argument("--tenant", required=True, help="tenant slug")
    put.add_argument("--url", required=True, help="the core's base URL (https://...)")
    put.add_argument("--no-check", action="store_true", help="save without asking the core first")
    put.set_defaults(func=run(_set))
    clear = core_sub.add_parser("clear", help="put the tenant back on the process-wide core")
    clear.add_argument("--tenant", required=True, help="tenant slug")
    clear.set_defaults(func=run(_clear))


def problems(url: str, api_key: str, secret: str) -> list[str]:
    """What is wrong with a tenant's core settings (empty: nothing)."""
    found = []
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        found.append("--url: not an http(s) URL")
    if not api_key:
        found.append(f"${KEY_ENV}: not set")
    if len(secret) < MIN_SECRET:
        found.append(f"${SECRET_ENV}: at least {MIN_SECRET} characters")
    return found


async def reach(settings: Settings, config: CoreConfig) -> str:
    """ "" when the core answers an authenticated call with this key, else why not."""
    from backend_client import CoreError
    from bot.wiring.core import make_client
    from bot.wiring.runtime import http_session

    async with http_session(total=10.0, connect=3.0) as http:
        try:
            await make_client(http, settings, config).org.regions()
        except CoreError as exc:
            return f"{exc.code}: {str(exc)[:200]}"
    return ""


async def _set(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> int:
    from bot.db import session_scope
    from bot.tenancy import repository
    from bot.tenancy.cores import CoreConfig

    api_key, secret = os.environ.get(KEY_ENV, ""), os.environ.get(SECRET_ENV, "")
    found = problems(args.url, api_key, secret)
    if found:
        for line in found:
            print(f"jiubot: {line}", file=sys.stderr)
        return 2
    tenant = await tenant_of(sessions, args.tenant)
    config = CoreConfig(args.url.rstrip("/"), api_key, secret)
    if not args.no_check and (why := await reach(settings, config)):
        print(
            f"jiubot: the core at {config.url} refused or did not answer ({why}); nothing saved",
            file=sys.stderr,
        )
        return 1
    async with session_scope(sessions) as session:
        await repository.set_core(session, tenant, config)
    base = settings.public_base_url.rstrip("/") or "https://<this host>"
    print(f"tenant {args.tenant}: core {config.url} saved (API key and webhook secret set)")
    print(f"the core must send this tenant's webhooks to {base}/core/webhook/{args.tenant}")
    return 0


async def _clear(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> int:
    from bot.db import session_scope
    from bot.tenancy import repository

    tenant = await tenant_of(sessions, args.tenant)
    async with session_scope(sessions) as session:
        await repository.set_core(session, tenant, None)
    print(f"tenant {args.tenant}: back on the process-wide core ({settings.core_url or 'none configured'})")
    return 0


async def _list(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> int:
    from bot.db import session_scope
    from bot.tenancy import repository

    async with session_scope(sessions) as session:
        for tenant in await repository.list_tenants(session):
            own = bool(tenant.core_url)
            url = tenant.core_url if own else (settings.core_url or "-")
            source = "own" if own else "default"
            print(f"{tenant.slug}\t{tenant.name}\tcore={url}\t({source})")
    return 0


async def check_cores(settings: Settings) -> int:
    """``jiubot check``: reach each core with its key (the process-wide one, naming the tenants
    on it, then each tenant's own); a line each, returns the number of failures."""
    from bot.db import create_engine, session_factory, session_scope
    from bot.tenancy import repository
    from bot.wiring.core import default_core

    engine = create_engine(settings.database_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            tenants = [
                (t.slug, await repository.core_config(session, t.id))
                for t in await repository.list_tenants(session)
            ]
    finally:
        await engine.dispose()
    checks: list[tuple[str, CoreConfig]] = []
    default = default_core(settings)
    if default is not None:
        on_default = ", ".join(slug for slug, own in tenants if own is None) or "none"
        checks.append((f"core (process-wide; tenants: {on_default})", default))
    checks += [(f"core of tenant {slug}", own) for slug, own in tenants if own is not None]
    failures = 0
    for label, config in checks:
        why = await reach(settings, config)
        failures += bool(why)
        print(f"FAIL {label} {config.url}: {why}" if why else f"ok   {label} {config.url}")
    return failures
