"""``jiubot codes ...``: regions, batches, printing files, activation, voiding, verification."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.config import Settings


def _keys(settings: Settings):
    from bot.membership.codes import CodeKeys
    from bot.membership.settings import code_master_key

    master, derived = code_master_key(settings)
    if derived:
        print(
            "jiubot: warning: JIUBOT_CODE_KEY is not set; codes are keyed from the secret key",
            file=sys.stderr,
        )
    return CodeKeys(master)


def _base_url(settings: Settings) -> str:
    from bot.membership.settings import code_base_url

    return code_base_url(settings)


def _write_files(job, args: argparse.Namespace, count: int) -> None:
    """Blocking file and process-pool work, off the event loop."""
    from bot.membership import codegen

    started = time.perf_counter()
    if args.out == "-":
        written = codegen.write_csv(sys.stdout, job, args.start, count)
    else:
        with open(args.out, "w", encoding="utf-8", newline="") as handle:
            written = codegen.write_csv(handle, job, args.start, count)
    elapsed = time.perf_counter() - started
    print(
        f"{written} codes written in {elapsed:.1f} s ({written / max(elapsed, 1e-9):,.0f}/s)", file=sys.stderr
    )
    if args.zip:
        started = time.perf_counter()
        mask = None if args.mask == "auto" else int(args.mask)
        images = codegen.write_zip(args.zip, job, args.start, count, workers=args.workers, mask=mask)
        elapsed = time.perf_counter() - started
        print(
            f"{images} QR SVGs zipped in {elapsed:.1f} s ({images / max(elapsed, 1e-9):,.0f}/s)",
            file=sys.stderr,
        )


async def _check_sku(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tenant: int, args: argparse.Namespace
) -> str:
    """Why the batch's SKU is refused ("" when it is fine): with a core configured for the tenant
    (its own or the default), the SKU must be in its catalog (printed codes live for years; a typo
    would credit nothing)."""
    from backend_client import CoreError, NotFound
    from bot.wiring.core import core_directory
    from bot.wiring.runtime import http_session

    try:
        async with http_session(total=10.0, connect=3.0) as http:
            client = await core_directory(sessions, settings, http).client(tenant)
            if client is None:
                return ""
            await client.catalog.product(args.sku)
    except NotFound:
        return (
            f"unknown SKU {args.sku!r}: the core's catalog has no such product "
            "(list them with `jiubot order-parse` or the core's /v1/products)"
        )
    except CoreError as exc:
        return (
            f"cannot check SKU {args.sku!r} against the core's catalog ({exc.code}: {exc}); nothing created"
        )
    return ""


def register(subparsers: argparse._SubParsersAction, run: Any, tenant_of: Any) -> argparse._SubParsersAction:
    async def region_set(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
        from bot.db import session_scope
        from bot.membership import regions

        tenant = await tenant_of(sessions, args.tenant)
        split = lambda s: [p for p in (s or "").replace("，", ",").split(",") if p]  # noqa: E731
        async with session_scope(sessions) as session:
            view = await regions.define_region(
                session,
                tenant,
                args.code,
                args.name,
                provinces=split(args.provinces),
                cities=split(args.cities),
            )
        print(f"region {view.code} {view.name}: {view.describe()}")
        return 0

    async def batch_create(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
        from bot.db import session_scope
        from bot.membership import batches
        from bot.membership.errors import MembershipError

        tenant = await tenant_of(sessions, args.tenant)
        problem = await _check_sku(settings, sessions, tenant, args)
        if problem:
            print(f"jiubot: {problem}", file=sys.stderr)
            return 2
        try:
            async with session_scope(sessions) as session:
                batch = await batches.create_batch(
                    session,
                    tenant,
                    brand=args.brand,
                    sku=args.sku,
                    product_name=args.name,
                    size=args.size,
                    region_code=args.region,
                    distributor_code=args.distributor,
                    note=args.note,
                )
                if args.activate:
                    await batches.mark_range(
                        session,
                        tenant,
                        batch.id,
                        1,
                        batch.size,
                        "activate",
                        distributor_code=args.distributor,
                    )
        except MembershipError as exc:
            print(f"jiubot: {exc}", file=sys.stderr)
            return 2
        print(f"batch {batch.id}: {batch.product_name} ({batch.sku}) x {batch.size}")
        return 0

    async def batch_list(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
        from bot.db import session_scope
        from bot.membership import batches

        tenant = await tenant_of(sessions, args.tenant)
        async with session_scope(sessions) as session:
            for b in await batches.list_batches(session, tenant):
                where = f"{b.region_code or '-'}\t{b.distributor_code or '-'}"
                print(f"{b.id}\t{b.brand}\t{b.sku}\t{b.product_name}\t{b.size}\t{where}")
        return 0

    def mark(action: str):
        async def runner(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
            from bot.db import session_scope
            from bot.membership import batches
            from bot.membership.errors import MembershipError

            tenant = await tenant_of(sessions, args.tenant)
            try:
                async with session_scope(sessions) as session:
                    batch = await batches.get_batch(session, args.batch, tenant)
                    last = args.last or batch.size
                    await batches.mark_range(
                        session,
                        tenant,
                        args.batch,
                        args.first,
                        last,
                        action,
                        store_code=getattr(args, "store", None),
                        distributor_code=getattr(args, "distributor", None),
                        note=args.note,
                    )
            except MembershipError as exc:
                print(f"jiubot: {exc}", file=sys.stderr)
                return 2
            print(f"batch {args.batch}: serials {args.first}-{last} {action}d")
            return 0

        return runner

    async def generate(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
        from bot.db import session_scope
        from bot.membership import batches, codegen
        from bot.membership.errors import MembershipError

        tenant = await tenant_of(sessions, args.tenant)
        async with session_scope(sessions) as session:
            try:
                batch = await batches.get_batch(session, args.batch, tenant)
            except MembershipError as exc:
                print(f"jiubot: {exc}", file=sys.stderr)
                return 2
        count = args.count or batch.size - args.start + 1
        if args.start < 1 or args.start + count - 1 > batch.size:
            print(f"jiubot: serials must lie in 1..{batch.size}", file=sys.stderr)
            return 2
        job = codegen.Job(_keys(settings).key(tenant), tenant, batch.id, _base_url(settings))
        await asyncio.to_thread(_write_files, job, args, count)
        return 0

    async def verify(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
        from bot.db import session_scope
        from bot.membership import batches
        from bot.membership.codes import InvalidCode, extract, parse

        try:
            ref = parse(_keys(settings), extract(args.code))
        except InvalidCode as exc:
            print(f"invalid code ({exc.reason})")
            return 1
        async with session_scope(sessions) as session:
            batch = await batches.get_batch(session, ref.batch_id)
            state = await batches.code_state(session, ref.batch_id, ref.serial)
        where = f"tenant {ref.tenant_id} batch {ref.batch_id} serial {ref.serial}"
        print(f"genuine: {where} {batch.product_name} [{state.state}]")
        return 0

    async def rule_set(settings: Settings, sessions: async_sessionmaker[AsyncSession], args) -> int:
        from bot.db import session_scope
        from bot.membership import rules

        tenant = await tenant_of(sessions, args.tenant)
        async with session_scope(sessions) as session:
            await rules.set_rule(
                session, tenant, args.sku, scan_points=args.points, store_reward=args.store_reward
            )
        print(f"rule {args.sku}: {args.points} points per bottle, store reward {args.store_reward}")
        return 0

    codes = subparsers.add_parser("codes", help="bottle codes (一物一码): batches, printing, activation")
    sub = codes.add_subparsers(dest="codes_command", required=True)

    def add(name: str, help_text: str, runner, where=None) -> argparse.ArgumentParser:
        parser = (where or sub).add_parser(name, help=help_text)
        parser.add_argument("--tenant", default=None, help="tenant slug (default: JIUBOT_TENANT_SLUG)")
        parser.set_defaults(func=run(runner))
        return parser

    region = add("region", "define a sales region as provinces and cities", region_set)
    region.add_argument("--code", required=True)
    region.add_argument("--name", required=True)
    region.add_argument("--provinces", default="", help="comma-separated, e.g. 四川,贵州")
    region.add_argument("--cities", default="", help="comma-separated, e.g. 重庆")

    batch_sub = sub.add_parser("batch", help="code batches").add_subparsers(
        dest="batch_command", required=True
    )
    create = add(
        "create", "create a batch (brand, SKU, region/distributor shipped to, size)", batch_create, batch_sub
    )
    create.add_argument("--brand", required=True)
    create.add_argument("--sku", required=True)
    create.add_argument("--name", required=True, help="product name shown to consumers")
    create.add_argument("--size", type=int, required=True)
    create.add_argument("--region", default=None, help="sales region code the batch ships to")
    create.add_argument("--distributor", default=None)
    create.add_argument("--note", default="")
    create.add_argument("--activate", action="store_true", help="activate every code at once")

    add("list", "list batches", batch_list, batch_sub)

    for action, verb in (("activate", "activate (shipped)"), ("void", "void")):
        parser = add(action, f"{verb} a serial range of a batch", mark(action))
        parser.add_argument("--batch", type=int, required=True)
        parser.add_argument("--from", dest="first", type=int, default=1)
        parser.add_argument("--to", dest="last", type=int, default=0, help="default: the batch's last serial")
        parser.add_argument("--note", default="")
        if action == "activate":
            parser.add_argument("--store", default=None, help="store the bottles went to (开瓶奖励)")
            parser.add_argument("--distributor", default=None)

    gen = add("generate", "stream a CSV of code URLs (and a ZIP of QR SVGs) for the printer", generate)
    gen.add_argument("--batch", type=int, required=True)
    gen.add_argument("--count", type=int, default=0, help="default: the whole batch")
    gen.add_argument("--start", type=int, default=1)
    gen.add_argument("--out", default="-", help="CSV path, - for stdout")
    gen.add_argument("--zip", default=None, help="also write QR SVGs into this ZIP")
    gen.add_argument("--workers", type=int, default=2)
    gen.add_argument("--mask", default="4", help="QR mask 0-7, or auto (4x slower)")

    ver = add("verify", "check a code or URL", verify)
    ver.add_argument("code")

    rule = add("rule", "points per bottle of a SKU and the store's 开瓶奖励", rule_set)
    rule.add_argument("--sku", required=True)
    rule.add_argument("--points", type=int, required=True)
    rule.add_argument("--store-reward", type=int, default=0)
    return sub
