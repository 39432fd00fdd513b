"""``jiubot report ...`` and ``jiubot analytics ...``. Top-level imports stay light (``--help``).

    jiubot report weekly --week 2026-W49 [--region R | --distributor D] [--format html|pdf|json]
                         [--out PATH] [--tenant SLUG]
    jiubot report revoke --report ID [--member M]        stop pushed links (all or one)
    jiubot analytics rollup --day 2026-12-01 [--days N]   re-roll past days (idempotent)
    jiubot analytics emit                                 server-side events from scans and orders
    jiubot analytics storage                              partitions ahead, retention
    jiubot analytics funnel --from 2026-11-01 --to 2026-12-01 [--window-hours 168]
                            [--order ordered|strict|any] [--sku S] [--region R] [--tier T]
    jiubot analytics sell-through --week 2026-W49 [--weeks N] [--region R]

``report weekly`` rolls the week up again, makes and archives the report (the same row and link
as the Monday run) and prints it (JSON) or writes it (HTML/PDF) to ``--out`` or the archive.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from bot.analytics.archive import Made


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser("report", help="the weekly private-domain report (私域运营报告)")
    sub = report.add_subparsers(dest="report_command", required=True)
    weekly = sub.add_parser("weekly", help="make one weekly report on demand")
    weekly.add_argument("--week", required=True, help="ISO week, e.g. 2026-W49")
    where = weekly.add_mutually_exclusive_group()
    where.add_argument("--region", default=None)
    where.add_argument("--distributor", default=None)
    weekly.add_argument("--format", choices=("html", "pdf", "json"), default="json")
    weekly.add_argument("--out", default=None, help="file to write (html/pdf); default: the archive's")
    weekly.add_argument("--tenant", default=None, help="tenant slug (default: JIUBOT_TENANT_SLUG)")
    weekly.set_defaults(func=cmd_weekly)
    revoke = sub.add_parser("revoke", help="stop a report's pushed links (all, or one recipient's)")
    revoke.add_argument("--report", type=int, required=True, help="the report's id (console: 私域周报)")
    revoke.add_argument("--member", type=int, default=None, help="only this recipient's link")
    revoke.add_argument("--tenant", default=None, help="tenant slug (default: JIUBOT_TENANT_SLUG)")
    revoke.set_defaults(func=cmd_revoke)

    analytics = subparsers.add_parser("analytics", help="behaviour events: rollups, server events, storage")
    asub = analytics.add_subparsers(dest="analytics_command", required=True)
    rollup = asub.add_parser("rollup", help="roll up past days again (replaces those days)")
    rollup.add_argument("--day", required=True, help="YYYY-MM-DD (Asia/Shanghai)")
    rollup.add_argument("--days", type=int, default=1, help="this many days from --day")
    rollup.set_defaults(func=cmd_rollup)
    emit = asub.add_parser("emit", help="emit server-side events from scans and orders now")
    emit.set_defaults(func=cmd_emit)
    storage = asub.add_parser("storage", help="make partitions ahead and apply the retention")
    storage.set_defaults(func=cmd_storage)
    funnel = asub.add_parser("funnel", help="view -> cart -> quote -> order over a period")
    funnel.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD (Asia/Shanghai), included")
    funnel.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD, excluded")
    funnel.add_argument("--window-hours", type=int, default=168, help="1 to 720 (default 7 days)")
    funnel.add_argument("--order", choices=("ordered", "strict", "any"), default="ordered")
    funnel.add_argument("--sku", default=None)
    funnel.add_argument("--region", default=None)
    funnel.add_argument("--tier", default=None)
    funnel.add_argument("--tenant", default=None, help="tenant slug (default: JIUBOT_TENANT_SLUG)")
    funnel.set_defaults(func=cmd_funnel)
    sell = asub.add_parser(
        "sell-through", help="动销: bottles ordered vs scanned per SKU, region, distributor"
    )
    sell.add_argument("--week", required=True, help="ISO week, e.g. 2026-W49")
    sell.add_argument("--weeks", type=int, default=1)
    sell.add_argument("--region", default=None)
    sell.add_argument("--tenant", default=None, help="tenant slug (default: JIUBOT_TENANT_SLUG)")
    sell.set_defaults(func=cmd_sell_through)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        for line in exc.lines:
            print(f"jiubot: {line}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_weekly(args: argparse.Namespace) -> int:
    from pathlib import Path

    import orjson

    from bot.analytics.sellthrough import week_start

    try:
        week_start(args.week)
    except ValueError:
        print(f"jiubot: --week {args.week!r} is not an ISO week like 2026-W49", file=sys.stderr)
        return 2
    made = asyncio.run(_weekly(_settings(), args))
    if isinstance(made, int):
        return made
    if args.format == "json":
        print(orjson.dumps(made.figures.as_json(), option=orjson.OPT_INDENT_2).decode())
        return 0
    source = made.pdf_path if args.format == "pdf" else made.html_path
    assert source is not None
    if args.out:
        Path(args.out).write_bytes(source.read_bytes())
        print(args.out)
    else:
        print(source)
    return 0


async def _weekly(settings: Settings, args: argparse.Namespace) -> Made | int:
    from datetime import UTC, datetime
    from pathlib import Path

    from bot.analytics import archive
    from bot.analytics.report import Scope
    from bot.db import create_engine, session_factory, session_scope
    from bot.tenancy.repository import tenant_by_slug

    scope = (
        Scope("region", args.region)
        if args.region
        else Scope("distributor", args.distributor)
        if args.distributor
        else Scope()
    )
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        async with session_scope(sessions) as session:
            tenant = await tenant_by_slug(session, args.tenant or settings.tenant_slug)
        if tenant is None:
            print("jiubot: no such tenant", file=sys.stderr)
            return 2
        now = datetime.now(UTC)
        await archive.prepare_week(sessions, tenant.id, args.week, now)
        made = await archive.make_report(
            sessions,
            tenant.id,
            args.week,
            scope,
            archive=Path(settings.report_archive_dir),
            now=now,
            with_pdf=args.format == "pdf",
        )
    finally:
        await engine.dispose()
    return made


def cmd_revoke(args: argparse.Namespace) -> int:
    return asyncio.run(_revoke(_settings(), args))


async def _revoke(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.analytics import archive
    from bot.db import create_engine, session_factory, session_scope
    from bot.tenancy.repository import tenant_by_slug

    engine = create_engine(settings.database_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            tenant = await tenant_by_slug(session, args.tenant or settings.tenant_slug)
            if tenant is None:
                print("jiubot: no such tenant", file=sys.stderr)
                return 2
            n = await archive.revoke(session, tenant.id, args.report, args.member, now=datetime.now(UTC))
    finally:
        await engine.dispose()
    print(f"revoked {n} link(s)")
    return 0


def cmd_rollup(args: argparse.Namespace) -> int:
    try:
        first = date.fromisoformat(args.day)
    except ValueError:
        print(f"jiubot: --day {args.day!r} is not YYYY-MM-DD", file=sys.stderr)
        return 2
    return asyncio.run(_rollup(_settings(), first, max(1, args.days)))


async def _rollup(settings: Settings, first: date, days: int) -> int:
    from bot.analytics.rollups import rollup_day
    from bot.db import create_engine, session_factory

    engine = create_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        for n in range(days):
            day = first + timedelta(days=n)
            print(f"{day.isoformat()}  {await rollup_day(sessions, day)} rows")
    finally:
        await engine.dispose()
    return 0


def cmd_emit(args: argparse.Namespace) -> int:
    return asyncio.run(_emit(_settings()))


async def _emit(settings: Settings) -> int:
    from bot.analytics import sources
    from bot.wiring.features import ANALYTICS
    from bot.wiring.runtime import open_runtime

    async with open_runtime(settings, [ANALYTICS], redis_mode="require") as runtime:
        analytics = runtime.services.analytics
        assert analytics is not None
        emitted = await sources.emit_new(runtime.services.sessions, analytics.stream)
        written = await analytics.stream.drain(runtime.services.sessions)
    print(f"emitted {emitted}, written {written}")
    return 0


def cmd_storage(args: argparse.Namespace) -> int:
    return asyncio.run(_storage(_settings()))


async def _storage(settings: Settings) -> int:
    from bot.analytics.jobs import maintain_storage
    from bot.db import create_engine, session_factory

    engine = create_engine(settings.database_url)
    try:
        print(await maintain_storage(session_factory(engine), settings.analytics_retention_days))
    finally:
        await engine.dispose()
    return 0


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def cmd_funnel(args: argparse.Namespace) -> int:
    start, end = _day(args.start), _day(args.end)
    if start is None or end is None or end <= start:
        print("jiubot: --from and --to are YYYY-MM-DD with --to after --from", file=sys.stderr)
        return 2
    if not 1 <= args.window_hours <= 720:
        print("jiubot: --window-hours is 1 to 720 (30 days)", file=sys.stderr)
        return 2
    return asyncio.run(_funnel(_settings(), args, start, end))


async def _funnel(settings: Settings, args: argparse.Namespace, start: date, end: date) -> int:
    from bot.analytics.funnels import funnel
    from bot.analytics.rollups import day_bounds
    from bot.db import create_engine, session_factory, session_scope
    from bot.tenancy.repository import tenant_by_slug

    engine = create_engine(settings.database_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            tenant = await tenant_by_slug(session, args.tenant or settings.tenant_slug)
            if tenant is None:
                print("jiubot: no such tenant", file=sys.stderr)
                return 2
            result = await funnel(
                session,
                tenant.id,
                start=day_bounds(start)[0],
                end=day_bounds(end)[0],
                window=timedelta(hours=args.window_hours),
                order=args.order,
                sku=args.sku,
                region_code=args.region,
                tier=args.tier,
            )
    finally:
        await engine.dispose()
    first = result.steps[0].members or 1
    for step in result.steps:
        print(f"{step.name:<16} {step.members:>8}  {100 * step.members / first:6.1f}%")
    return 0


def cmd_sell_through(args: argparse.Namespace) -> int:
    from bot.analytics.sellthrough import week_start

    try:
        first = week_start(args.week)
    except ValueError:
        print(f"jiubot: --week {args.week!r} is not an ISO week like 2026-W49", file=sys.stderr)
        return 2
    return asyncio.run(_sell_through(_settings(), args, first))


async def _sell_through(settings: Settings, args: argparse.Namespace, first: date) -> int:
    from bot.analytics.sellthrough import sell_through
    from bot.db import create_engine, session_factory, session_scope
    from bot.tenancy.repository import tenant_by_slug

    engine = create_engine(settings.database_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            tenant = await tenant_by_slug(session, args.tenant or settings.tenant_slug)
            if tenant is None:
                print("jiubot: no such tenant", file=sys.stderr)
                return 2
            rows = await sell_through(
                session, tenant.id, first=first, weeks=max(1, args.weeks), region_code=args.region
            )
    finally:
        await engine.dispose()
    header = ("week", "sku", "region", "distributor", "ordered", "scanned", "rate")
    print("{:<9} {:<16} {:<10} {:<12} {:>8} {:>8} {:>7}".format(*header))
    for r in rows:
        print(
            f"{r.week:<9} {r.sku:<16} {r.region_code:<10} {r.distributor_code:<12} "
            f"{r.ordered:>8} {r.scanned:>8} {100 * r.rate:6.1f}%"
        )
    return 0
