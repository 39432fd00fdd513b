"""瓶码与防伪 > 新建销售大区 and 新建批次: the console's forms for ``jiubot codes region`` and ``jiubot
codes batch create`` (``bot.console.codes_create``). A new batch opens on its own page, where
the printer's files are generated with progress."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from bot.console import codes_create, form_tokens, repository_codes
from bot.console.codes_admin import CodesRefused
from bot.console.context import PageContext
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope
from bot.membership.codes import MAX_SERIAL

log = structlog.get_logger(__name__)
REGION_FIELDS = ("code", "name", "provinces", "cities", "token")
BATCH_FIELDS = ("brand", "sku", "name", "size", "region", "distributor", "note", "token")


async def _region_form(
    request: web.Request,
    ctx: PageContext,
    *,
    status: int = 200,
    error: tuple[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> web.StreamResponse:
    return ctx.render(
        request,
        "region_new.html",
        status=status,
        title="新建销售大区",
        crumbs=(
            ("瓶码与防伪", ""),
            ("销售大区", f"{request.app.router['sales_regions'].url_for()}"),
            ("新建", ""),
        ),
        form_error=error,
        form_values=values or {},
        token=form_tokens.new(),
    )


async def region_new(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _region_form(request, ctx)


async def region_create(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    data = await request.post()
    raw = {k: str(data.get(k, ""))[:400] for k in REGION_FIELDS}
    try:
        form = codes_create.RegionForm.parse(**raw)
        async with session_scope(ctx.db) as session:
            created = await codes_create.create_region(
                session, ctx.who, form, origin=ctx.origin, now=ctx.runtime.clock()
            )
    except CodesRefused as exc:
        log.info("console_region_refused", field=exc.field, code=exc.code)
        return await _region_form(request, ctx, status=400, error=(exc.field, exc.code), values=raw)
    log.info("console_region_created", code=form.code, created=created, operator=ctx.operator.id)
    done = "region_created" if created else "region_already_created"
    raise web.HTTPSeeOther(f"{request.app.router['sales_regions'].url_for()}?done={done}")


async def _batch_form(
    request: web.Request,
    ctx: PageContext,
    *,
    status: int = 200,
    error: tuple[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> web.StreamResponse:
    async with session_scope(ctx.db) as session:
        regions = await repository_codes.list_sales_regions(session, ctx.actor)
    return ctx.render(
        request,
        "batch_new.html",
        status=status,
        title="新建批次",
        crumbs=(("瓶码与防伪", ""), ("瓶码批次", f"{request.app.router['batches'].url_for()}"), ("新建", "")),
        regions=regions,
        max_size=MAX_SERIAL,
        form_error=error,
        form_values=values or {},
        token=form_tokens.new(),
    )


async def batch_new(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _batch_form(request, ctx)


async def batch_create(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    data = await request.post()
    raw = {k: str(data.get(k, ""))[:400] for k in BATCH_FIELDS}
    activate = data.get("activate") == "1"
    try:
        form = codes_create.BatchForm.parse(**raw, activate=activate)
        await codes_create.check_sku(await ctx.core(), form.sku)  # the operator tenant's core
        async with session_scope(ctx.db) as session:
            batch_id = await codes_create.create_batch(
                session, ctx.actor, ctx.who, form, origin=ctx.origin, now=ctx.runtime.clock()
            )
    except CodesRefused as exc:
        log.info("console_batch_refused", field=exc.field, code=exc.code)
        values = {**raw, "activate": "1" if activate else ""}
        return await _batch_form(request, ctx, status=400, error=(exc.field, exc.code), values=values)
    if batch_id is None:
        raise web.HTTPSeeOther(f"{request.app.router['batches'].url_for()}?done=batch_already_created")
    log.info("console_batch_created", batch=batch_id, size=form.size, operator=ctx.operator.id)
    url = request.app.router["batch"].url_for(batch_id=str(batch_id))
    raise web.HTTPSeeOther(f"{url}?done=batch_created")


def register_pages(registry: ConsoleRegistry) -> None:
    pages: list[dict[str, Any]] = [
        dict(title="新建销售大区", path="/codes/regions/new", handler=region_new, name="region_new"),
        dict(title="新建销售大区", path="/codes/regions/new", handler=region_create, method="POST"),
        dict(title="新建批次", path="/codes/new", handler=batch_new, name="batch_new"),
        dict(title="新建批次", path="/codes/new", handler=batch_create, method="POST"),
    ]
    for page in pages:
        registry.add(ConsolePage(section="codes", permission=("manage", "codes"), nav=False, **page))
