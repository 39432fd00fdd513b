"""Operator commands: gift and marketing catalogs, redemption orders, points campaigns, the
review queues (diversion alerts, refused scans, fraud flags) and member suspension."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.config import Settings


def register(
    subparsers: argparse._SubParsersAction,
    codes: argparse._SubParsersAction,
    membership: argparse._SubParsersAction,
    run: Any,
    tenant_of: Any,
) -> None:
    async def item_add(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
        from bot.db import session_scope
        from bot.membership import redemption

        tenant = await tenant_of(sessions, args.tenant)
        async with session_scope(sessions) as session:
            item = await redemption.add_item(
                session,
                tenant,
                catalog=args.catalog,
                name=args.name,
                points_cost=args.points,
                stock=args.stock,
                per_member_limit=args.limit,
                description=args.description,
            )
        print(f"item {item}: {args.name} ({args.catalog}) {args.points} points, stock {args.stock}")
        return 0

    async def items(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
        from bot.db import session_scope
        from bot.membership import redemption

        tenant = await tenant_of(sessions, args.tenant)
        async with session_scope(sessions) as session:
            for kind in ("gift", "marketing"):
                for i in await redemption.catalog(session, tenant, kind):
                    print(
                        f"{i.id}\t{kind}\t{i.name}\t{i.points_cost}\tstock={i.stock}\tlimit={i.per_member_limit}"
                    )
        return 0

    def order_action(action: str):
        async def runner(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
            from bot.db import session_scope
            from bot.membership import redemption
            from bot.membership.errors import MembershipError

            tenant = await tenant_of(sessions, args.tenant)
            try:
                async with session_scope(sessions) as session:
                    fn = redemption.fulfil if action == "fulfil" else redemption.cancel
                    changed = await fn(session, tenant, args.order)
            except MembershipError as exc:
                print(f"jiubot: {exc}", file=sys.stderr)
                return 2
            print(f"order {args.order}: {action + 'led' if changed else 'not pending, unchanged'}")
            return 0 if changed else 1

        return runner

    async def campaign(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
        from bot.db import session_scope
        from bot.membership import rules

        tenant = await tenant_of(sessions, args.tenant)
        async with session_scope(sessions) as session:
            cid = await rules.add_campaign(
                session,
                tenant,
                args.name,
                multiplier_pct=args.percent,
                starts_at=datetime.fromisoformat(args.start),
                ends_at=datetime.fromisoformat(args.end),
                sku=args.sku,
                region_code=args.region,
            )
        print(f"campaign {cid}: {args.name} x{args.percent}% {args.start} .. {args.end}")
        return 0

    async def review(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
        from sqlalchemy import select

        from bot.db import session_scope
        from bot.membership.code_models import DiversionAlert, FraudFlag, ScanRejection

        tenant = await tenant_of(sessions, args.tenant)
        async with session_scope(sessions) as session:
            alerts = select(DiversionAlert).where(DiversionAlert.tenant_id == tenant)
            if args.region:
                alerts = alerts.where(DiversionAlert.region_code == args.region)
            print("# diversion alerts (窜货)")
            for a in (
                await session.execute(alerts.order_by(DiversionAlert.id.desc()).limit(args.limit))
            ).scalars():
                place = f"{a.found_province}{a.found_city or ''} ({a.place_source})"
                print(
                    f"{a.created_at:%Y-%m-%d %H:%M}\tregion={a.region_code}\tbatch={a.batch_id}#{a.serial}"
                    f"\tdistributor={a.distributor_code or '-'}\tstore={a.store_code or '-'}\tfound={place}"
                )
            print("# refused scans of genuine codes")
            rows = select(ScanRejection).where(ScanRejection.tenant_id == tenant)
            for r in (
                await session.execute(rows.order_by(ScanRejection.id.desc()).limit(args.limit))
            ).scalars():
                print(
                    f"{r.created_at:%Y-%m-%d %H:%M}\t{r.reason}\tmember={r.member_id}"
                    f"\tcode={r.batch_id}#{r.serial}\t{r.channel}\tip={r.ip or '-'}\t{r.detail}"
                )
            print("# fraud flags")
            flags = select(FraudFlag).where(FraudFlag.tenant_id == tenant, FraudFlag.status == "open")
            for f in (await session.execute(flags.order_by(FraudFlag.id.desc()).limit(args.limit))).scalars():
                print(f"{f.created_at:%Y-%m-%d %H:%M}\t{f.kind}\tmember={f.member_id}\t{f.detail}")
        print("# forged or locked-out scans (Redis review stream, newest first)")
        import redis.asyncio as aioredis

        from bot.membership.fraud import FraudGuard
        from bot.redis import Keys

        client = aioredis.from_url(settings.redis_url)
        try:
            for entry in await FraudGuard(client, Keys(settings.redis_prefix)).recent_reviews(
                tenant, args.limit
            ):
                print(
                    f"{entry['id']}\t{entry['reason']}\tmember={entry['member'] or '-'}"
                    f"\tip={entry['ip'] or '-'}\t{entry['channel']}\t{entry['text']}"
                )
        finally:
            await client.aclose()
        return 0

    async def status(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
        from bot.db import session_scope
        from bot.membership import actions

        async with session_scope(sessions) as session:
            await actions.set_status(session, args.member, args.status)
        print(f"member {args.member}: {args.status}")
        return 0

    rewards = subparsers.add_parser(
        "rewards", help="gift / marketing-resource catalogs and redemption orders"
    )
    sub = rewards.add_subparsers(dest="rewards_command", required=True)

    def add(where, name: str, help_text: str, runner) -> argparse.ArgumentParser:
        parser = where.add_parser(name, help=help_text)
        parser.add_argument("--tenant", default=None, help="tenant slug (default: JIUBOT_TENANT_SLUG)")
        parser.set_defaults(func=run(runner))
        return parser

    p = add(sub, "add", "add a catalog item", item_add)
    p.add_argument("--catalog", choices=["gift", "marketing"], required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--points", type=int, required=True)
    p.add_argument("--stock", type=int, required=True)
    p.add_argument("--limit", type=int, default=0, help="per member (0 = no limit)")
    p.add_argument("--description", default="")
    add(sub, "list", "list catalog items", items)
    for action in ("fulfil", "cancel"):
        p = add(
            sub,
            action,
            f"{action} a pending redemption order" + (" (refunds points)" if action == "cancel" else ""),
            order_action(action),
        )
        p.add_argument("--order", type=int, required=True)

    p = add(
        codes,
        "campaign",
        "a points multiplier for a period (and SKU / region)",
        campaign,
    )
    p.add_argument("--name", required=True)
    p.add_argument("--percent", type=int, required=True, help="200 = double points")
    p.add_argument("--start", required=True, help="ISO datetime with offset, e.g. 2026-09-15T00:00+08:00")
    p.add_argument("--end", required=True)
    p.add_argument("--sku", default=None)
    p.add_argument("--region", default=None)
    p = add(
        codes,
        "review",
        "diversion alerts, refused scans and fraud flags for review",
        review,
    )
    p.add_argument("--region", default=None, help="only this region's diversion alerts")
    p.add_argument("--limit", type=int, default=50)

    member = membership
    p = add(member, "status", "suspend a member for review, or reactivate", status)
    p.add_argument("--member", type=int, required=True)
    p.add_argument("--status", choices=["active", "suspended"], required=True)


def register_store_qr(codes: argparse._SubParsersAction, run: Any, tenant_of: Any) -> None:
    """``jiubot codes store-qr``: the URL (and optionally an SVG) of a store's coupon QR."""

    async def store_qr(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
        from bot.membership.coupons import store_claim_path
        from bot.membership.settings import code_base_url, referral_secret

        tenant = await tenant_of(sessions, args.tenant)
        base = code_base_url(settings)
        link = base + store_claim_path(
            referral_secret(settings.secret_key), tenant, args.campaign, args.store
        )
        print(link)
        if args.svg:
            import segno

            segno.make(link, error="m").save(args.svg, scale=8, border=2)
        return 0

    parser = codes.add_parser("store-qr", help="a store's scan-to-claim coupon QR (URL, optional SVG)")
    parser.add_argument("--tenant", default=None)
    parser.add_argument("--campaign", required=True, help="the core's coupon campaign id")
    parser.add_argument("--store", required=True, help="the store's code")
    parser.add_argument("--svg", default=None)
    parser.set_defaults(func=run(store_qr))
