"""``jiubot demo``: jiubot, the WeChat simulator and the reference core in one process.

Embedded defaults: SQLite under ``./var/`` (``--var``; jiubot and the core, each its own file),
the simulator's state in ``var/wechat_sim.json``, Redis when one answers (else the in-process
stand-in, with a loud log line). The simulator is mounted at ``/wxsim`` and plays WeChat for
everything: jiubot's WeChat API base points there (tokens, menus, pushes, QR codes, the JS-SDK
ticket), the simulator's callbacks come back to ``/wechat/<appid>``, web authorization of the H5
pages goes to its authorize page, its in-phone browser counts as WeChat's (a cookie only the demo
trusts), SMS reach its simulated phones. The reference core is at ``/refcore`` (its webhooks come
back to ``/core/webhook``). A demo tenant, an Official Account (safe mode), a mini-program, the
menu, three simulated people and the demo materials (``demo_seed``: bottle codes, a store coupon
QR, the distributor) are seeded; a second run keeps everything. One demo per data folder
(``demo_guard``); while it runs, ``var/demo.env`` lets operator commands in another terminal use
it. Ctrl-C stops cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import secrets
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # aiohttp is imported when the demo runs, not when ``jiubot`` builds its parser
    from aiohttp import web

from bot.commands.demo_banner import CORE_PREFIX, DEMO_OA, SIM_PREFIX, print_banner
from bot.commands.demo_guard import remove_env, write_env

DEMO_MP = "wxdemomp00000001"
DEMO_TOKEN = "jiubotDemoToken1"
DEMO_AES_KEY = "jiubotDemoAesKey0123456789abcdefghijklmnopq"
# The OA's original id (ToUserName of its pushes; what the simulator derives for DEMO_OA): set so
# that callbacks addressed to another account are refused (400 wrong_account).
DEMO_ORIGINAL_ID = "gh_80a3d95a2690"
DEMO_GROUP = "jiubot-demo"
CORE_TENANT = "demo"
CORE_KEY = "demo-core-api-key-2026"
WEBHOOK_SECRET = "demo-core-webhook-secret"
DEMO_BRAND = "示例酒业"
PERSON_COOKIE = "wxsim_person"  # the simulator's in-phone browser (wechat_sim.api.oauth)


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
    from bot.commands.demo_guard import DemoLock, DemoRefused, check_port

    var = Path(args.var)
    var.mkdir(parents=True, exist_ok=True)
    lock = DemoLock(var)
    try:
        lock.acquire()
        check_port(args.host, args.port)
    except DemoRefused as exc:
        lock.release()
        print(exc, file=sys.stderr)
        return 2
    try:
        return _demo(args, var)
    finally:
        lock.release()


def _demo(args: argparse.Namespace, var: Path) -> int:
    """The demo itself, once it owns ``var`` and its port is free."""
    from bot.cli import _loop_factory
    from bot.config import settings_or_exit as _settings
    from bot.migrate import upgrade
    from bot.observability import configure_logging

    base = f"http://{args.host}:{args.port}"
    # WeChat, as the demo's H5 pages see it, is the simulator: OAuth authorizes there, the
    # simulator's in-phone browser counts as WeChat's, printed codes carry the demo's address.
    os.environ.update(
        JIUBOT_OAUTH_AUTHORIZE_URL=f"{base}{SIM_PREFIX}/connect/oauth2/authorize",
        JIUBOT_WECHAT_BROWSER_COOKIE=PERSON_COOKIE,
        JIUBOT_CODE_BASE_URL=base,
        JIUBOT_CONTENT_JSSDK_URL=f"{base}{SIM_PREFIX}/_sim/static/jweixin.js",
    )
    database_url = (
        os.environ.get("JIUBOT_DATABASE_URL") or f"sqlite+aiosqlite:///{var.resolve() / 'jiubot.sqlite3'}"
    )
    settings = _settings(
        database_url=database_url,
        tenant_name=DEMO_BRAND,
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
        oa_original_id=DEMO_ORIGINAL_ID,
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
        remove_env(var)
        loop.close()


def _installation(var: Path) -> str:
    path = var / "installation-id"
    if not path.exists():
        path.write_text(secrets.token_hex(4))
    return path.read_text().strip()


async def _run(settings, var: Path, base: str, stores: int) -> int:
    from aiohttp import web

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
        materials = await _materials(app, store.code if store else None)
        lapsed = await _lapsed(app, core_db, seeded.stores)
        write_env(var, _connection_facts(settings))
        print_banner(base, people, scene, store, materials, lapsed)
        await stop.wait()
    finally:
        print("\n[demo] stopping ...", file=sys.stderr)
        await runner.cleanup()
    return 0


def build(settings, var: Path, core_db: str) -> web.Application:
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
                    original_id=DEMO_ORIGINAL_ID,
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
    app[_sim_app_key()] = sim
    return app


@functools.cache
def _sim_app_key() -> web.AppKey[web.Application]:
    """The key the simulator's app is kept under (made on first use: see the imports above)."""
    from aiohttp import web

    return web.AppKey("demo_sim_app", web.Application)


