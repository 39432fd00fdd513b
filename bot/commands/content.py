"""``jiubot content ...``: stats (per item and per forwarder), add / submit / approve items,
upload an image, schedule a livestream. Light imports at registration (``jiubot --help``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.commands.membership import run, tenant_of
from bot.commands.runner import run_on
from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.wiring.feature import Runtime


async def _stats(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.content import jobs, stats
    from bot.db import session_scope

    sessions, content = runtime.services.sessions, runtime.services.content
    assert content is not None  # the CONTENT feature's runtime (run_on ... [CONTENT])
    tenant_id = await tenant_of(sessions, args.tenant)
    # figures up to now: views still in the stream first, then the credits' safety net
    if content.views is not None:
        await content.views.drain(sessions)
    await jobs.sweep_all(sessions, content)
    async with session_scope(sessions) as session:
        report = {
            "items": await stats.per_item(session, tenant_id),
            "forwarders": await stats.per_forwarder(session, tenant_id),
        }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    for row in report["items"]:
        print(
            f"item {row['item_id']} {row['title']}: views {row['views']} unique {row['unique_viewers']} "
            f"follows {row['follows']} scans {row['scans']} orders {row['orders']} rewards {row['rewards']}"
        )
    for row in report["forwarders"]:
        print(
            f"forwarder {row['forwarder_id']}: views {row['views']} unique {row['unique_viewers']} "
            f"follows {row['follows']} scans {row['scans']} orders {row['orders']} rewards {row['rewards']}"
        )
    return 0


async def _add(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> int:
    from bot.content import images, library, storage
    from bot.content.errors import ContentError
    from bot.content.runtime import ContentRuntime
    from bot.db import session_scope

    tenant_id = await tenant_of(sessions, args.tenant)
    image_key = ""
    raw = await asyncio.to_thread(Path(args.image).read_bytes) if args.image else b""
    body = await asyncio.to_thread(Path(args.body).read_text) if args.body else ""
    try:
        if args.image:
            data, ext = images.sanitise(raw)
            image_key = storage.content_key(data, ext)
            await ContentRuntime.from_settings(settings).storage.put(image_key, data)
        async with session_scope(sessions) as session:
            item = await library.create(
                session,
                tenant_id,
                kind=args.kind,
                title=args.title,
                summary=args.summary or "",
                body=body,
                image_key=image_key,
                channels_url=args.channels_url or "",
                tags=args.tag or [],
                regions=args.region or [],
                roles=args.role or [],
                created_by="cli",
                publish_at=datetime.fromisoformat(args.publish_at) if args.publish_at else None,
                expire_at=datetime.fromisoformat(args.expire_at) if args.expire_at else None,
            )
    except ContentError as exc:
        print(f"jiubot: refused: {exc.reason}", file=sys.stderr)
        return 2
    print(item.id)
    return 0


async def _review(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> int:
    from bot.content import library
    from bot.content.errors import ContentError
    from bot.db import session_scope

    tenant_id = await tenant_of(sessions, args.tenant)
    try:
        async with session_scope(sessions) as session:
            if args.content_command == "submit":
                item = await library.submit(session, tenant_id, args.item)
            elif args.content_command == "approve":
                item = await library.approve(session, tenant_id, args.item, by=args.by)
            else:
                item = await library.reject(session, tenant_id, args.item, by=args.by)
    except ContentError as exc:
        print(f"jiubot: refused: {exc.reason}", file=sys.stderr)
        return 2
    print(f"item {item.id}: {item.state}")
    return 0


async def _live(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> int:
    from zoneinfo import ZoneInfo

    from bot.content import live
    from bot.db import session_scope

    tenant_id = await tenant_of(sessions, args.tenant)
    starts = datetime.fromisoformat(args.starts)
    if starts.tzinfo is None:
        starts = starts.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    async with session_scope(sessions) as session:
        show = await live.schedule(
            session,
            tenant_id,
            title=args.title,
            starts_at=starts,
            host=args.host or "",
            room=args.room or "",
            products=args.product or [],
            audience=args.audience or [],
        )
    print(show.id)
    return 0


async def _push(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> int:
    """``content invite <live>`` (the audience) or ``content replay <live> --url`` (reservants)."""
    from bot.content import jobs
    from bot.content.runtime import ContentRuntime
    from bot.wiring.runtime import open_runtime

    tenant_id = await tenant_of(sessions, args.tenant)
    async with open_runtime(settings, redis_mode="require") as runtime:
        services = runtime.services
        oa = next((a.appid for a in services.registry.all() if a.kind == "oa"), settings.oa_appid)
        content = services.content or ContentRuntime.from_settings(settings)
        if args.content_command == "invite":
            counts = await jobs.invite(
                services.sessions, services.notifier, content, tenant_id, args.live, oa_appid=oa,
                base_url=settings.public_base_url, render=services.text,
            )  # fmt: skip
        else:
            counts = await jobs.replay(
                services.sessions, services.notifier, content, tenant_id, args.live, args.url,
                oa_appid=oa, render=services.text,
            )  # fmt: skip
    print(json.dumps(counts))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("content", help="brand content: stats, items, review, livestreams")
    sub = parser.add_subparsers(dest="content_command", required=True)
    stats = sub.add_parser(
        "stats", help="per item and per forwarder: views, unique viewers, follows, scans, orders, rewards"
    )
    stats.add_argument("--tenant", default=None)
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=run_on(_stats))  # every feature: the radar notices a drain owes go out
    add = sub.add_parser("add", help="add a draft item (an image is sanitised and stored)")
    add.add_argument("--tenant", default=None)
    add.add_argument("--kind", required=True, choices=("article", "video", "poster", "product", "live"))
    add.add_argument("--title", required=True)
    add.add_argument("--summary")
    add.add_argument("--body", help="a text file of paragraphs")
    add.add_argument("--image")
    add.add_argument("--channels-url")
    add.add_argument("--tag", action="append", help="family:value, family in brand|aroma|campaign|season")
    add.add_argument("--region", action="append")
    add.add_argument("--role", action="append")
    add.add_argument("--publish-at")
    add.add_argument("--expire-at")
    add.set_defaults(func=run(_add))
    for name in ("submit", "approve", "reject"):
        step = sub.add_parser(name, help=f"{name} an item")
        step.add_argument("item", type=int)
        step.add_argument("--tenant", default=None)
        step.add_argument("--by", default="operator")
        step.set_defaults(func=run(_review))
    show = sub.add_parser("live", help="schedule a livestream")
    show.add_argument("--tenant", default=None)
    show.add_argument("--title", required=True)
    show.add_argument("--starts", required=True, help="ISO time (Asia/Shanghai when naive)")
    show.add_argument("--host")
    show.add_argument("--room")
    show.add_argument("--product", action="append")
    show.add_argument("--audience", action="append")
    show.set_defaults(func=run(_live))
    ended = sub.add_parser("replay", help="end a livestream and push its replay to every reservant once")
    ended.add_argument("live", type=int)
    ended.add_argument("--url", required=True)
    ended.add_argument("--tenant", default=None)
    ended.set_defaults(func=run(_push))
    invite = sub.add_parser("invite", help="send a livestream's invitation to its audience once per member")
    invite.add_argument("live", type=int)
    invite.add_argument("--tenant", default=None)
    invite.set_defaults(func=run(_push))
