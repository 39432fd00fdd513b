"""营销 > 内容与直播 > one item: author a draft (kind, title, text, a cover image through the content
storage, tags, region visibility, schedule and expiry), edit it while it is a draft or rejected,
submit it for review, and the item's forwarders ranked by views, follows or orders.

Scope (``repository_content``): an item belongs to its author's region (HQ's items to HQ); a
region's operators edit, submit and publish their region's items only, read HQ's, and another
region's item is a 404. The leaderboard lists only forwarders inside the reader's subtree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web
from sqlalchemy import select

from bot.console import audit
from bot.console import repository_content as items_repo
from bot.console.context import PageContext
from bot.console.org_models import OrgNode
from bot.console.pages_content import KINDS, STATES
from bot.console.policy import Actor
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.console.scope import members_clause
from bot.content import images, library, stats, storage
from bot.content.errors import ContentError, NotAllowed
from bot.content.interface import Item
from bot.db import session_scope
from bot.membership.models import Member

log = structlog.get_logger(__name__)
TZ = ZoneInfo("Asia/Shanghai")
TAG_FAMILIES = {"brand": "品牌", "aroma": "香型", "campaign": "活动", "season": "季节"}
BOARD_ORDERS = {"views": "阅读", "follows": "关注", "orders": "订货"}


def _item_id(request: web.Request) -> int:
    text = request.match_info["item_id"]
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise web.HTTPNotFound()
    return int(text)


def _missing(request: web.Request, ctx: PageContext) -> web.Response:
    return ctx.render(request, "error.html", status=404, title="内容不存在", error="not_found")


def _local(value: str) -> datetime | None:
    """A ``datetime-local`` field in Shanghai time; "" is none; a bad value is refused."""
    if not value.strip():
        return None
    try:
        return datetime.strptime(value.strip()[:16], "%Y-%m-%dT%H:%M").replace(tzinfo=TZ)
    except ValueError:
        raise NotAllowed("bad_time") from None


def _field(at: datetime | None) -> str:
    return at.astimezone(TZ).strftime("%Y-%m-%dT%H:%M") if at else ""


async def _regions(ctx: PageContext) -> list[tuple[str, str]]:
    """(code, name) of the regions the actor may give visibility to: all for HQ, else his own."""
    async with session_scope(ctx.db) as session:
        rows = await session.execute(
            select(OrgNode.code, OrgNode.name, OrgNode.path)
            .where(OrgNode.tenant_id == ctx.actor.tenant_id, OrgNode.kind == "region")
            .order_by(OrgNode.code)
        )
        return [(c, n) for c, n, p in rows.all() if ctx.actor.is_hq or ctx.actor.scope.path.startswith(p)]


def _values(item: Item | None) -> dict[str, Any]:
    if item is None:
        return {"kind": "article", "title": "", "summary": "", "body": "", "channels_url": "",
                "tags": {}, "regions": (), "publish_at": "", "expire_at": "", "image_key": ""}  # fmt: skip
    tags = dict(t.partition(":")[::2] for t in item.tags)
    return {"kind": item.kind, "title": item.title, "summary": item.summary, "body": item.body,
            "channels_url": item.channels_url, "tags": tags, "regions": item.regions,
            "publish_at": _field(item.publish_at), "expire_at": _field(item.expire_at),
            "image_key": item.image_key}  # fmt: skip


async def _form_page(
    request: web.Request, ctx: PageContext, item: Item | None, *, values: dict[str, Any] | None = None,
    status: int = 200, error: str = "",
) -> web.Response:  # fmt: skip
    editable = item is None or item.state in library.EDITABLE
    if values is not None and item is not None:  # a refused edit keeps showing the stored cover
        values = {**values, "image_key": item.image_key}
    async with session_scope(ctx.db) as session:
        may_write = item is None or await items_repo.get(session, ctx.actor, item.id, "write") is not None
    title = item.title if item else "新建内容"
    return ctx.render(
        request, "content_item.html", status=status, title=title,
        crumbs=(("内容与直播", f"{request.app.router['content'].url_for()}"), (title, "")),
        item=item, v=values or _values(item), kinds=KINDS, states=STATES, families=TAG_FAMILIES,
        regions=await _regions(ctx), editable=editable and may_write, may_write=may_write,
        done=request.query.get("done", ""), error=error,
    )  # fmt: skip


async def new_form(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _form_page(request, ctx, None)


async def item_page(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    async with session_scope(ctx.db) as session:
        item = await items_repo.get(session, ctx.actor, _item_id(request))
    if item is None:
        return _missing(request, ctx)
    return await _form_page(request, ctx, item)


async def _read_form(
    request: web.Request, actor: Actor, allowed_regions: set[str]
) -> tuple[dict, bytes | None]:
    form = await request.post()
    text = {k: str(form.get(k, "")) for k in ("kind", "title", "summary", "body", "channels_url")}
    tags = {f: str(form.get(f"tag_{f}", "")).strip()[:32] for f in TAG_FAMILIES}
    regions = tuple(str(r) for r in form.getall("regions", []) if str(r) in allowed_regions)
    if not actor.is_hq:  # a region's item is for its own region
        regions = tuple(sorted(allowed_regions))
    values = {
        **text, "tags": tags, "regions": regions, "publish_at": str(form.get("publish_at", "")),
        "expire_at": str(form.get("expire_at", "")), "image_key": str(form.get("image_key", "")),
    }  # fmt: skip
    upload = form.get("image")
    data = upload.file.read() if isinstance(upload, web.FileField) else None
    return values, data or None


async def _store_image(ctx: PageContext, data: bytes) -> str:
    content = ctx.services.content
    if content is None:
        raise NotAllowed("no_storage")
    clean, ext = images.sanitise(data)
    key = storage.content_key(clean, ext)
    await content.storage.put(key, clean)
    return key


def _fields(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": values["kind"], "title": values["title"], "summary": values["summary"],
        "body": values["body"], "channels_url": values["channels_url"].strip(),
        "tags": [f"{f}:{v}" for f, v in values["tags"].items() if v],
        "regions": values["regions"], "publish_at": _local(values["publish_at"]),
        "expire_at": _local(values["expire_at"]),
    }  # fmt: skip


async def create(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    allowed = {code for code, _ in await _regions(ctx)}
    values, image = await _read_form(request, ctx.actor, allowed)
    try:
        fields = _fields(values)
        library.check(
            fields["kind"], fields["title"], fields["channels_url"], fields["publish_at"], fields["expire_at"]
        )
        key = await _store_image(ctx, image) if image else ""
        async with session_scope(ctx.db) as session:
            region = await items_repo.own_region(session, ctx.actor)
            if not ctx.actor.is_hq and region is None:
                raise NotAllowed("no_region")
            item = await library.create(
                session, ctx.actor.tenant_id, image_key=key, created_by=ctx.operator.username,
                region_code=region, **fields,
            )  # fmt: skip
            await audit.record(
                session, ctx.who, "content.create", target_kind="content_item", target_id=item.id,
                after={"title": item.title, "region": region}, origin=ctx.origin,
            )  # fmt: skip
    except ContentError as exc:
        log.info("console_content_refused", action="create", reason=exc.reason)
        return await _form_page(request, ctx, None, values=values, status=400, error=exc.reason)
    raise web.HTTPSeeOther(f"{request.app.router['content-item'].url_for(item_id=str(item.id))}?done=created")


async def save(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    item_id = _item_id(request)
    async with session_scope(ctx.db) as session:
        item = await items_repo.get(session, ctx.actor, item_id, "write")
    if item is None:
        return _missing(request, ctx)
    allowed = {code for code, _ in await _regions(ctx)}
    values, image = await _read_form(request, ctx.actor, allowed)
    try:
        fields = _fields(values)
        library.check(
            fields["kind"], fields["title"], fields["channels_url"], fields["publish_at"], fields["expire_at"]
        )
        key = await _store_image(ctx, image) if image else None
        async with session_scope(ctx.db) as session:
            saved = await library.update_draft(session, ctx.actor.tenant_id, item_id, image_key=key, **fields)
            await audit.record(
                session, ctx.who, "content.update", target_kind="content_item", target_id=item_id,
                before={"title": item.title}, after={"title": saved.title}, origin=ctx.origin,
            )  # fmt: skip
    except ContentError as exc:
        log.info("console_content_refused", action="update", item=item_id, reason=exc.reason)
        status = 409 if exc.reason == "bad_state" else 400
        return await _form_page(request, ctx, item, values=values, status=status, error=exc.reason)
    raise web.HTTPSeeOther(f"{request.app.router['content-item'].url_for(item_id=str(item_id))}?done=saved")


async def submit(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    item_id = _item_id(request)
    async with session_scope(ctx.db) as session:
        item = await items_repo.get(session, ctx.actor, item_id, "write")
    if item is None:
        return _missing(request, ctx)
    try:
        async with session_scope(ctx.db) as session:
            moved = await library.submit(session, ctx.actor.tenant_id, item_id)
            await audit.record(
                session, ctx.who, "content.submit", target_kind="content_item", target_id=item_id,
                after={"state": moved.state}, origin=ctx.origin,
            )  # fmt: skip
    except ContentError as exc:
        log.info("console_content_refused", action="submit", item=item_id, reason=exc.reason)
        return await _form_page(request, ctx, item, status=409, error=exc.reason)
    raise web.HTTPSeeOther(
        f"{request.app.router['content-item'].url_for(item_id=str(item_id))}?done=submitted"
    )


async def board(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    """The item's forwarders (inside the reader's subtree) ranked by views, follows or orders."""
    order = request.query.get("by", "views")
    order = order if order in BOARD_ORDERS else "views"
    async with session_scope(ctx.db) as session:
        item = await items_repo.get(session, ctx.actor, _item_id(request))
        if item is None:
            return _missing(request, ctx)
        rows = await stats.leaderboard(session, ctx.actor.tenant_id, item_id=item.id, top=100_000)
        ids = [r["forwarder_id"] for r in rows] or [0]
        found = await session.execute(
            select(Member.id, Member.region_code, Member.distributor_code).where(
                members_clause(ctx.actor), Member.id.in_(ids)
            )
        )
        who = {m: (region or "", distributor or "") for m, region, distributor in found.all()}
    ranked = sorted(
        (dict(r, region=who[r["forwarder_id"]][0], distributor=who[r["forwarder_id"]][1]) for r in rows
         if r["forwarder_id"] in who),
        key=lambda r: (-r[order], -r["unique_viewers"], r["forwarder_id"]),
    )[:100]  # fmt: skip
    return ctx.render(
        request, "content_board.html", title=f"{item.title} · 转发排行",
        crumbs=(("内容与直播", f"{request.app.router['content'].url_for()}"), (item.title, "")),
        item=item, rows=ranked, order=order, orders=BOARD_ORDERS,
    )  # fmt: skip


def register_pages(registry: ConsoleRegistry) -> None:
    def page(title: str, path: str, action: str, handler: Any, method: str = "GET", name: str = "") -> None:
        registry.add(
            ConsolePage(
                title, path, "marketing", (action, "content"), handler, method=method, nav=False, name=name
            )
        )

    page("新建内容", "/content/items/new", "write", new_form, name="content-new")
    page("新建内容", "/content/items/new", "write", create, method="POST")
    page("内容", "/content/items/{item_id:\\d+}", "read", item_page, name="content-item")
    page("保存内容", "/content/items/{item_id:\\d+}", "write", save, method="POST")
    page("提交审核", "/content/items/{item_id:\\d+}/submit", "write", submit, method="POST")
    page("转发排行", "/content/items/{item_id:\\d+}/board", "read", board, name="content-board")
