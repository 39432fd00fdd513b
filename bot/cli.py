"""The ``jiubot`` command (also ``python -m bot``).

Subcommands register themselves in ``COMMANDS``; each takes the parsed arguments and returns an
exit code. Settings problems print one line per bad setting and exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable

from bot.config import ConfigError, Settings, check_aes_key, check_token, load_settings, settings_or_exit
from bot.startup import wait_for_dependencies

Command = Callable[[argparse.Namespace], int]


def _loop_factory():
    try:
        import uvloop

        return uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.new_event_loop


def _schema_state(database_url: str) -> tuple[set[str], set[str]]:
    """(revisions the database is at, head revisions of the code): equal when it is up to date."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine as create_sync_engine

    from bot.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(database_url))
    heads = set(script.get_heads())
    sync_url = database_url.replace("sqlite+aiosqlite", "sqlite")
    engine = create_sync_engine(sync_url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    # A head another branch depends on (depends_on) is applied without being a current head.
    applied = {r.revision for r in script.iterate_revisions(tuple(current), "base")} if current else set()
    return (heads if heads <= applied else current), heads


# serve ------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.app import create_app, freeze_heap_after_startup
    from bot.migrate import upgrade
    from bot.observability import configure_logging

    settings = settings_or_exit(host=args.host, port=args.port)
    configure_logging(settings.log_level, settings.log_format, secret_key=settings.secret_key)
    if (code := wait_for_dependencies(settings)) is not None:
        return code
    if settings.is_sqlite:
        upgrade(settings.database_url)
    else:
        current, heads = _schema_state(settings.database_url)
        if current != heads:
            print("jiubot: the database schema is not up to date; run `jiubot db upgrade`", file=sys.stderr)
            return 2
    app = freeze_heap_after_startup(create_app(settings, background=settings.serve_background))
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        loop=_loop_factory()(),
        access_log=None,
        print=lambda msg: print(msg, file=sys.stderr),
    )
    return 0


# worker -----------------------------------------------------------------------------------
def cmd_worker(args: argparse.Namespace) -> int:
    """The background work without the web server: the inbound log writer, scheduled jobs and
    the features' workers (order retries). Several may run; the scheduler fires each job once."""
    from bot.observability import configure_logging

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format, secret_key=settings.secret_key)
    if (code := wait_for_dependencies(settings)) is not None:
        return code
    current, heads = _schema_state(settings.database_url)
    if current != heads:
        print("jiubot: the database schema is not up to date; run `jiubot db upgrade`", file=sys.stderr)
        return 2
    loop = _loop_factory()()
    try:
        loop.run_until_complete(_work(settings))
    finally:
        loop.close()
    return 0


async def _work(settings: Settings) -> None:
    import signal

    from aiohttp import web

    from bot.app import create_app

    runner = web.AppRunner(create_app(settings, background=True))
    await runner.setup()  # starts every cleanup context; no socket is opened
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print("jiubot worker running; Ctrl-C stops", file=sys.stderr)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


# db ---------------------------------------------------------------------------------------
def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.migrate import upgrade

    settings = settings_or_exit()
    upgrade(settings.database_url)
    print("database schema is up to date")
    return 0


# check ------------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        for line in exc.lines:
            print(f"FAIL settings: {line}")
        return 1
    print("ok   settings")
    return asyncio.run(_check_services(settings))


async def _check_services(settings: Settings) -> int:
    from sqlalchemy import text

    from bot.clientip import proxy_warning
    from bot.db import create_engine
    from bot.redis import connect

    failures = 0
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), 5)
        print(f"ok   database {engine.url.render_as_string(hide_password=True)}")
    except Exception as exc:
        failures += 1
        print(f"FAIL database {engine.url.render_as_string(hide_password=True)}: {_first_line(exc)}")
    finally:
        await engine.dispose()
    if not failures:
        try:
            current, heads = await asyncio.to_thread(_schema_state, settings.database_url)
            if current == heads:
                print("ok   schema at the latest revision")
            else:
                failures += 1
                print("FAIL schema: not up to date; run `jiubot db upgrade`")
        except Exception as exc:
            failures += 1
            print(f"FAIL schema: {_first_line(exc)}")
    try:
        client, _ = await asyncio.wait_for(connect(settings.redis_url, mode="require"), 5)
        await client.aclose()
        print(f"ok   redis {settings.redis_url}")
    except Exception as exc:
        failures += 1
        print(f"FAIL redis {settings.redis_url}: {_first_line(exc)}")
    if not failures:
        from bot.commands.tenant import check_cores

        failures += await check_cores(settings)
    if (warning := proxy_warning(settings)) is not None:
        print(f"warn proxy: {warning}")
    if settings.oa_appid:
        print(f"ok   official account {settings.oa_appid} ({settings.oa_mode} mode)")
    else:
        print(
            "note no default Official Account configured (JIUBOT_OA_APPID); apps come from `jiubot app add`"
        )
    return 1 if failures else 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


