"""``jiubot demo``: jiubot, the WeChat simulator and the reference core in one process.

Embedded defaults: SQLite under ``./var/`` (jiubot and the core, each its own file), the
simulator's state in ``var/wechat_sim.json``, Redis when one answers (else the in-process
stand-in, with a loud log line). The simulator is mounted at ``/wxsim`` (jiubot's WeChat API base
points there and the simulator's callbacks come back to ``/wechat/<appid>``), the reference core
at ``/refcore`` (its webhooks come back to ``/core/webhook``). A demo tenant, an Official Account
(safe mode), a mini-program, the menu and three simulated people are seeded; a second run keeps
everything. Ctrl-C stops cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

DEMO_OA = "wxdemooa00000001"
DEMO_MP = "wxdemomp00000001"
DEMO_TOKEN = "jiubotDemoToken1"
DEMO_AES_KEY = "jiubotDemoAesKey0123456789abcdefghijklmnopq"
DEMO_GROUP = "jiubot-demo"
CORE_TENANT = "demo"
CORE_KEY = "demo-core-api-key-2026"
WEBHOOK_SECRET = "demo-core-webhook-secret"
SIM_PREFIX = "/wxsim"
CORE_PREFIX = "/refcore"


@dataclass(frozen=True)
class DemoPerson:
    person_id: str
    name: str
    role: str
    phone: str = ""


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="jiubot + WeChat simulator + reference core in one process")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--var", default="var", help="folder for the demo's databases and state")
    demo.add_argument("--stores", type=int, default=200, help="stores the reference core is seeded with")
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.cli import _loop_factory, _settings
    from bot.migrate import upgrade
    from bot.observability import configure_logging

    var = Path(args.var)
    var.mkdir(parents=True, exist_ok=True)
    base = f"http://{args.host}:{args.port}"
    settings = _settings(
        # Redis state belongs to this var/ folder: deleting var/ to start over must not leave
        # member caches, leases or carts pointing at rows that no longer exist.
        redis_prefix=os.environ.get("JIUBOT_REDIS_PREFIX", "jiubot:") + f"demo-{_installation(var)}:",
        redis_mode="fallback",
        wechat_api_base=base + SIM_PREFIX,
        core_url=base + CORE_PREFIX,
        core_api_key=CORE_KEY,
        core_webhook_secret=WEBHOOK_SECRET,
        oa_appid=DEMO_OA,
        oa_secret="demo-oa-secret",
        oa_token=DEMO_TOKEN,
        oa_aes_key=DEMO_AES_KEY,
        oa_mode="safe",
        public_base_url=base,
        host=args.host,
        port=args.port,
        log_format="console",
    )
    configure_logging(settings.log_level, settings.log_format, secret_key=settings.secret_key)
    if settings.is_sqlite:
        upgrade(settings.database_url)
    loop = _loop_factory()()
    try:
        return loop.run_until_complete(_run(settings, var, base, args.stores))
    finally:
        loop.close()


def _installation(var: Path) -> str:
    path = var / "installation-id"
    if not path.exists():
        path.write_text(secrets.token_hex(4))
    return path.read_text().strip()


async def _run(settings, var: Path, base: str, stores: int) -> int:  # type: ignore[no-untyped-def]
    from bot.app import freeze_heap_after_startup
    from reference_core.seed import seed_core

    core_db = f"sqlite+aiosqlite:///{var / 'core.sqlite3'}"
    print(
        f"[demo] seeding the reference core ({stores} stores) in {var / 'core.sqlite3'} ...", file=sys.stderr
    )
    seeded = await seed_core(
        core_db,
        tenant=CORE_TENANT,
        api_key=CORE_KEY,
        stores=stores,
        webhook_url=base + "/core/webhook",
        webhook_secret=WEBHOOK_SECRET,
    )
    await _register_mini_program(settings)
    app = freeze_heap_after_startup(build(settings, var, core_db))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        people = _demo_people(seeded)
        store = seeded.stores[0] if seeded.stores else None
        scene = await _after_start(app, people, store.code if store else None)
        _banner(base, people, scene, store)
        await stop.wait()
    finally:
        print("\n[demo] stopping ...", file=sys.stderr)
        await runner.cleanup()
    return 0


def build(settings, var: Path, core_db: str) -> web.Application:  # type: ignore[no-untyped-def]
    """The one-process application: jiubot with the simulator and the core mounted inside."""
    from bot.app import create_app
    from reference_core.app import create_core_app
    from reference_core.config import CoreConfig, LogisticsConfig, TenantConfig
    from wechat_sim.app import create_sim_app
    from wechat_sim.config import SimConfig
    from wechat_sim.model import App

    base = settings.public_base_url
    sim = create_sim_app(
        SimConfig(
            apps=[
                App(
                    DEMO_OA,
                    settings.oa_secret,
                    token=DEMO_TOKEN,
                    aes_key=DEMO_AES_KEY,
                    mode="safe",
                    callback_url=f"{base}/wechat/{DEMO_OA}",
                    name="示例酒业服务号",
                    group=DEMO_GROUP,
                ),
                App(DEMO_MP, "demo-mp-secret", kind="mp", name="示例酒业订货", group=DEMO_GROUP),
            ],
            state_path=var / "wechat_sim.json",
        )
    )
    core = create_core_app(
        CoreConfig(
            database_url=core_db,
            tenants=(
                TenantConfig(
                    slug=CORE_TENANT,
                    name="示例酒业",
                    api_keys=(CORE_KEY,),
                    webhook_url=f"{base}/core/webhook",
                    webhook_secret=WEBHOOK_SECRET,
                ),
            ),
            # an hour of logistics passes every ten seconds, so an order ships while you watch
            logistics=LogisticsConfig(time_scale=360.0),
        )
    )
    app = create_app(settings)
    app.add_subapp(SIM_PREFIX, sim)
    app.add_subapp(CORE_PREFIX, core)
    app[SIM_APP] = sim
    return app


SIM_APP = web.AppKey("demo_sim_app", web.Application)


async def _register_mini_program(settings) -> None:  # type: ignore[no-untyped-def]
    from bot.db import create_engine, session_factory, session_scope
    from bot.tenancy import repository

    engine = create_engine(settings.database_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            tenant = await repository.get_or_create_tenant(
                session, settings.tenant_slug, settings.tenant_name
            )
            await repository.upsert_app(
                session,
                tenant.id,
                DEMO_MP,
                kind="mp",
                secret="demo-mp-secret",
                token=DEMO_TOKEN,
                mode="plain",
                name="示例酒业订货",
                active=True,
            )
    finally:
        await engine.dispose()


def _demo_people(seeded) -> list[DemoPerson]:  # type: ignore[no-untyped-def]
    store = seeded.stores[0] if seeded.stores else None
    return [
        DemoPerson(
            "boss-zhang",
            f"{store.owner_name}（{store.name}）" if store else "张老板",
            "store_owner",
            store.owner_phone if store else "13800000001",
        ),
        DemoPerson("consumer-li", "李女士", "consumer", "13900000002"),
        DemoPerson("distributor-wang", "王经理（经销商）", "distributor", "13700000003"),
    ]


class TerminalSms:
    """The demo's SMS gateway: the message still goes to the development outbox, and is printed
    here, because the terminal is the store owner's phone in the demo."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner

    async def send(self, phone: str, text: str, *, purpose: str) -> None:
        await self.inner.send(phone, text, purpose=purpose)
        print(f"[demo] 短信 -> {phone}: {text}", flush=True)


