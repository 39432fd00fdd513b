"""Operator commands of chat ordering.

    jiubot menu push [--appid APPID] [--dry-run]    publish bot/ordering/menu.yaml to WeChat
    jiubot menu show [--appid APPID]                what WeChat currently has
    jiubot store qr --store S0001 [--appid APPID] [--days 30 | --permanent]
                                                    a store's binding QR code (scene bind:<token>)
    jiubot store revoke --store S0001               invalidate the store's binding codes

It also gives ``jiubot order-parse`` the core's catalog when ``JIUBOT_CORE_URL`` is set (the
order-parse command lives in ``bot.ordering``, which may not open HTTP sessions itself).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from bot.config import Settings, settings_or_exit

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from backend_client import CoreClient
    from bot.redis import Keys
    from bot.wechat.outbound import WeChatClient


def register(subparsers: argparse._SubParsersAction) -> None:
    menu = subparsers.add_parser("menu", help="the Official Account's custom menu")
    sub = menu.add_subparsers(dest="menu_command", required=True)
    push = sub.add_parser("push", help="publish the configured menu (bot/ordering/menu.yaml)")
    push.add_argument("--appid", default=None, help="default: JIUBOT_OA_APPID")
    push.add_argument("--dry-run", action="store_true", help="print the menu JSON, send nothing")
    push.set_defaults(func=cmd_menu_push)
    show = sub.add_parser("show", help="print the menu WeChat has now")
    show.add_argument("--appid", default=None)
    show.set_defaults(func=cmd_menu_show)

    store = subparsers.add_parser("store", help="stores in chat ordering: binding QR codes")
    store_sub = store.add_subparsers(dest="store_command", required=True)
    qr = store_sub.add_parser("qr", help="make a store's binding QR code for its owner")
    qr.add_argument("--store", required=True, help="the core's store code, e.g. S0001")
    qr.add_argument("--appid", default=None, help="default: JIUBOT_OA_APPID")
    qr.add_argument(
        "--days", type=int, default=None, help="temporary code lifetime (max 30; default setting)"
    )
    qr.add_argument("--permanent", action="store_true", help="a permanent QR code (the token never expires)")
    qr.add_argument("--by", default="operator", help="who made it (kept with the token)")
    qr.set_defaults(func=cmd_store_qr)
    revoke = store_sub.add_parser("revoke", help="invalidate every binding code of a store")
    revoke.add_argument("--store", required=True)
    revoke.set_defaults(func=cmd_store_revoke)

    order_parse = subparsers.choices.get("order-parse")
    if order_parse is not None:
        order_parse.set_defaults(core_opener=open_core_catalog)


@dataclass
class Context:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    keys: Keys
    wechat: WeChatClient
    core: CoreClient | None
    tenant_id: int


@contextlib.asynccontextmanager
async def context(settings: Settings, *, core: bool = False) -> AsyncIterator[Context]:
    """Database, Redis, the WeChat client and (optionally) the core client, for one command:
    the same runtime the app builds (``bot.wiring``), without its background work."""
    from bot.wiring.features import WECHAT
    from bot.wiring.runtime import open_runtime

    async with open_runtime(settings, [WECHAT], redis_mode="require") as runtime:
        services = runtime.services
        assert services.wechat is not None  # the WECHAT feature made it
        yield Context(
            settings,
            services.sessions,
            services.redis,
            services.keys,
            services.wechat,
            await services.cores.client(runtime.default_tenant_id) if core else None,
            runtime.default_tenant_id,
        )


def _appid(settings: Settings, given: str | None) -> str:
    appid = given or settings.oa_appid
    if not appid:
        print("jiubot: --appid is required (no JIUBOT_OA_APPID configured)", file=sys.stderr)
        raise SystemExit(2)
    return appid


# menu ------------------------------------------------------------------------------------------------
def cmd_menu_push(args: argparse.Namespace) -> int:
    from bot.ordering.menu import MenuInvalid, build_menu, settings_values

    settings = settings_or_exit()
    try:
        buttons = build_menu(settings_values(settings))
    except MenuInvalid as exc:
        for problem in exc.problems:
            print(f"jiubot: menu: {problem}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(orjson.dumps({"button": buttons}, option=orjson.OPT_INDENT_2).decode())
        return 0
    appid = _appid(settings, args.appid)
    return asyncio.run(_menu_push(settings, appid, buttons))


async def _menu_push(settings: Settings, appid: str, buttons: list[dict]) -> int:
    from bot.wechat.errors import WeChatError

    async with context(settings) as ctx:
        try:
            await ctx.wechat.menu.create(appid, buttons)
        except WeChatError as exc:
            print(
                f"jiubot: menu/create failed: errcode={exc.errcode} {exc.errmsg} rid={exc.rid}",
                file=sys.stderr,
            )
            return 1
    names = " | ".join(b["name"] for b in buttons)
    print(f"menu published to {appid}: {names}")
    return 0


def cmd_menu_show(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    appid = _appid(settings, args.appid)

    async def run() -> int:
        async with context(settings) as ctx:
            menu = await ctx.wechat.menu.get(appid)
        print(orjson.dumps(menu, option=orjson.OPT_INDENT_2).decode())
        return 0

    return asyncio.run(run())


# store binding codes -------------------------------------------------------------------------------------
def cmd_store_qr(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    if not settings.core_url:
        print("jiubot: JIUBOT_CORE_URL is required (the store is looked up in the core)", file=sys.stderr)
        return 2
    appid = _appid(settings, args.appid)
    days = args.days or settings.bind_qr_days
    if not args.permanent and not 1 <= days <= 30:
        print("jiubot: --days must be 1-30 (WeChat's limit for temporary QR codes)", file=sys.stderr)
        return 2
    return asyncio.run(_store_qr(settings, appid, args.store, None if args.permanent else days, args.by))


async def find_core_store(core: Any, code: str) -> Any | None:
    page = await core.org.stores(q=code, limit=50)
    return next((s for s in page.items if s.code == code), None)


async def make_binding_qr(
    ctx: Context, appid: str, code: str, days: int | None, by: str
) -> tuple[Any, str, Any]:
    """(the core's store, the scene, the QR code) -- also what the demo and tests call."""
    from bot.db import session_scope
    from bot.ordering import binding

    store = await find_core_store(ctx.core, code)
    if store is None:
        raise LookupError(code)
    async with session_scope(ctx.sessions) as session:
        token = await binding.create_token(
            session,
            ctx.tenant_id,
            binding.OWNER_TOKEN,
            store.id,
            created_by=by,
            ttl_seconds=days * 86400 if days else None,
        )
    scene, qr = await binding.binding_qr(ctx.wechat.qrcode, appid, token, days)
    return store, scene, qr


async def _store_qr(settings: Settings, appid: str, code: str, days: int | None, by: str) -> int:
    from backend_client import CoreError
    from bot.wechat.errors import WeChatError

    async with context(settings, core=True) as ctx:
        try:
            store, scene, qr = await make_binding_qr(ctx, appid, code, days, by)
        except LookupError:
            print(f"jiubot: no store {code} in the core", file=sys.stderr)
            return 1
        except (CoreError, WeChatError) as exc:
            print(f"jiubot: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    print(f"store      {store.code} {store.name} (core id {store.id})")
    print(f"scene      {scene}")
    print(f"qr url     {qr.url}")
    print(f"image      {qr.image_url}")
    print(f"expires    {'never' if days is None else f'in {days} days'}")
    return 0


def cmd_store_revoke(args: argparse.Namespace) -> int:
    settings = settings_or_exit()

    async def run() -> int:
        from bot.db import session_scope
        from bot.ordering import binding

        async with context(settings, core=True) as ctx:
            store = await find_core_store(ctx.core, args.store) if ctx.core else None
            if store is None:
                print(f"jiubot: no store {args.store} in the core", file=sys.stderr)
                return 1
            async with session_scope(ctx.sessions) as session:
                revoked = await binding.revoke_tokens(session, ctx.tenant_id, store.id)
        print(f"revoked {revoked} binding code(s) of {args.store}")
        return 0

    return asyncio.run(run())


# order-parse with the core's catalog ---------------------------------------------------------------------
@contextlib.asynccontextmanager
async def open_core_catalog(base_url: str, api_key: str) -> AsyncIterator[Any]:
    """What ``jiubot order-parse`` uses to read the core's catalog (a ``CatalogApi``)."""
    from aiohttp import ClientSession, ClientTimeout

    from backend_client import CoreClient

    async with ClientSession(timeout=ClientTimeout(total=10)) as http:
        yield CoreClient(http, base_url, api_key).catalog
