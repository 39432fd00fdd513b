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
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
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
    profiles = subparsers.add_parser("profiles", help="store and consumer profiles, tiers")
    psub = profiles.add_subparsers(dest="profiles_command", required=True)
    refresh = psub.add_parser("refresh", help="recompute profiles and tiers as of --at")
    refresh.add_argument("--at", default=None)
    refresh.set_defaults(func=_command(_refresh))


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        for line in exc.lines:
            print(f"jiubot: {line}", file=sys.stderr)
        raise SystemExit(2) from None


def _command(runner):  # type: ignore[no-untyped-def]
    def command(args: argparse.Namespace) -> int:
        settings = _settings()

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


def _at(text: str | None):  # type: ignore[no-untyped-def]
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

    report = await tick(deps(runtime.services, worker="cli"), await _tenant(runtime), _at(args.at))
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