async def _register_mini_program(settings) -> None:
    from bot.db import create_engine, session_factory, session_scope
    from bot.tenancy import repository

    engine = create_engine(settings.database_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            tenant = await repository.get_or_create_tenant(
                session, settings.tenant_slug, settings.tenant_name
            )
            tenant.name = settings.tenant_name  # a folder from an older demo still said 默认品牌
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


def _demo_people(seeded) -> list[DemoPerson]:
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


def _connection_facts(settings) -> dict[str, str]:
    """What operator commands in a second terminal need to work on this demo (var/demo.env)."""
    facts = {
        "JIUBOT_DATABASE_URL": settings.database_url,
        "JIUBOT_REDIS_URL": settings.redis_url,
        "JIUBOT_REDIS_PREFIX": settings.redis_prefix,
        "JIUBOT_WECHAT_API_BASE": settings.wechat_api_base,
        "JIUBOT_CORE_URL": settings.core_url,
        "JIUBOT_CORE_API_KEY": settings.core_api_key,
        "JIUBOT_CORE_WEBHOOK_SECRET": settings.core_webhook_secret,
        "JIUBOT_OA_APPID": settings.oa_appid,
        "JIUBOT_OA_SECRET": settings.oa_secret,
        "JIUBOT_OA_TOKEN": settings.oa_token,
        "JIUBOT_OA_AES_KEY": settings.oa_aes_key,
        "JIUBOT_OA_MODE": settings.oa_mode,
        "JIUBOT_PUBLIC_BASE_URL": settings.public_base_url,
        "JIUBOT_TENANT_NAME": settings.tenant_name,
    }
    for key in ("JIUBOT_OAUTH_AUTHORIZE_URL", "JIUBOT_CODE_BASE_URL"):
        facts[key] = os.environ[key]
    return facts


async def _after_start(app: web.Application, people: list[DemoPerson], store_code: str | None) -> str | None:
    from bot import keys
    from bot.commands.demo_seed import after_start
    from wechat_sim.app import SIM_STATE

    sim = app[_sim_app_key()][SIM_STATE]
    return await after_start(
        app[keys.SERVICES], sim, people, store_code, oa=DEMO_OA, mp=DEMO_MP, brand=DEMO_BRAND
    )


async def _lapsed(app: web.Application, core_db: str, stores):
    """The lapsed store and its owner for the win-back journey (``demo_winback``)."""
    from bot import keys
    from bot.commands.demo_winback import seed_lapsed_store
    from wechat_sim.app import SIM_STATE

    sim = app[_sim_app_key()][SIM_STATE]
    return await seed_lapsed_store(app[keys.SERVICES], sim, DEMO_OA, (core_db, CORE_TENANT), stores)


async def _materials(app: web.Application, store_code: str | None):
    """Bottle codes, the store's coupon QR and the distributor, also listed in the console."""
    from bot import keys
    from bot.commands.demo_seed import seed_materials
    from wechat_sim.app import SIM_STATE

    sim = app[_sim_app_key()][SIM_STATE]
    services = app[keys.SERVICES]
    materials = await seed_materials(services, DEMO_OA, store_code, sim.openid("distributor-wang", DEMO_OA))
    for serial, url in enumerate(materials.code_urls, start=1):
        sim.phone.print_code(f"#{serial} {materials.product}", url, "code")
    if materials.store_coupon_url:
        sim.phone.print_code(materials.store_coupon_name, materials.store_coupon_url, "store")
    sim.touch()
    return materials


if __name__ == "__main__":  # pragma: no cover
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(cmd_demo(argparse.Namespace(host="127.0.0.1", port=8080, var="var", stores=200)))
