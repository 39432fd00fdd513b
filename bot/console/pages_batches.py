"""瓶码与防伪 > a batch: its range events, activating and voiding serial ranges, generating the
printer's files (CSV, optional ZIP of QR SVGs) with progress and a download; sales regions."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from bot.console import codes_admin, form_tokens, repository_codes
from bot.console.codegen_jobs import MAX_CSV, MAX_ZIP
from bot.console.context import PageContext
from bot.console.policy import Resource, can
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.console.repository_codes import BatchView
from bot.db import session_scope
from bot.membership import codegen
from bot.membership.codes import CodeKeys
from bot.membership.settings import code_base_url, code_master_key

log = structlog.get_logger(__name__)


def _batch_id(request: web.Request) -> int:
    text = request.match_info["batch_id"]
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise web.HTTPNotFound()
    return int(text)


def _may(ctx: PageContext, action: str, batch: BatchView) -> bool:
    return can(ctx.actor, action, Resource("codes", ctx.actor.tenant_id, batch.path))


async def _batch_page(
    request: web.Request,
    ctx: PageContext,
    batch_id: int,
    *,
    status: int = 200,
    form: str = "",
    form_error: tuple[str, str] | None = None,
    form_values: dict[str, str] | None = None,
) -> web.StreamResponse:
    async with session_scope(ctx.db) as session:
        batch = await repository_codes.get_batch(session, ctx.actor, batch_id)
        if batch is None:
            return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
        ranges = await codes_admin.ranges(session, ctx.actor.tenant_id, batch.id)
    job = None
    job_id = request.query.get("job", "")
    if job_id and _may(ctx, "manage", batch):
        job = await ctx.runtime.codegen.status(ctx.actor.tenant_id, ctx.operator.id, job_id)
        if job is not None and job.batch_id != batch.id:
            job = None
    return ctx.render(
        request,
        "batch.html",
        status=status,
        title=f"批次 #{batch.id}",
        crumbs=(
            ("瓶码与防伪", ""),
            ("瓶码批次", f"{request.app.router['batches'].url_for()}"),
            (f"#{batch.id}", ""),
        ),
        batch=batch,
        ranges=ranges,
        may_write=_may(ctx, "write", batch),
        may_generate=_may(ctx, "manage", batch),
        range_token=form_tokens.new(),
        generate_token=form_tokens.new(),
        job=job,
        max_csv=MAX_CSV,
        max_zip=MAX_ZIP,
        done=request.query.get("done", ""),
        form=form,
        form_error=form_error,
        form_values=form_values or {},
    )


async def batch_page(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _batch_page(request, ctx, _batch_id(request))


async def _found(ctx: PageContext, batch_id: int) -> BatchView | None:
    async with session_scope(ctx.db) as session:
        return await repository_codes.get_batch(session, ctx.actor, batch_id)


async def mark_range(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    batch_id = _batch_id(request)
    data = await request.post()
    raw = {k: str(data.get(k, ""))[:240] for k in ("action", "first", "last", "store", "note", "token")}
    batch = await _found(ctx, batch_id)
    if batch is None:
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    if not _may(ctx, "write", batch):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    try:
        form = codes_admin.RangeForm.parse(batch, **raw)
        async with session_scope(ctx.db) as session:
            posted = await codes_admin.mark(
                session, ctx.actor, ctx.who, batch, form, origin=ctx.origin, now=ctx.runtime.clock()
            )
    except codes_admin.CodesRefused as exc:
        log.info("console_range_refused", batch=batch_id, field=exc.field, code=exc.code)
        return await _batch_page(
            request,
            ctx,
            batch_id,
            status=400,
            form="range",
            form_error=(exc.field, exc.code),
            form_values=raw,
        )
    log.info(
        "console_range_marked", batch=batch_id, action=form.action, posted=posted, operator=ctx.operator.id
    )
    done = f"marked_{form.action}" if posted else "already_marked"
    raise web.HTTPSeeOther(f"{request.app.router['batch'].url_for(batch_id=str(batch_id))}?done={done}")


def _code_job(ctx: PageContext, batch: BatchView) -> codegen.Job:
    settings = ctx.services.settings
    master, _derived = code_master_key(settings)
    key = CodeKeys(master).key(ctx.actor.tenant_id)
    return codegen.Job(key, ctx.actor.tenant_id, batch.id, code_base_url(settings))


async def generate(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    batch_id = _batch_id(request)
    data = await request.post()
    raw = {k: str(data.get(k, ""))[:80] for k in ("start", "count", "token")}
    with_zip = data.get("zip") == "1"
    batch = await _found(ctx, batch_id)
    if batch is None:
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    if not _may(ctx, "manage", batch):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    try:
        form = codes_admin.GenerateForm.parse(
            batch, with_zip=with_zip, max_csv=MAX_CSV, max_zip=MAX_ZIP, **raw
        )
        async with session_scope(ctx.db) as session:
            started = await codes_admin.claim_generation(
                session, ctx.who, batch, form, origin=ctx.origin, now=ctx.runtime.clock()
            )
    except codes_admin.CodesRefused as exc:
        log.info("console_generate_refused", batch=batch_id, field=exc.field, code=exc.code)
        return await _batch_page(
            request,
            ctx,
            batch_id,
            status=400,
            form="generate",
            form_error=(exc.field, exc.code),
            form_values={**raw, "zip": "1" if with_zip else ""},
        )
    if started:
        await ctx.runtime.codegen.start(
            ctx.operator.id, _code_job(ctx, batch), form.start, form.count, form.with_zip, form.token
        )
        log.info("console_codegen_started", batch=batch.id, job=form.token, count=form.count, zip=with_zip)
    done = "generation_started" if started else "already_generating"
    url = request.app.router["batch"].url_for(batch_id=str(batch_id))
    raise web.HTTPSeeOther(f"{url}?done={done}&job={form.token}")


async def job_status(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    job = await ctx.runtime.codegen.status(ctx.actor.tenant_id, ctx.operator.id, request.match_info["job_id"])
    if job is None:
        return web.json_response({"error": "not_found"}, status=404)
    return web.json_response(job.as_json())


async def download(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    kind = request.match_info["kind"]
    job = await ctx.runtime.codegen.status(ctx.actor.tenant_id, ctx.operator.id, request.match_info["job_id"])
    if kind not in ("csv", "zip") or job is None or (kind == "zip" and not job.with_zip):
        raise web.HTTPNotFound()
    if job.state != "done":
        return web.json_response({"error": "not_ready", "state": job.state}, status=409)
    path = ctx.runtime.codegen.path(job.tenant_id, job.job_id, kind)
    if not path.is_file():
        raise web.HTTPNotFound()
    name = f"batch-{job.batch_id}-{job.start}-{job.start + job.count - 1}.{kind}"
    return web.FileResponse(
        path,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Type": "text/csv; charset=utf-8" if kind == "csv" else "application/zip",
        },
    )


async def regions(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    async with session_scope(ctx.db) as session:
        rows = await repository_codes.list_sales_regions(session, ctx.actor)
    return ctx.render(
        request,
        "regions.html",
        title="销售大区",
        rows=rows,
        may_create=can(ctx.actor, "manage", Resource("codes", ctx.actor.tenant_id, ctx.actor.scope.path)),
        done=request.query.get("done", ""),
    )


def register_pages(registry: ConsoleRegistry) -> None:
    pages: list[dict[str, Any]] = [
        dict(title="销售大区", path="/codes/regions", permission=("read", "codes"), handler=regions, order=15,
             name="sales_regions"),
        dict(title="批次详情", path="/codes/batches/{batch_id}", permission=("read", "codes"),
             handler=batch_page, nav=False, name="batch"),
        dict(title="激活或作废", path="/codes/batches/{batch_id}/ranges", permission=("write", "codes"),
             handler=mark_range, method="POST", nav=False),
        dict(title="生成瓶码文件", path="/codes/batches/{batch_id}/generate", permission=("manage", "codes"),
             handler=generate, method="POST", nav=False),
        dict(title="生成进度", path="/codes/jobs/{job_id}", permission=("manage", "codes"),
             handler=job_status, nav=False, name="codegen_job"),
        dict(title="下载", path="/codes/jobs/{job_id}/{kind}", permission=("manage", "codes"),
             handler=download, nav=False),
    ]  # fmt: skip
    for page in pages:
        registry.add(ConsolePage(section="codes", **page))