# app --------------------------------------------------------------------------------------
def cmd_app_add(args: argparse.Namespace) -> int:
    problems = []
    try:
        check_token(args.token)
    except ValueError as exc:
        problems.append(f"--token: {exc}")
    for flag, value in (("--aes-key", args.aes_key), ("--prev-aes-key", args.prev_aes_key)):
        if value:
            try:
                check_aes_key(value)
            except ValueError as exc:
                problems.append(f"{flag}: {exc}")
    if args.mode != "plain" and not args.aes_key:
        problems.append(f"--aes-key: required in {args.mode} mode")
    if problems:
        for line in problems:
            print(f"jiubot: {line}", file=sys.stderr)
        return 2
    settings = settings_or_exit()
    return asyncio.run(_app_add(settings, args))


async def _app_add(settings: Settings, args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.migrate import upgrade
    from bot.tenancy import repository
    from bot.wiring.runtime import open_runtime

    if settings.is_sqlite:
        await asyncio.to_thread(upgrade, settings.database_url)
    async with open_runtime(settings) as runtime, session_scope(runtime.services.sessions) as session:
        tenant = await repository.get_or_create_tenant(session, args.tenant, args.tenant_name or args.tenant)
        await repository.upsert_app(
            session,
            tenant.id,
            args.appid,
            kind=args.kind,
            name=args.name or "",
            secret=args.secret or "",
            token=args.token,
            aes_key=args.aes_key or "",
            prev_aes_key=args.prev_aes_key or "",
            mode=args.mode,
            original_id=args.original_id or "",
            active=True,
        )
    print(f"app {args.appid} ({args.kind}, {args.mode}) saved for tenant {args.tenant}")
    return 0


def cmd_app_list(args: argparse.Namespace) -> int:
    settings = settings_or_exit()

    async def run() -> int:
        from bot.db import session_scope
        from bot.tenancy import repository
        from bot.wiring.runtime import open_runtime

        async with open_runtime(settings) as runtime, session_scope(runtime.services.sessions) as session:
            for app in await repository.list_apps(session):
                print(f"{app.appid}\t{app.kind}\t{app.mode}\ttenant={app.tenant_id}\t{app.name}")
        return 0

    return asyncio.run(run())


# parser -----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jiubot", description="jiubot: a liquor brand's WeChat backend")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web app (WeChat callbacks, APIs, pages)")
    serve.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8080)")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("worker", help="background work without the web server (log writer, jobs)").set_defaults(
        func=cmd_worker
    )

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="create or upgrade the schema").set_defaults(func=cmd_db_upgrade)

    sub.add_parser("check", help="validate settings and reach the database and Redis").set_defaults(
        func=cmd_check
    )

    app = sub.add_parser("app", help="WeChat apps (Official Accounts and mini-programs)")
    app_sub = app.add_subparsers(dest="app_command", required=True)
    add = app_sub.add_parser("add", help="add or update an app")
    add.add_argument("--appid", required=True)
    add.add_argument("--token", required=True, help="the callback Token (3-32 letters or digits)")
    add.add_argument("--secret", default="")
    add.add_argument("--aes-key", default="", help="EncodingAESKey (43 characters)")
    add.add_argument("--prev-aes-key", default="", help="the previous EncodingAESKey during a key change")
    add.add_argument("--mode", choices=["plain", "compat", "safe"], default="safe")
    add.add_argument("--kind", choices=["oa", "mp"], default="oa")
    add.add_argument("--name", default="")
    add.add_argument("--original-id", default="", help="gh_... id; pushes for another account are refused")
    add.add_argument("--tenant", default="default", help="tenant slug (created when missing)")
    add.add_argument("--tenant-name", default="")
    add.set_defaults(func=cmd_app_add)
    app_sub.add_parser("list", help="list configured apps").set_defaults(func=cmd_app_list)

    for module_name in command_modules():
        importlib.import_module(module_name).register(sub)
    return parser


# Tools beside the product (the demo, the simulator, the reference core, menu and store QR
# commands); every feature's own commands come from its ``Feature.cli`` (bot/wiring/features.py).
TOOL_COMMANDS = (
    "bot.commands.demo",
    "wechat_sim.cli",
    "reference_core.cli",
    "bot.commands.menu",
    "bot.commands.tenant",
)


def command_modules() -> list[str]:
    from bot.wiring.features import FEATURES

    modules = list(TOOL_COMMANDS)
    for feature in FEATURES:
        modules.extend(m for m in feature.cli if m not in modules)
    # menu.py wires the core catalog into `order-parse`, so it registers after ordering's CLI
    modules.remove("bot.commands.menu")
    modules.append("bot.commands.menu")
    return modules


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from bot.commands.demo_guard import use_running_demo  # a demo running in ./var: its settings

    use_running_demo(args.command)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
