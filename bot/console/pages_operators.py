"""系统 > 操作员: operators of the reader's subtree; creating one (never wider than oneself:
``org.can_grant``), disabling and enabling (``policy.may_administer``, version-checked)."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import accounts, audit, org, scope
from bot.console.context import PageContext
from bot.console.models import Operator
from bot.console.org_models import OrgNode
from bot.console.passwords import password_problem
from bot.console.policy import GRANTS, ROLE_SCOPES, may_administer, role_within
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope

log = structlog.get_logger(__name__)
PAGE = 50


@dataclass(frozen=True)
class ScopeOption:
    value: str  # "tenant" | "region:12" | "distributor:34"
    kind: str
    name: str
    depth: int


def _grantable_roles(ctx: PageContext) -> list[str]:
    return [r for r in GRANTS[ctx.actor.role] if role_within(r, ctx.actor.role)]


async def _scope_options(session: AsyncSession, ctx: PageContext) -> list[ScopeOption]:
    """The actor's own node and the active regions and distributors below it, in tree order (one
    query: a tenant has tens of regions and hundreds of distributors)."""
    actor = ctx.actor
    options: list[ScopeOption] = []
    if actor.is_hq:
        options.append(ScopeOption("tenant", "tenant", ctx.tenant_name or "总部", 0))
    rows = await session.scalars(
        select(OrgNode)
        .where(
            scope.node_in_subtree(actor),
            OrgNode.kind.in_(("region", "distributor")),
            OrgNode.active.is_(True),
        )
        .order_by(OrgNode.path)
    )
    base = actor.scope.path.count("/") - 1
    for node in rows.all():
        depth = node.path.count("/") - 1 - base
        options.append(ScopeOption(f"{node.kind}:{node.core_id}", node.kind, node.name, depth))
    return options


def _parse_scope(value: str) -> tuple[str, int | None] | None:
    if value == "tenant":
        return "tenant", None
    kind, _, ident = value.partition(":")
    if kind in ("region", "distributor") and ident.isascii() and ident.isdigit() and len(ident) < 19:
        return kind, int(ident)
    return None


async def _page(
    request: web.Request,
    ctx: PageContext,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> web.StreamResponse:
    after_text = request.query.get("after", "")
    after = int(after_text) if after_text.isascii() and after_text.isdigit() and len(after_text) < 19 else 0
    visible = scope.node_clause(ctx.actor, Operator.tenant_id, Operator.scope_kind, Operator.scope_core_id)
    async with session_scope(ctx.db) as session:
        rows = (
            await session.scalars(
                select(Operator).where(visible, Operator.id > after).order_by(Operator.id).limit(PAGE + 1)
            )
        ).all()
        views = [accounts.OperatorView.of(r) for r in rows[:PAGE]]
        names = {}
        for v in views:
            if v.scope_core_id is not None and (v.scope_kind, v.scope_core_id) not in names:
                found = await org.node(session, ctx.actor.tenant_id, v.scope_kind, v.scope_core_id)
                names[(v.scope_kind, v.scope_core_id)] = found.name if found else f"#{v.scope_core_id}"
        options = await _scope_options(session, ctx) if ctx.may("manage", "operators") else []
    return ctx.render(
        request,
        "operators.html",
        status=status,
        title="操作员",
        rows=views,
        scope_names=names,
        next_after=views[-1].id if len(rows) > PAGE else None,
        roles=_grantable_roles(ctx) if ctx.may("manage", "operators") else [],
        scope_options=options,
        errors=errors or {},
        values=values or {},
        done=request.query.get("done", ""),
        now=ctx.runtime.clock(),
    )


async def operators(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _page(request, ctx)


async def create_operator(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    data = await request.post()
    values = {k: str(data.get(k, ""))[:128] for k in ("username", "display_name", "role", "scope")}
    password = str(data.get("password", ""))
    errors: dict[str, str] = {}
    try:
        username = accounts.clean_username(values["username"])
    except accounts.AccountError as exc:
        errors["username"] = exc.code
        username = ""
    problem = password_problem(password)
    if problem:
        errors["password"] = problem
    parsed = _parse_scope(values["scope"])
    role = values["role"]
    if role not in ROLE_SCOPES:
        errors["role"] = "bad_role"
    elif parsed is None or parsed[0] not in ROLE_SCOPES[role]:
        errors["scope"] = "bad_scope"
    if errors:
        return await _page(request, ctx, status=400, errors=errors, values=values)
    assert parsed is not None
    kind, core_id = parsed
    try:
        async with session_scope(ctx.db) as session:
            if not await org.can_grant(session, ctx.actor, role, kind, core_id):
                raise accounts.AccountError("grant_refused")
            created = await accounts.create(
                session,
                ctx.actor.tenant_id,
                username=username,
                password=password,
                role=role,
                scope_kind=kind,
                scope_core_id=core_id,
                display_name=values["display_name"],
                now=ctx.runtime.clock(),
            )
            await audit.record(
                session,
                ctx.who,
                "operator.create",
                target_kind="operator",
                target_id=created.id,
                after={"username": created.username, "role": role, "scope": values["scope"]},
                origin=ctx.origin,
                now=ctx.runtime.clock(),
            )
    except accounts.AccountError as exc:
        log.info("console_operator_refused", code=exc.code, role=role, scope=values["scope"])
        field = "username" if exc.code == "username_taken" else "role"
        status = 403 if exc.code == "grant_refused" else 400
        return await _page(request, ctx, status=status, errors={field: exc.code}, values=values)
    raise web.HTTPSeeOther(f"{request.app.router['operators'].url_for()}?done=created")


async def set_status(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    text = request.match_info["operator_id"]
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise web.HTTPNotFound()
    data = await request.post()
    disable = str(data.get("action", "")) == "disable"
    version_text = str(data.get("version", ""))
    visible = scope.node_clause(ctx.actor, Operator.tenant_id, Operator.scope_kind, Operator.scope_core_id)
    async with session_scope(ctx.db) as session:
        row = await session.scalar(select(Operator).where(visible, Operator.id == int(text)))
        if row is None:
            return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
        target = accounts.OperatorView.of(row)
        target_scope = await org.resolve_scope(
            session, target.tenant_id, target.scope_kind, target.scope_core_id
        )
    if target_scope is None or not may_administer(
        ctx.actor, target.id, target.tenant_id, target.role, target_scope
    ):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    if not version_text.isdigit():
        return await _page(request, ctx, status=400, errors={"row": "stale"})
    try:
        async with session_scope(ctx.db) as session:
            await accounts.change(
                session,
                ctx.actor.tenant_id,
                target.id,
                int(version_text),
                disabled=disable,
                now=ctx.runtime.clock(),
            )
            await audit.record(
                session,
                ctx.who,
                "operator.disable" if disable else "operator.enable",
                target_kind="operator",
                target_id=target.id,
                before={"disabled": target.disabled},
                after={"disabled": disable},
                origin=ctx.origin,
                now=ctx.runtime.clock(),
            )
    except accounts.AccountError as exc:
        return await _page(request, ctx, status=409, errors={"row": exc.code})
    raise web.HTTPSeeOther(
        f"{request.app.router['operators'].url_for()}?done={'disabled' if disable else 'enabled'}"
    )


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(
        ConsolePage(
            "操作员", "/operators", "system", ("read", "operators"), operators, order=10, name="operators"
        )
    )
    registry.add(
        ConsolePage(
            "新建操作员",
            "/operators",
            "system",
            ("manage", "operators"),
            create_operator,
            method="POST",
            nav=False,
        )
    )
    registry.add(
        ConsolePage(
            "操作员状态",
            "/operators/{operator_id}/status",
            "system",
            ("manage", "operators"),
            set_status,
            method="POST",
            nav=False,
        )
    )
