"""``jiubot journeys ...`` and ``jiubot profiles refresh``.

    jiubot journeys load FILE.yaml         store a journey definition (a new version when changed)
    jiubot journeys defaults               load the built-in win-back and 酱香 affinity journeys
    jiubot journeys list                   name, version, active, trigger, steps
    jiubot journeys tick [--at ISO]        run every due step as of that time (default: now)
    jiubot journeys status [--json]        per journey: enrolled, steps, reached, unreachable,
                                           control, converted, uplift with its 95% interval
    jiubot profiles refresh [--at ISO]     recompute store/consumer profiles and tiers

Registering imports nothing heavy; each command opens the runtime (``bot.wiring``) when it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from datetime import datetime

    from bot.automation.audience import Audience
    from bot.wiring.feature import Runtime


def register(subparsers: argparse._SubParsersAction) -> None:
    journeys = subparsers.add_parser("journeys", help="automated marketing journeys (issue 13)")
    sub = journeys.add_subparsers(dest="journeys_command", required=True)
    load = sub.add_parser("load", help="store a journey definition from YAML")
    load.add_argument("file", type=Path)
    load.set_defaults(func=_command(_load))
    defaults = sub.add_parser("defaults", help="load the built-in journeys (win-back, 酱香 affinity)")
    defaults.set_defaults(func=_command(_defaults))
    lst = sub.add_parser("list", help="the journeys and their newest versions")
    lst.set_defaults(func=_command(_list))
    tick = sub.add_parser("tick", help="run every due step as of --at (default now)")
    tick.add_argument("--at", default=None, help="e.g. 2026-12-31T10:00+08:00 (no offset: Asia/Shanghai)")
    tick.set_defaults(func=_command(_tick))
    status = sub.add_parser("status", help="per-journey counts and uplift")
    status.add_argument("--json", action="store_true")
    status.add_argument("--journey", default=None)
    status.set_defaults(func=_command(_status))
    campaigns = subparsers.add_parser("campaigns", help="one-off marketing sends to an audience")
    csub = campaigns.add_subparsers(dest="campaigns_command", required=True)
    create = csub.add_parser("create", help="create a campaign and materialise its recipients")
    create.add_argument("--name", required=True)
    create.add_argument("--text", required=True, help="the message (operator copy)")
    create.add_argument("--role", default=None, help="only members of this role (e.g. store_owner)")
    create.add_argument(
        "--where", default=None, help='profile conditions, e.g. "kind=store lifecycle=lapsing tier=核心"'
    )
    create.add_argument(
        "--mass",
        action="store_true",
        help="a broadcast: one mass send (群发) by tag; each member receives at most 4 a month",
    )
    create.set_defaults(func=_command(_campaign_create))
    send = csub.add_parser("send", help="send (any number of these may run at once; resumable)")
    send.add_argument("--name", required=True)
    send.add_argument("--batch", type=int, default=200)
    send.add_argument("--concurrency", type=int, default=20)
    send.add_argument("--lease", type=int, default=60, help="seconds before a dead worker's rows are retaken")
    send.add_argument("--quiet", action="store_true", help="no progress bar")
    send.set_defaults(func=_command(_campaign_send))
    preview = csub.add_parser("preview", help="count and sample an audience before creating a campaign")
    preview.add_argument(
        "--where", required=True, help='e.g. "kind=store lifecycle=lapsing,dormant aroma=酱香"'
    )
    preview.set_defaults(func=_command(_campaign_preview))
    cstatus = csub.add_parser("status", help="recipients by state")
    cstatus.add_argument("--name", required=True)
    cstatus.set_defaults(func=_command(_campaign_status))
    profiles = subparsers.add_parser("profiles", help="store and consumer profiles, tiers")
    psub = profiles.add_subparsers(dest="profiles_command", required=True)
    refresh = psub.add_parser("refresh", help="recompute profiles and tiers as of --at")
    refresh.add_argument("--at", default=None)
    refresh.set_defaults(func=_command(_refresh))
    fill = psub.add_parser("backfill", help="copy every store's order history and SKU facts from the core")
    fill.set_defaults(func=_command(_backfill))
    bt = psub.add_parser("backtest", help="replenishment: share of repeat stores predicted within N days")
    bt.add_argument("--days", type=float, default=7)
    bt.set_defaults(func=_command(_backtest))


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        for line in exc.lines:
            print(f"jiubot: {line}", file=sys.stderr)
        raise SystemExit(2) from None


def _command(
    runner: Callable[[Runtime, argparse.Namespace], Awaitable[int]],
) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        from bot.observability import configure_logging

        settings = _settings()
        # log lines go to stderr: stdout is the command's answer (``status --json`` is parsed)
        configure_logging(settings.log_level, settings.log_format, secret_key=settings.secret_key)

        async def main() -> int:
            from bot.wiring.features import FEATURES
            from bot.wiring.runtime import open_runtime

            async with open_runtime(settings, features=FEATURES, redis_mode="require") as runtime:
                return await runner(runtime, args)

        return asyncio.run(main())

    return command


async def _tenant(runtime: Runtime) -> int:
    from bot.wiring.automation import tenant_id

    tenant = await tenant_id(runtime.services)
    if tenant is None:
        raise SystemExit(f"jiubot: no tenant {runtime.settings.tenant_slug!r}")
    return tenant


def _at(text: str | None) -> datetime:
    from bot.automation.clock import SystemClock, parse_at

    try:
        return parse_at(text) if text else SystemClock().now()
    except ValueError:
        raise SystemExit(f"jiubot: --at {text!r} is not an ISO time (e.g. 2026-12-31T10:00+08:00)") from None


async def _store(runtime: Runtime, text: str, origin: str) -> int:
    from bot.automation import definitions
    from bot.automation import repository as repo
    from bot.automation.errors import InvalidDefinition
    from bot.db import session_scope

    try:
        journey = definitions.parse(text)
    except InvalidDefinition as exc:
        print(f"jiubot: {origin}: {exc}", file=sys.stderr)
        return 2
    async with session_scope(runtime.services.sessions) as session:
        version = await repo.save_journey(session, await _tenant(runtime), journey)
    print(f"{journey.name}: version {version}")
    return 0


async def _load(runtime: Runtime, args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"jiubot: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    return await _store(runtime, text, str(args.file))


async def _defaults(runtime: Runtime, args: argparse.Namespace) -> int:
    folder = Path(__file__).parent.parent / "automation" / "journeys"
    code = 0
    for path in sorted(folder.glob("*.yaml")):
        code = max(code, await _store(runtime, path.read_text(encoding="utf-8"), path.name))
    return code


async def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.automation import repository as repo
    from bot.db import session_scope

    async with session_scope(runtime.services.sessions) as session:
        journeys = await repo.journeys(session, await _tenant(runtime), active_only=False)
    for j in journeys:
        trig = j.trigger
        what = (
            f"lapsed {trig.lapsed_days}d"
            if trig.lapsed_days is not None
            else f"aroma {trig.aroma}"
            if trig.aroma
            else f"event {trig.event}"
        )
        print(f"{j.name}\tv{j.version}\t{j.subject}\t{what}\t{' > '.join(s.id for s in j.steps)}")
    return 0


async def _tick(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.automation.actions import tick
    from bot.wiring.automation import deps

    tenant = await _tenant(runtime)
    report = await tick(await deps(runtime.services, tenant, worker="cli"), tenant, _at(args.at))
    print(
        f"tick {report.at}: enrolled {report.enrolled}, exited on goal {report.exited}, "
        f"completed {report.completed}, steps {report.steps}"
    )
    return 0


async def _status(runtime: Runtime, args: argparse.Namespace) -> int:
    import orjson

    from bot.automation.report import status
    from bot.db import session_scope

    async with session_scope(runtime.services.sessions) as session:
        rows = await status(session, await _tenant(runtime), args.journey)
    if args.json:
        sys.stdout.write(
            orjson.dumps([r.to_json() for r in rows], option=orjson.OPT_INDENT_2).decode() + "\n"
        )
        return 0
    for r in rows:
        t, c = r.arms["treatment"], r.arms["control"]
        print(f"{r.journey}: enrolled {r.enrolled} (active {r.active}), reached {r.reached}")
        print(
            f"  treatment {t.converted}/{t.enrolled} converted, control {c.converted}/{c.enrolled}, "
            f"holdout {r.arms['holdout'].enrolled}"
        )
        for step, counts in r.steps.items():
            print(f"  step {step}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        if r.unreachable:
            print("  unreachable: " + ", ".join(f"{k} {v}" for k, v in sorted(r.unreachable.items())))
        if r.uplift:
            u = r.uplift
            print(f"  uplift {u['difference']:+.1%} (95% CI {u['low']:+.1%} .. {u['high']:+.1%})")
    return 0


async def _refresh(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.automation import profiling
    from bot.db import session_scope

    async with session_scope(runtime.services.sessions) as session:
        report = await profiling.refresh(session, await _tenant(runtime), _at(args.at))
    print(
        f"profiles: {report.stores} stores, {report.consumers} consumers, {report.tier_changes} tier changes"
    )
    return 0


# campaigns ---------------------------------------------------------------------------------------
async def _campaign_id(runtime: Runtime, name: str) -> int:
    from sqlalchemy import select

    from bot.automation.models import Campaign
    from bot.db import session_scope

    async with session_scope(runtime.services.sessions) as session:
        found = (
            await session.execute(
                select(Campaign.id).where(Campaign.tenant_id == await _tenant(runtime), Campaign.name == name)
            )
        ).scalar_one_or_none()
    if found is None:
        raise SystemExit(f"jiubot: no campaign {name!r}")
    return found


async def _campaign_create(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.automation import campaigns
    from bot.db import session_scope

    tenant = await _tenant(runtime)
    appid = runtime.settings.oa_appid
    if not appid:
        print("jiubot: JIUBOT_OA_APPID is not set (campaigns go to the Official Account)", file=sys.stderr)
        return 2
    audience = _audience(args.where) if args.where else None
    if audience is False:
        return 2
    async with session_scope(runtime.services.sessions) as session:
        cid = await campaigns.create(session, tenant, args.name, args.text)
        total = await campaigns.materialise(
            session,
            tenant,
            cid,
            appid,
            role=args.role,
            audience=audience or None,
            holdout_share=runtime.settings.automation_holdout,
        )
        if args.mass:
            from bot.automation import mass

            await mass.make_broadcast(session, tenant, cid, appid)
    print(f"campaign {args.name}: {total} recipients" + (" (mass send by tag)" if args.mass else ""))
    return 0


async def _campaign_send(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.automation import campaigns, mass, sending
    from bot.automation.clock import SystemClock
    from bot.db import session_scope
    from bot.wiring.automation import campaign_channel, deps

    cid = await _campaign_id(runtime, args.name)
    async with session_scope(runtime.services.sessions) as session:
        before = await campaigns.progress(session, cid)
        broadcast = await mass.job_of(session, cid)
    if broadcast is not None:
        tenant = await _tenant(runtime)
        r = await mass.send(
            await deps(runtime.services, tenant, worker="cli"),
            campaign_channel(runtime.services, runtime.mux),
            tenant,
            cid,
            now=SystemClock().now,
        )
        print(
            f"campaign {args.name}: mass send {r.state} (msg_id {r.msg_id or '-'}): {r.sent} sent, "
            f"{r.mass_quota} past this month's 4 mass sends, {r.suppressed} suppressed"
        )
        return 0 if r.state in ("sent", "refused") else 1
    done = [before.finished]

    def bar(n: int) -> None:
        done[0] += n
        if args.quiet or not before.total:
            return
        width = 30
        filled = width * done[0] // before.total
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done[0]}/{before.total}")
        sys.stderr.flush()

    tenant = await _tenant(runtime)
    sent = await sending.run_worker(
        await deps(runtime.services, tenant, worker="cli"),
        campaign_channel(runtime.services, runtime.mux),
        tenant,
        cid,
        now=SystemClock().now,
        batch=args.batch,
        concurrency=args.concurrency,
        lease_seconds=args.lease,
        on_progress=bar,
    )
    if not args.quiet:
        sys.stderr.write("\n")
    print(f"campaign {args.name}: this worker finished {sent}")
    return 0


async def _campaign_status(runtime: Runtime, args: argparse.Namespace) -> int:
    import orjson

    from bot.automation import campaigns
    from bot.db import session_scope

    cid = await _campaign_id(runtime, args.name)
    async with session_scope(runtime.services.sessions) as session:
        p = await campaigns.progress(session, cid)
    print(orjson.dumps(p.__dict__).decode())
    return 0


async def _backtest(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.automation import replenish
    from bot.db import session_scope

    async with session_scope(runtime.services.sessions) as session:
        orders = await replenish.facts_of(session, await _tenant(runtime))
    r = replenish.backtest(orders, args.days)
    plain = replenish.backtest(orders, args.days, seasonal=False)
    print(
        f"replenishment backtest: {r.within}/{r.stores} repeat stores ({r.share:.0%}) "
        f"within {args.days:g} days "
        f"on every held-out reorder; {r.pairs} store x SKU pairs, mean error {r.mean_error_days:.1f} days"
    )
    print(
        f"  without seasonality (春节, 中秋): {plain.within}/{plain.stores} ({plain.share:.0%}), "
        f"mean error {plain.mean_error_days:.1f} days"
    )
    return 0


async def _backfill(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.automation import facts
    from bot.db import session_scope

    tenant = await _tenant(runtime)
    core = await runtime.services.cores.client(tenant)
    if core is None:
        print("jiubot: the tenant has no core (JIUBOT_CORE_URL or `jiubot tenant core`)", file=sys.stderr)
        return 2
    async with session_scope(runtime.services.sessions) as session:
        r = await facts.backfill(core, session, tenant)
    print(f"backfill: {r.stores} stores, {r.orders} orders, {r.skus} new SKUs")
    return 0


def _audience(text: str) -> Audience | Literal[False]:
    """The parsed conditions, or False (after saying why) when they cannot be used."""
    from bot.automation.audience import Audience
    from bot.automation.errors import InvalidDefinition

    try:
        return Audience.parse(text)
    except InvalidDefinition as exc:
        print(f"jiubot: --where: {exc}", file=sys.stderr)
        return False


async def _campaign_preview(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.automation import audience as audiences
    from bot.db import session_scope

    audience = _audience(args.where)
    if audience is False:
        return 2
    async with session_scope(runtime.services.sessions) as session:
        p = await audiences.preview(session, await _tenant(runtime), audience, runtime.settings.oa_appid)
    print(f"audience: {p.total} (reachable now: {p.reachable}); sample: {', '.join(p.sample) or '-'}")
    return 0
