"""瓶码与防伪 and 门店与组织: code batches, fraud and diversion alerts (resolve with a note), stores."""

from __future__ import annotations

import structlog
from aiohttp import web

from bot.console import alerts, china_map, repository, repository_codes
from bot.console.context import PageContext
from bot.console.policy import Resource, can
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.console.repository_paging import BadQuery
from bot.db import session_scope

log = structlog.get_logger(__name__)


def _bad(exc: BadQuery, page: str) -> str:
    log.info("console_bad_query", page=page, field=exc.field, reason=exc.reason)
    return f"{exc.field}.{exc.reason}"


async def batches(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    sku = request.query.get("sku", "")[:80]
    cursor = request.query.get("cursor") or None
    values: dict = {"sku": sku, "rows": (), "next_cursor": None, "error": None, "first_page": cursor is None}
    try:
        async with session_scope(ctx.db) as session:
            page = await repository_codes.list_batches(session, ctx.actor, sku=sku, cursor=cursor)
        values.update(rows=page.items, next_cursor=page.next_cursor)
    except BadQuery as exc:
        values["error"] = _bad(exc, "batches")
    return ctx.render(
        request,
        "batches.html",
        status=400 if values["error"] else 200,
        title="瓶码批次",
        may_create=can(ctx.actor, "manage", Resource("codes", ctx.actor.tenant_id, ctx.actor.scope.path)),
        done=request.query.get("done", ""),
        **values,
    )


async def alert_list(request: web.Request, ctx: PageContext, **extra: object) -> web.StreamResponse:
    kind = request.query.get("kind", "diversion")
    kind = kind if kind in alerts.KINDS else "diversion"
    status = request.query.get("status", "open")[:16]
    cursor = request.query.get("cursor") or None
    values: dict = {"kind": kind, "state": status, "rows": (), "next_cursor": None, "error": None}
    try:
        async with session_scope(ctx.db) as session:
            lister = (
                repository_codes.list_alerts if kind == "diversion" else repository_codes.list_fraud_flags
            )
            page = await lister(session, ctx.actor, status=status or None, cursor=cursor)
            provinces = await alerts.open_by_province(session, ctx.actor)
        values.update(
            rows=page.items,
            next_cursor=page.next_cursor,
            provinces=provinces[:12],
            china=china_map.build((p.province, p.count) for p in provinces),
        )
    except BadQuery as exc:
        values.update(error=_bad(exc, "alerts"), provinces=[], china=china_map.build(()))
    writable = {
        row.id
        for row in values["rows"]
        if can(
            ctx.actor,
            "write",
            Resource("alerts", ctx.actor.tenant_id, getattr(row, "path", ctx.actor.scope.path)),
        )
    }
    status_code = int(extra.pop("status_code", 400 if values["error"] else 200))  # type: ignore[call-overload]
    return ctx.render(
        request,
        "alerts.html",
        status=status_code,
        title="预警处理",
        writable=writable,
        first_page=cursor is None,
        done=request.query.get("done", ""),
        row_error=extra.get("row_error"),
        **values,
    )


async def resolve(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    kind = request.match_info["kind"]
    text = request.match_info["alert_id"]
    if kind not in alerts.KINDS or not (text.isascii() and text.isdigit() and len(text) < 19):
        raise web.HTTPNotFound()
    alert_id = int(text)
    form = await request.post()
    async with session_scope(ctx.db) as session:
        getter = repository_codes.get_alert if kind == "diversion" else repository_codes.get_fraud_flag
        found = await getter(session, ctx.actor, alert_id)
    if found is None:
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    path = getattr(found, "path", ctx.actor.scope.path)
    if not can(ctx.actor, "write", Resource("alerts", ctx.actor.tenant_id, path)):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    try:
        note = alerts.clean_note(str(form.get("note", ""))[:400])
        async with session_scope(ctx.db) as session:
            await alerts.resolve(
                session, ctx.who, kind, alert_id, note, origin=ctx.origin, now=ctx.runtime.clock()
            )
    except alerts.ResolveRefused as exc:
        log.info("console_resolve_refused", kind=kind, alert=alert_id, code=exc.code)
        return await alert_list(
            request,
            ctx,
            row_error=(alert_id, exc.code),
            status_code=409 if exc.code == "already_resolved" else 400,
        )
    raise web.HTTPSeeOther(f"{request.app.router['alerts'].url_for()}?kind={kind}&done=resolved")


async def stores(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    q = request.query.get("q", "")[:80]
    cursor = request.query.get("cursor") or None
    values: dict = {"q": q, "rows": (), "next_cursor": None, "error": None, "first_page": cursor is None}
    try:
        query = repository.StoreQuery.parse(q)
        async with session_scope(ctx.db) as session:
            page = await repository.list_stores(session, ctx.actor, query, cursor=cursor)
        values.update(rows=page.items, next_cursor=page.next_cursor)
    except BadQuery as exc:
        values["error"] = _bad(exc, "stores")
    return ctx.render(
        request, "stores.html", status=400 if values["error"] else 200, title="门店列表", **values
    )


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(
        ConsolePage("瓶码批次", "/codes", "codes", ("read", "codes"), batches, order=10, name="batches")
    )
    registry.add(
        ConsolePage("预警处理", "/alerts", "codes", ("read", "alerts"), alert_list, order=20, name="alerts")
    )
    registry.add(
        ConsolePage(
            "处理预警",
            "/alerts/{kind}/{alert_id}/resolve",
            "codes",
            ("write", "alerts"),
            resolve,
            method="POST",
            nav=False,
        )
    )
    registry.add(
        ConsolePage("门店列表", "/stores", "stores", ("read", "stores"), stores, order=10, name="stores")
    )
