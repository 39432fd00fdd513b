"""``jiubot points ...``, ``jiubot codes ...`` and ``jiubot membership ...``.

``bot/cli.py`` imports this module and calls ``register(subparsers)``. Each command opens the
runtime (``bot.wiring``), runs, and returns an exit code (``points audit`` exits 1 on any
mismatch). Registering imports no database or domain module: each command imports what it uses
when it runs, so ``jiubot --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.commands.runner import run, tenant_of
from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    Runner = Callable[[Settings, async_sessionmaker[AsyncSession], argparse.Namespace], Awaitable[int]]


# points -------------------------------------------------------------------------------------
async def _audit(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> int:
    from bot.db import session_scope
    from bot.membership import ledger

    tenant = await tenant_of(sessions, args.tenant) if args.tenant else None
    async with session_scope(sessions) as session:
        checked, bad = await ledger.audit(session, tenant)
    for m in bad:
        print(
            f"MISMATCH account={m.account_id} tenant={m.tenant_id} kind={m.kind} "
            f"balance={m.balance} ledger_sum={m.ledger_sum}"
        )
    print(f"points audit: {checked} accounts checked, {len(bad)} mismatched")
    return 1 if bad else 0


async def _expire(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> int:
    from bot.db import session_scope
    from bot.membership import expiry, loyalty_config

    tenant = await tenant_of(sessions, args.tenant)
    async with session_scope(sessions) as session:
        config = await loyalty_config.load(session, tenant)
    now = datetime.now(UTC)
    year = (
        args.year if args.year is not None else now.astimezone(expiry.TZ).year - 1 - config.expiry_years_after
    )
    result = await expiry.run_expiry(
        sessions, year, years_after=config.expiry_years_after, tenant_id=tenant, now=now
    )
    print(
        f"expired points earned in {year}: {result.points} points "
        f"on {result.expired_accounts} of {result.accounts} accounts"
    )
    return 0


async def _tiers(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> int:
    from bot.db import session_scope
    from bot.membership import loyalty_config, tiers

    tenant = await tenant_of(sessions, args.tenant)
    async with session_scope(sessions) as session:
        config = await loyalty_config.load(session, tenant)
    review = await tiers.review_tiers(sessions, tenant, config)
    print(f"tiers reviewed: {review.members} members, {review.upgraded} up, {review.downgraded} down")
    return 0


# membership config --------------------------------------------------------------------------
async def _config(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> int:
    import json

    from bot.db import session_scope
    from bot.membership import loyalty_config
    from bot.membership.errors import BadConfig

    tenant = await tenant_of(sessions, args.tenant)
    changes: dict[str, Any] = {}
    for item in args.set or []:
        key, _, raw = item.partition("=")
        try:
            changes[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            changes[key.strip()] = raw
    try:
        async with session_scope(sessions) as session:
            config = (
                await loyalty_config.update(session, tenant, **changes)
                if changes
                else await loyalty_config.load(session, tenant)
            )
    except BadConfig as exc:
        print(f"jiubot: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(json.loads(config.to_json()), ensure_ascii=False, indent=2))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from bot.commands import membership_admin as cli_admin
    from bot.commands import membership_codes as cli_codes

    def tenant_arg(parser: argparse.ArgumentParser, required: bool = False) -> None:
        hint = (
            "tenant slug (default: all tenants)"
            if not required
            else "tenant slug (default: JIUBOT_TENANT_SLUG)"
        )
        parser.add_argument("--tenant", default=None, help=hint)

    pts = subparsers.add_parser("points", help="points ledgers: audit, expiry, tiers")
    sub = pts.add_subparsers(dest="points_command", required=True)
    audit = sub.add_parser("audit", help="prove balance == sum(ledger) for every account (exit 1 if not)")
    tenant_arg(audit)
    audit.set_defaults(func=run(_audit))
    expire = sub.add_parser("expire", help="expire the points of a past year (idempotent)")
    tenant_arg(expire, True)
    expire.add_argument("--year", type=int, default=None, help="the year the points were earned")
    expire.set_defaults(func=run(_expire))
    tiers = sub.add_parser("tiers", help="period-end tier review (downgrades happen here)")
    tenant_arg(tiers, True)
    tiers.set_defaults(func=run(_tiers))

    member = subparsers.add_parser("membership", help="loyalty settings of a tenant")
    msub = member.add_subparsers(dest="membership_command", required=True)
    config = msub.add_parser("config", help="show or change settings: --set daily_scan_cap=5")
    tenant_arg(config, True)
    config.add_argument("--set", action="append", metavar="KEY=JSON")
    config.set_defaults(func=run(_config))

    codes = cli_codes.register(subparsers, run, tenant_of)
    cli_admin.register(subparsers, codes, msub, run, tenant_of)
    cli_admin.register_store_qr(codes, run, tenant_of)
