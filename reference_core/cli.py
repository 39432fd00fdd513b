"""``jiubot core``: serve the reference core standalone; ``jiubot core seed``: make a demo tenant;
``jiubot core openapi``: print the contract. Registered by bot/cli.py's COMMAND_MODULES.

Defaults come from the same environment variables jiubot reads for its side of the contract
(``JIUBOT_CORE_API_KEY``, ``JIUBOT_CORE_WEBHOOK_SECRET``), so one environment wires both ends.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reference_core.config import CoreConfig

DEFAULT_DB = "sqlite+aiosqlite:///var/core.sqlite3"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def register(subparsers: argparse._SubParsersAction) -> None:
    core = subparsers.add_parser("core", help="the reference core ordering & promotion API")
    core.add_argument("--host", default=_env("JIUBOT_CORE_HOST", "127.0.0.1"))
    core.add_argument("--port", type=int, default=int(_env("JIUBOT_CORE_PORT", "8090")))
    core.add_argument("--db", default=_env("JIUBOT_CORE_DATABASE_URL", DEFAULT_DB), help="database URL")
    core.add_argument(
        "--tenant", default=_env("JIUBOT_CORE_TENANT", "demo"), help="tenant slug for the keys below"
    )
    core.add_argument(
        "--api-key",
        action="append",
        default=None,
        help="accept this API key for the tenant (repeatable; default $JIUBOT_CORE_API_KEY)",
    )
    core.add_argument(
        "--webhook-url", default=_env("JIUBOT_CORE_WEBHOOK_URL"), help="where events are POSTed"
    )
    core.add_argument("--webhook-secret", default=_env("JIUBOT_CORE_WEBHOOK_SECRET"), help="HMAC secret")
    core.add_argument(
        "--time-scale",
        type=float,
        default=float(_env("JIUBOT_CORE_TIME_SCALE", "1")),
        help="logistics seconds per real second (3600: an hour per second)",
    )
    core.add_argument("--tick", type=float, default=1.0, help="logistics clock interval in seconds (0: off)")
    core.add_argument("--pool-size", type=int, default=10)
    core.add_argument("--no-admin", action="store_true", help="switch off /v1/admin/*")
    core.set_defaults(func=cmd_serve)
    sub = core.add_subparsers(dest="core_command")

    seed = sub.add_parser("seed", help="create or top up a realistic demo tenant")
    seed.add_argument("--db", default=_env("JIUBOT_CORE_DATABASE_URL", DEFAULT_DB))
    seed.add_argument("--tenant", default=_env("JIUBOT_CORE_TENANT", "demo"))
    seed.add_argument("--tenant-name", default="示例酒业")
    seed.add_argument(
        "--api-key",
        default=_env("JIUBOT_CORE_API_KEY") or None,
        help="register this key (default: generate one on the first run)",
    )
    seed.add_argument("--stores", type=int, default=200)
    seed.add_argument("--orders-per-store", type=int, default=3, help="delivered order history per store")
    seed.add_argument("--seed", type=int, default=2026, help="random seed (same seed, same data)")
    seed.add_argument(
        "--catalog", default=None, help="catalog YAML (default: reference_core/data/catalog.yaml)"
    )
    seed.add_argument("--webhook-url", default=_env("JIUBOT_CORE_WEBHOOK_URL") or None)
    seed.add_argument("--webhook-secret", default=_env("JIUBOT_CORE_WEBHOOK_SECRET") or None)
    seed.set_defaults(func=cmd_seed)

    spec = sub.add_parser("openapi", help="print the OpenAPI 3.1 document (backend_client/openapi.yaml)")
    spec.add_argument("--format", choices=["yaml", "json"], default="yaml")
    spec.set_defaults(func=cmd_openapi)


def build_config(args: argparse.Namespace) -> CoreConfig:
    from reference_core.config import CoreConfig, LogisticsConfig, TenantConfig

    keys = args.api_key if args.api_key is not None else [k for k in [_env("JIUBOT_CORE_API_KEY")] if k]
    tenants: tuple[TenantConfig, ...] = ()
    if keys or args.webhook_url:
        tenants = (
            TenantConfig(
                slug=args.tenant,
                api_keys=tuple(keys),
                webhook_url=args.webhook_url,
                webhook_secret=args.webhook_secret,
            ),
        )
    return CoreConfig(
        database_url=args.db,
        tenants=tenants,
        logistics=LogisticsConfig(time_scale=args.time_scale, tick_seconds=args.tick),
        admin_enabled=not args.no_admin,
        pool_size=args.pool_size,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from reference_core.app import create_core_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.time_scale <= 0:
        print("jiubot core: --time-scale must be positive", file=sys.stderr)
        return 2
    app = create_core_app(build_config(args))
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        loop = asyncio.new_event_loop()
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        loop=loop,
        access_log=None,
        print=lambda msg: print(msg, file=sys.stderr),
    )
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from pathlib import Path

    from reference_core.seed import seed_core

    result = asyncio.run(
        seed_core(
            args.db,
            tenant=args.tenant,
            tenant_name=args.tenant_name,
            api_key=args.api_key,
            stores=args.stores,
            orders_per_store=args.orders_per_store,
            catalog=Path(args.catalog) if args.catalog else None,
            random_seed=args.seed,
            webhook_url=args.webhook_url,
            webhook_secret=args.webhook_secret,
        )
    )
    print(
        f"tenant {result.tenant}: {result.product_count} products, {result.warehouse_count} warehouses, "
        f"{result.store_count} stores, {result.orders_created} history orders added"
    )
    for key in result.api_keys:
        print(f"api key: {key}")
    for store in result.stores:
        print(
            f"store {store.id} {store.code} {store.name} ({store.tier}): "
            f"owner {store.owner_name} {store.owner_phone}"
        )
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from reference_core.openapi import document, dump_yaml

    if args.format == "json":
        import json

        print(json.dumps(document(), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(dump_yaml(document()))
    return 0
