"""The standard middleware: error logging, the per-member lock, and member context."""

from __future__ import annotations

import structlog

from bot.db import session_scope
from bot.dispatch.context import EventContext
from bot.dispatch.dispatcher import Next
from bot.membership import actions as member_actions
from bot.messages import Reply
from bot.observability import hash_openid, metrics

log = structlog.get_logger(__name__)


async def errors(nxt: Next, ctx: EventContext) -> Reply:
    """Log and count a failing handler, then re-raise: the pipeline releases the lease so that
    WeChat's retry runs the handler again."""
    try:
        return await nxt(ctx)
    except Exception:
        metrics.handler_errors.labels(handler=ctx.data.get("handler", "unrouted")).inc()
        log.exception(
            "handler_failed",
            appid=ctx.message.appid,
            user=hash_openid(ctx.message.openid),
            msg_type=ctx.message.msg_type,
            event=ctx.message.event,
            handler=ctx.data.get("handler"),
        )
        raise


async def member_lock(nxt: Next, ctx: EventContext) -> Reply:
    """Messages of one member run one after another; the lock is taken before flow state loads."""
    if not ctx.lock.held:
        await ctx.lock.acquire()
        ctx.forget_flow()
    return await nxt(ctx)


async def member_context(nxt: Next, ctx: EventContext) -> Reply:
    """Create the member on first contact; a known member costs no database read (Redis cache)."""
    if ctx.member_id is None:
        services = ctx.services
        async with session_scope(services.sessions) as session:
            ctx.member_id = await member_actions.ensure_member(
                session, ctx.app.tenant_id, ctx.message.appid, ctx.message.openid
            )
        await services.redis.set(
            services.keys("member", ctx.message.appid, ctx.message.openid), ctx.member_id, ex=7 * 86400
        )
    return await nxt(ctx)


DEFAULT_MIDDLEWARE = (errors, member_lock, member_context)
