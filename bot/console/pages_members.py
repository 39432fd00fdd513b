"""会员: the member list (keyset pages, search), a member's profile, manual points adjustment."""

from __future__ import annotations

import secrets
from typing import Any

import structlog
from aiohttp import web

from bot.console import adjust, member_detail, repository
from bot.console.context import PageContext
from bot.console.policy import Resource, can
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.console.repository_paging import BadQuery
from bot.db import session_scope

log = structlog.get_logger(__name__)


async def members(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    q = request.query.get("q", "")[:64]
    role = request.query.get("role", "")[:24]
    cursor = request.query.get("cursor") or None
    values: dict[str, Any] = {"q": q, "role": role, "rows": (), "next_cursor": None, "error": None}
    status = 200
    try:
        query = repository.MemberQuery.parse(q, role)
        async with session_scope(ctx.db) as session:
            page = await repository.list_members(session, ctx.actor, query, cursor=cursor, limit=20)
        values.update(rows=page.items, next_cursor=page.next_cursor)
    except BadQuery as exc:
        log.info("console_bad_query", page="members", field=exc.field, reason=exc.reason)
        values["error"] = f"{exc.field}.{exc.reason}"
        status = 400
    return ctx.render(
        request, "members.html", status=status, title="会员列表", first_page=cursor is None, **values
    )


def _member_id(request: web.Request) -> int:
    text = request.match_info["member_id"]
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise web.HTTPNotFound()
    return int(text)


async def _profile_response(
    request: web.Request,
    ctx: PageContext,
    member_id: int,
    *,
    status: int = 200,
    form_error: tuple[str, str] | None = None,
    form_values: dict[str, str] | None = None,
) -> web.StreamResponse:
    async with session_scope(ctx.db) as session:
        member = await repository.get_member(session, ctx.actor, member_id)
        if member is None:
            return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
        profile = await member_detail.load(session, ctx.actor.tenant_id, member.id)
    may_adjust = can(ctx.actor, "write", Resource("points", ctx.actor.tenant_id, member.path))
    return ctx.render(
        request,
        "member.html",
        status=status,
        title=f"会员 #{member.id}",
        crumbs=(
            ("会员", ""),
            ("会员列表", f"{request.app.router['members'].url_for()}"),
            (f"#{member.id}", ""),
        ),
        member=member,
        profile=profile,
        may_adjust=may_adjust,
        token=secrets.token_urlsafe(16),
        done=request.query.get("done", ""),
        form_error=form_error,
        form_values=form_values or {},
    )


async def member(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _profile_response(request, ctx, _member_id(request))


async def adjust_points(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    member_id = _member_id(request)
    data = await request.post()
    raw = {k: str(data.get(k, ""))[:200] for k in ("delta", "reason", "token")}
    async with session_scope(ctx.db) as session:
        found = await repository.get_member(session, ctx.actor, member_id)
    if found is None:
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    if not can(ctx.actor, "write", Resource("points", ctx.actor.tenant_id, found.path)):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    try:
        form = adjust.AdjustForm.parse(raw["delta"], raw["reason"], raw["token"])
        async with session_scope(ctx.db) as session:
            result = await adjust.adjust(
                session, ctx.who, found.id, form, origin=ctx.origin, now=ctx.runtime.clock()
            )
    except adjust.AdjustRefused as exc:
        log.info("console_adjust_refused", member=member_id, field=exc.field, code=exc.code)
        return await _profile_response(
            request,
            ctx,
            member_id,
            status=409 if exc.code == "insufficient_points" else 400,
            form_error=(exc.field, exc.code),
            form_values=raw,
        )
    log.info("console_points_adjusted", member=member_id, posted=result.posted, operator=ctx.operator.id)
    done = "adjusted" if result.posted else "already_adjusted"
    raise web.HTTPSeeOther(f"{request.app.router['member'].url_for(member_id=str(member_id))}?done={done}")


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(
        ConsolePage("会员列表", "/members", "members", ("read", "members"), members, order=10, name="members")
    )
    registry.add(
        ConsolePage(
            "会员详情",
            "/members/{member_id}",
            "members",
            ("read", "members"),
            member,
            nav=False,
            name="member",
        )
    )
    registry.add(
        ConsolePage(
            "调整积分",
            "/members/{member_id}/points",
            "members",
            ("write", "points"),
            adjust_points,
            method="POST",
            nav=False,
            name="member_points",
        )
    )
