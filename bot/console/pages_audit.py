"""系统 > 操作日志: the audit log, searchable, newest first, keyset pages (``before`` = last id)."""

from __future__ import annotations

from aiohttp import web

from bot.console import audit, scope
from bot.console.context import PageContext
from bot.console.models import AuditEntry
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope

PAGE = 50


async def audit_log(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    q = request.query.get("q", "").strip()[:64]
    action = request.query.get("action", "").strip()[:48]
    before_text = request.query.get("before", "")
    before = (
        int(before_text)
        if before_text.isascii() and before_text.isdigit() and len(before_text) < 19
        else None
    )
    visible = scope.node_clause(
        ctx.actor, AuditEntry.tenant_id, AuditEntry.scope_kind, AuditEntry.scope_core_id
    )
    async with session_scope(ctx.db) as session:
        rows = await audit.search(
            session,
            ctx.actor.tenant_id,
            visible=visible,
            text=q,
            action=action,
            before_id=before,
            limit=PAGE + 1,
        )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return ctx.render(
        request,
        "audit.html",
        title="操作日志",
        rows=rows,
        q=q,
        action=action,
        next_before=rows[-1].id if more and rows else None,
        first_page=before is None,
    )


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(
        ConsolePage("操作日志", "/audit", "system", ("read", "audit"), audit_log, order=20, name="audit")
    )