async def _after_start(app: web.Application, people: list[DemoPerson], store_code: str | None) -> str | None:
    """Work that needs the server listening: the simulator's people, the menu and a binding QR
    for the demo store owner. Returns the binding scene."""
    from bot import keys
    from wechat_sim.app import SIM_STATE

    sim = app[SIM_APP][SIM_STATE]
    for person in people:
        sim.ensure_person(person.person_id, person.name, person.role, phone=person.phone)
    services = app[keys.SERVICES]
    await _demo_operator(services)
    ordering = services.extras.get("ordering")
    if ordering is not None:
        ordering.sms = TerminalSms(ordering.sms)
    client = services.extras.get("wechat.client")
    if client is None:
        return None
    try:
        from bot.ordering.menu import build_menu

        values = {"public_base_url": services.settings.public_base_url, "order_mp_appid": DEMO_MP}
        await client.menu.create(DEMO_OA, build_menu(values))
    except Exception as exc:  # the demo still runs; the console shows no menu
        print(f"[demo] could not publish the menu: {exc}", file=sys.stderr)
    core = services.extras.get("core.client")
    if store_code is None or core is None:
        return None
    try:
        from bot.commands.menu import Context, make_binding_qr

        oa = await services.registry.get(DEMO_OA)
        ctx = Context(
            services.settings,
            services.sessions,
            services.redis,
            services.keys,
            client,
            core,
            oa.tenant_id if oa else 0,
        )
        _, scene, _ = await make_binding_qr(ctx, DEMO_OA, store_code, 30, "demo")
        return scene
    except Exception as exc:  # the demo still runs; binding needs `jiubot store qr`
        print(f"[demo] could not make the store binding QR: {exc}", file=sys.stderr)
        return None


DEMO_OPERATOR = ("admin", "demo-admin-2026")  # the console's HQ admin of the demo tenant


async def _demo_operator(services) -> None:  # type: ignore[no-untyped-def]
    from bot.console import accounts
    from bot.db import session_scope

    oa = await services.registry.get(DEMO_OA)
    async with session_scope(services.sessions) as session:
        await accounts.ensure(
            session,
            oa.tenant_id,
            username=DEMO_OPERATOR[0],
            password=DEMO_OPERATOR[1],
            role="hq_admin",
            display_name="演示管理员",
        )


def _banner(base: str, people: list[DemoPerson], scene: str | None, store) -> None:  # type: ignore[no-untyped-def]
    console = f"{base}{SIM_PREFIX}/_sim/console"
    bind = (
        [
            f"  bind the demo store:       as {people[0].name} [{people[0].person_id}], "
            f"scan the QR scene {scene}",
            f"                             ({store.name}; the SMS code is printed here)",
        ]
        if scene and store
        else []
    )
    lines = [
        "",
        "jiubot demo is running.",
        f"  chat console (open this):  {console}",
        f"  operator console:          {base}/console/  (sign in as {DEMO_OPERATOR[0]} / {DEMO_OPERATOR[1]})",
        f"  jiubot callback:           {base}/wechat/{DEMO_OA}",
        f"  reference core API:        {base}{CORE_PREFIX}/openapi.json",
        f"  health:                    {base}/readyz",
        "  simulated people:          " + ", ".join(f"{p.name} [{p.person_id}]" for p in people),
        *bind,
        "Follow the account in the console, tap the menu, or type 帮助. Ctrl-C stops.",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":  # pragma: no cover
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(cmd_demo(argparse.Namespace(host="127.0.0.1", port=8080, var="var", stores=200)))
