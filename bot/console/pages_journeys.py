"""营销 > 自动化旅程: every journey with its state, version, enrolments by arm (treatment / control /
global holdout), per-step counts, reached and unreachable by reason, conversion and the uplift
with its 95% interval, coupon cost and incremental revenue (``bot.automation.report``); and the
editor: the YAML definition in a textarea, validation errors in Chinese beside it, saved as a new
version (``bot.console.journeys_admin``: never overwritten, a concurrent edit is refused), enable
and pause. The CLI (``jiubot journeys load``) stores versions the same way."""

from __future__ import annotations

import structlog
from aiohttp import web

from bot.automation import repository as journeys_repo
from bot.automation.report import JourneyStatus, status
from bot.console import form_tokens, journeys_admin
from bot.console.context import PageContext
from bot.console.policy import ROOT, Resource, can
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope

log = structlog.get_logger(__name__)

NEW_TEMPLATE = """name: 新旅程
subject: store
trigger: {lapsed_days: 30}
goal: ordered
goal_days: 30
control: 0.10
reentry: never
steps:
  - {id: message, action: message, template: winback}
"""


def _may(ctx: PageContext, action: str) -> bool:
    return can(ctx.actor, action, Resource("journeys", ctx.actor.tenant_id, ROOT))


def _forbidden(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return ctx.render(request, "error.html", status=403, title="无权访问", error="forbidden")


async def journeys(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    if not _may(ctx, "read"):
        return _forbidden(request, ctx)
    async with session_scope(ctx.db) as session:
        rows = {r.journey: r for r in await status(session, ctx.actor.tenant_id)}
        defined = await journeys_repo.journeys(session, ctx.actor.tenant_id, active_only=False)
        active = {j.name for j in await journeys_repo.journeys(session, ctx.actor.tenant_id)}
    return ctx.render(
        request, "journeys.html", title="自动化旅程", crumbs=(("营销", ""), ("自动化旅程", "")),
        defined=defined, rows=rows, active=active, done=request.query.get("done", ""),
        may_edit=_may(ctx, "manage"), may_switch=_may(ctx, "write"),
    )  # fmt: skip


async def _editor(
    request: web.Request,
    ctx: PageContext,
    name: str | None,
    *,
    status_code: int = 200,
    text: str | None = None,
    base: str | None = None,
    error: journeys_admin.EditRefused | None = None,
) -> web.StreamResponse:
    history: list[journeys_repo.VersionInfo] = []
    report: JourneyStatus | None = None
    if name is not None:
        async with session_scope(ctx.db) as session:
            history = await journeys_repo.versions(session, ctx.actor.tenant_id, name)
            found = await status(session, ctx.actor.tenant_id, name)
        if not history:
            raise web.HTTPNotFound(text="没有这个旅程")
        report = found[0] if found else None
    newest = history[0] if history else None
    return ctx.render(
        request,
        "journey.html",
        status=status_code,
        title=name or "新建旅程",
        crumbs=(
            ("营销", ""),
            ("自动化旅程", f"{request.app.router['journeys'].url_for()}"),
            (name or "新建旅程", ""),
        ),
        name=name,
        text=text if text is not None else (newest.definition if newest else NEW_TEMPLATE),
        base=base if base is not None else str(newest.version if newest else 0),
        history=history,
        active=newest.active if newest else True,
        report=report,
        error=error,
        token=form_tokens.new(),
        done=request.query.get("done", ""),
        may_edit=_may(ctx, "manage"),
        may_switch=_may(ctx, "write"),
    )


async def editor(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    if not _may(ctx, "read"):
        return _forbidden(request, ctx)
    return await _editor(request, ctx, request.match_info["name"])


async def new_journey(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    if not _may(ctx, "manage"):
        return _forbidden(request, ctx)
    return await _editor(request, ctx, None)


async def _save(request: web.Request, ctx: PageContext, name: str | None) -> web.StreamResponse:
    if not _may(ctx, "manage"):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    data = await request.post()
    text = str(data.get("definition", "")).replace("\r\n", "\n")
    base = str(data.get("base", ""))
    try:
        journey = journeys_admin.check(text, name)
        async with session_scope(ctx.db) as session:
            version = await journeys_admin.save(
                session,
                ctx.who,
                journey,
                base=base,
                form_token=str(data.get("token", "")),
                origin=ctx.origin,
                now=ctx.runtime.clock(),
            )
    except journeys_admin.EditRefused as exc:
        log.info("console_journey_refused", journey=name, code=exc.code, step=exc.step)
        if name is None and exc.code == "exists":
            exc = journeys_admin.EditRefused("exists", status=409)
        return await _editor(request, ctx, name, status_code=exc.status, text=text, base=base, error=exc)
    log.info("console_journey_saved", journey=journey.name, version=version, operator=ctx.operator.id)
    url = request.app.router["journey"].url_for(name=journey.name)
    raise web.HTTPSeeOther(f"{url}?done={'journey_saved' if version else 'journey_unchanged'}")


async def save_existing(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _save(request, ctx, request.match_info["name"])


async def save_new(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _save(request, ctx, None)


async def switch(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    if not _may(ctx, "write"):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    name = request.match_info["name"]
    data = await request.post()
    wanted = str(data.get("active", ""))
    if wanted not in ("1", "0"):
        log.info("console_journey_switch_refused", journey=name, reason="bad_state")
        return ctx.render(request, "error.html", status=400, title="请求无效", error="form_expired")
    async with session_scope(ctx.db) as session:
        found = await journeys_admin.set_state(
            session, ctx.who, name, wanted == "1", origin=ctx.origin, now=ctx.runtime.clock()
        )
    if not found:
        raise web.HTTPNotFound(text="没有这个旅程")
    log.info("console_journey_switched", journey=name, active=wanted == "1", operator=ctx.operator.id)
    url = request.app.router["journeys"].url_for()
    raise web.HTTPSeeOther(f"{url}?done={'journey_enabled' if wanted == '1' else 'journey_paused'}")


def register_pages(registry: ConsoleRegistry) -> None:
    page = ConsolePage(
        "自动化旅程", "/journeys", "marketing", ("read", "journeys"), journeys, order=30, name="journeys"
    )
    registry.add(page)
    # "new" before "{name}": the literal path wins (a journey may not be called "new")
    registry.add(ConsolePage("新建旅程", "/journeys/new", "marketing", ("manage", "journeys"), new_journey,
                             nav=False, name="journey_new"))  # fmt: skip
    registry.add(ConsolePage("保存新旅程", "/journeys/new", "marketing", ("manage", "journeys"), save_new,
                             method="POST", nav=False))  # fmt: skip
    registry.add(ConsolePage("旅程详情", "/journeys/{name}", "marketing", ("read", "journeys"), editor,
                             nav=False, name="journey"))  # fmt: skip
    registry.add(ConsolePage("保存旅程", "/journeys/{name}", "marketing", ("manage", "journeys"),
                             save_existing, method="POST", nav=False))  # fmt: skip
    registry.add(ConsolePage("启用或暂停旅程", "/journeys/{name}/state", "marketing", ("write", "journeys"),
                             switch, method="POST", nav=False))  # fmt: skip
