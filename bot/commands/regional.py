"""``jiubot campaign ...`` and ``jiubot storefront ...``: regional marketing centres' campaigns
and storefronts from the command line (until the operator console has their pages), acting as
an operator member (``--operator``; the policy of bot/campaigns/regional.py decides).

    jiubot campaign list --operator 12
    jiubot campaign create --operator 12 --file flash.json --key 2026-12-12-a [--region EAST]
    jiubot campaign stop --operator 12 34
    jiubot storefront publish --operator 12 --region EAST --file home.json
    jiubot storefront show --operator 12 --region EAST
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson


def register(subparsers: argparse._SubParsersAction) -> None:
    campaign = subparsers.add_parser("campaign", help="a region's campaigns (秒杀/拼单/拍卖) in the core")
    csub = campaign.add_subparsers(dest="action", required=True)
    listing = csub.add_parser("list", help="the campaigns this operator may see")
    listing.add_argument("--operator", type=int, required=True, help="the operator's member id")
    create = csub.add_parser("create", help="create a campaign from a JSON definition (the core's promotion)")
    create.add_argument("--operator", type=int, required=True)
    create.add_argument("--file", required=True, help="JSON: kind, name, starts_at, ends_at, rules ...")
    create.add_argument("--key", required=True, help="a request key: the same key never creates twice")
    create.add_argument("--region", default=None, help="HQ only: the region (default: nationwide)")
    stop = csub.add_parser("stop", help="stop a campaign now")
    stop.add_argument("--operator", type=int, required=True)
    stop.add_argument("campaign_id", type=int)
    campaign.set_defaults(func=_run)

    front = subparsers.add_parser("storefront", help="a region's mini-program home (页面装修)")
    fsub = front.add_subparsers(dest="action", required=True)
    publish = fsub.add_parser("publish", help="publish the next version of a region's home")
    publish.add_argument("--operator", type=int, required=True)
    publish.add_argument("--region", required=True, help='region code ("*": the tenant default, HQ only)')
    publish.add_argument("--file", required=True, help="JSON: banners, featured, campaign_blocks, shortcuts")
    show = fsub.add_parser("show", help="a region's published versions, newest first")
    show.add_argument("--operator", type=int, required=True)
    show.add_argument("--region", required=True)
    front.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from bot.config import settings_or_exit

    document = None
    if getattr(args, "file", None):
        try:
            document = orjson.loads(Path(args.file).read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            print(f"cannot read {args.file}: {exc}", file=sys.stderr)
            return 2
    return asyncio.run(_main(args, settings_or_exit(), document))


def _print(value: Any) -> None:
    print(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


async def _main(args: argparse.Namespace, settings: Any, document: Any) -> int:
    from bot.campaigns import regional, storefront
    from bot.db import session_scope
    from bot.wiring.features import CORE
    from bot.wiring.runtime import open_runtime

    async with open_runtime(settings, [CORE]) as runtime:
        services = runtime.services
        try:
            async with session_scope(services.sessions) as session:
                actor = await regional.operator_of(session, args.operator)
            if args.command == "storefront":
                async with session_scope(services.sessions) as session:
                    if args.action == "publish":
                        _print(await storefront.publish(session, actor, args.region, document))
                    else:
                        _print(await storefront.history(session, actor, args.region))
                return 0
            core = await services.cores.client(actor.tenant_id)
            if core is None:
                print("no core for the tenant (JIUBOT_CORE_URL): campaigns live in the core", file=sys.stderr)
                return 2
            now = datetime.now(UTC)
            if args.action == "list":
                _print(await regional.list_campaigns(core, actor, now))
            elif args.action == "create":
                _print(
                    await regional.create_campaign(
                        core, actor, document, request_key=args.key, region_code=args.region
                    )
                )
            else:
                _print(await regional.stop_campaign(core, actor, args.campaign_id, now))
        except regional.RegionalRefused as exc:
            print(f"refused: {exc.reason} {exc.detail}".strip(), file=sys.stderr)
            return 1
    return 0
