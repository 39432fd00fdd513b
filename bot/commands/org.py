"""``jiubot org sync [--tenant SLUG] [--allow-empty]`` and ``jiubot org tree [--tenant SLUG]``.

``sync`` mirrors the tenant's core's org tree (its own, or ``JIUBOT_CORE_URL`` / ``_API_KEY``) into the
console's ``console_org_nodes``; exit 0 on success, 1 when the core fails or the sync is refused,
2 when the core is not configured. ``tree`` prints the mirror, one node per line, by path.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.commands.runner import run, tenant_of
from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def register(subparsers: argparse._SubParsersAction) -> None:
    org = subparsers.add_parser("org", help="the brand's org tree (regions, distributors, stores)")
    sub = org.add_subparsers(dest="org_command", required=True)
    sync = sub.add_parser("sync", help="mirror the core's org tree now (idempotent)")
    sync.add_argument("--tenant", default=None, help="tenant slug (default: JIUBOT_TENANT_SLUG)")
    sync.add_argument(
        "--allow-empty", action="store_true", help="accept an empty tree from the core (deactivates all)"
    )
    sync.set_defaults(func=run(_sync))
    tree = sub.add_parser("tree", help="print the mirrored tree")
    tree.add_argument("--tenant", default=None, help="tenant slug (default: JIUBOT_TENANT_SLUG)")
    tree.add_argument("--all", action="store_true", help="include deactivated nodes")
    tree.set_defaults(func=run(_tree))


async def _sync(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> int:
    from backend_client import CoreError
    from bot.console.org import SyncRefused, sync_org
    from bot.wiring.core import core_directory
    from bot.wiring.runtime import http_session

    tenant = await tenant_of(sessions, args.tenant)
    async with http_session(total=30.0, connect=3.0) as http:
        client = await core_directory(sessions, settings, http).client(tenant)
        if client is None:
            print(
                "jiubot: the tenant has no core (JIUBOT_CORE_URL and JIUBOT_CORE_API_KEY, "
                "or `jiubot tenant core set`)",
                file=sys.stderr,
            )
            return 2
        try:
            result = await sync_org(sessions, client, tenant, allow_empty=args.allow_empty)
        except (CoreError, SyncRefused) as exc:
            print(f"jiubot: org sync failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    print(
        f"org synced: {result.regions} regions, {result.distributors} distributors, {result.stores} stores; "
        f"{result.created} created, {result.updated} updated, {result.deactivated} deactivated"
    )
    if result.orphans:
        print(f"skipped stores of unknown regions: {', '.join(map(str, result.orphans))}")
    return 0


async def _tree(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> int:
    from sqlalchemy import select

    from bot.console.org_models import OrgNode
    from bot.db import session_scope

    tenant = await tenant_of(sessions, args.tenant)
    stmt = select(OrgNode).where(OrgNode.tenant_id == tenant).order_by(OrgNode.path)
    if not args.all:
        stmt = stmt.where(OrgNode.active.is_(True))
    async with session_scope(sessions) as session:
        rows = (await session.scalars(stmt)).all()
    for row in rows:
        indent = "  " * (row.path.count("/") - 2)
        flag = "" if row.active else "\t(deactivated)"
        print(f"{indent}{row.kind}\t{row.code}\t{row.name}\t{row.path}{flag}")
    print(f"{len(rows)} nodes")
    return 0
