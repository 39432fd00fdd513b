"""``POST /core/webhook/{tenant}`` (and ``/core/webhook``, the process's tenant): the core's
order-status events.

0. The tenant is the path's slug, never a header: each tenant's core signs with that tenant's own
   webhook secret, so the path is bound to the signature by the key that verifies it (an event
   signed with tenant A's secret sent to B's path fails B's check: 401, nothing recorded). The
   process-wide ``JIUBOT_CORE_WEBHOOK_SECRET`` verifies only the process's own tenant
   (``JIUBOT_TENANT_SLUG``): a tenant on the default core without its own cannot be addressed.
1. Verify ``X-Core-Signature`` over the raw body with that secret (backend_client's verifier:
   constant time, timestamp tolerance). Bad signature -> 401, unreadable -> 400.
2. Insert-first: the event id's row is inserted (``ON CONFLICT DO NOTHING``) as a claim before
   anything is done; only the delivery whose insert wrote the row processes the event. A
   redelivery of a handled event is acknowledged and dropped (the core delivers at least once);
   one that arrives while another delivery is processing gets 409 ``in_progress`` (the core
   retries later). When processing fails, the claim is deleted so the redelivery runs it again; a
   claim abandoned by a crashed process is taken over after ``CLAIM_LEASE``.
3. ``order.status_changed``: push the news to the store's owner (and the member who placed the
   order) through the notifier (key ``core-event:<event id>:<member>``: never twice), and credit
   or reverse ordering points through membership, in one transaction with the event id's row
   (marked ``done`` in the transaction of the credit), so a crash before the commit means the
   core's retry does it all again and the pushes are not repeated.

When the core itself cannot be asked (an order total for points) the answer is 503 and the core
retries later; nothing is recorded in between.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Literal

import structlog
from aiohttp import web
from sqlalchemy import delete, select, update

from backend_client import CoreError, InvalidWebhook, OrderStatusChanged, WebhookEvent, verify_webhook
from bot import keys
from bot.automation import facts as order_facts
from bot.db import insert_ignore, rowcount, session_scope, utcnow
from bot.hooks import Happened
from bot.membership.loyalty_config import LoyaltyConfig
from bot.ordering import notices
from bot.ordering import repository as repo
from bot.ordering.models import CoreEvent
from bot.ordering.views import yuan
from bot.ports import Purpose, Recipient
from bot.services import Services
from bot.tenancy import repository as tenancy_repo
from bot.web.core_results import order_link, order_template, render_push

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


def _json(http_status: int, **body: object) -> web.Response:
    return web.json_response(body, status=http_status)


async def _tenant(services: Services, slug: str) -> tuple[int, str] | None:
    """(tenant id, the secret its webhooks are signed with); None: no such tenant, or none of
    its own core's secret and not the process's tenant. One indexed read per delivery: webhooks
    are rare next to callbacks."""
    async with session_scope(services.sessions) as session:
        tenant = await tenancy_repo.tenant_by_slug(session, slug)
    if tenant is None:
        return None
    config = await services.cores.config(tenant.id)
    if config is None or (not config.own and slug != services.settings.tenant_slug):
        return None
    return tenant.id, config.webhook_secret


# A claim older than this is taken to belong to a crashed process and may be taken over.
CLAIM_LEASE = timedelta(minutes=2)
DONE = "done"


class ClaimLost(Exception):
    """Our claim was taken over (we outlived the lease): the other delivery does the work."""


@routes.post("/core/webhook")
async def receive_default(request: web.Request) -> web.Response:
    services: Services = request.app[keys.SERVICES]
    return await _receive(request, services, services.settings.tenant_slug)


@routes.post("/core/webhook/{tenant}")
async def receive(request: web.Request) -> web.Response:
    return await _receive(request, request.app[keys.SERVICES], request.match_info["tenant"])


async def _receive(request: web.Request, services: Services, slug: str) -> web.Response:
    body = await request.read()
    found = await _tenant(services, slug[:64])
    if found is None:
        log.warning("core_webhook_rejected", reason="unknown_tenant", tenant=slug[:64])
        return _json(404, error="unknown_tenant")
    tenant_id, secret = found
    try:
        event = verify_webhook(secret, request.headers, body)
    except InvalidWebhook as exc:
        log.warning("core_webhook_rejected", reason=exc.reason, tenant=slug)
        return _json(400 if exc.reason == "malformed" else 401, error=exc.reason)
    is_order = event.type == "order.status_changed" and isinstance(event.data, OrderStatusChanged)
    outcome, token = await _claim(services, tenant_id, event, final=not is_order)
    if outcome == "duplicate":
        return _json(200, status="duplicate")
    if outcome == "busy":
        return _in_progress()
    if not is_order:
        return _json(200, status="ok")  # recorded as done by the claim itself
    try:
        await _order_status(services, tenant_id, event, token)
    except ClaimLost:
        return _in_progress()
    except CoreError as exc:
        await _release(services, tenant_id, event, token)
        log.warning("core_webhook_deferred", event_id=event.id, error=exc.code)
        return _json(503, error="core_unavailable")
    except Exception:
        await _release(services, tenant_id, event, token)
        raise
    return _json(200, status="ok")


def _in_progress() -> web.Response:
    response = _json(409, error="in_progress")
    response.headers["Retry-After"] = "5"
    return response


async def _claim(
    services: Services, tenant_id: int, event: WebhookEvent, *, final: bool
) -> tuple[Literal["claimed", "duplicate", "busy"], str]:
    """Insert the event's row first: ("claimed", our token) when this delivery processes the
    event, "duplicate" when it was handled, "busy" when another delivery is processing it now.
    ``final``: nothing to process, the row is written as done at once."""
    token = DONE if final else f"p:{secrets.token_hex(6)}"
    now = utcnow()
    row = {
        "tenant_id": tenant_id,
        "event_id": event.id[:64],
        "type": event.type[:48],
        "received_at": now,
        "state": token,
    }
    async with session_scope(services.sessions) as session:
        # RETURNING, not rowcount: psycopg reports -1 for this statement.
        inserted = await session.execute(
            insert_ignore(
                session, CoreEvent.__table__, [row], index_elements=["tenant_id", "event_id"]
            ).returning(CoreEvent.__table__.c.id)
        )
        if inserted.first() is not None:
            return "claimed", token
        # Someone claimed it first: take over only a claim its process abandoned.
        taken = await session.execute(
            update(CoreEvent)
            .where(
                CoreEvent.tenant_id == tenant_id,
                CoreEvent.event_id == event.id[:64],
                CoreEvent.state != DONE,
                CoreEvent.received_at < now - CLAIM_LEASE,
            )
            .values(state=token, received_at=now)
        )
        if rowcount(taken) == 1:
            log.warning("core_webhook_claim_taken_over", event_id=event.id)
            return "claimed", token
        state = (
            await session.execute(
                select(CoreEvent.state).where(
                    CoreEvent.tenant_id == tenant_id, CoreEvent.event_id == event.id[:64]
                )
            )
        ).scalar_one_or_none()
    return ("duplicate" if state == DONE else "busy"), ""


async def _release(services: Services, tenant_id: int, event: WebhookEvent, token: str) -> None:
    """Processing failed: drop our claim so that the core's redelivery processes the event."""
    async with session_scope(services.sessions) as session:
        await session.execute(
            delete(CoreEvent).where(
                CoreEvent.tenant_id == tenant_id,
                CoreEvent.event_id == event.id[:64],
                CoreEvent.state == token,
            )
        )


async def _mark_done(session, tenant_id: int, event: WebhookEvent, token: str) -> None:
    done = await session.execute(
        update(CoreEvent)
        .where(
            CoreEvent.tenant_id == tenant_id, CoreEvent.event_id == event.id[:64], CoreEvent.state == token
        )
        .values(state=DONE)
    )
    if done.rowcount != 1:
        raise ClaimLost()


async def _config(services: Services, tenant_id: int) -> LoyaltyConfig:
    membership = services.membership
    return await membership.configs.get(tenant_id) if membership is not None else LoyaltyConfig()


async def _order_status(services: Services, tenant_id: int, event: WebhookEvent, token: str) -> None:
    data = event.data
    assert isinstance(data, OrderStatusChanged)
    core = await services.cores.client(tenant_id)
    config = await _config(services, tenant_id)
    async with session_scope(services.sessions) as session:
        known = await notices.facts(session, tenant_id, data)
        notice = await notices.notice_for(session, tenant_id, event.id, data, known) if known else None
    store_code = known.store_code if known else None
    amount = known.total_fen if known else None
    if core is not None:
        if store_code is None:
            store_code = await notices.store_code_from_core(core, data.store_id)
        if amount is None and notices.needs_amount(data.status, config):
            amount = await notices.order_total(core, data.order_id)
    if notice is not None:
        await _push(services, tenant_id, notice)
    async with session_scope(services.sessions) as session:
        if store_code is not None:
            await notices.credit_points(
                session, tenant_id, data, store_code=store_code, amount_fen=amount, config=config
            )
            fact = order_facts.from_event(data, store_code, amount)
            await order_facts.record_order(session, tenant_id, fact)
        await _mark_done(session, tenant_id, event, token)
    await services.hooks.emit(Happened(tenant_id, "order", utcnow(), order_id=str(data.order_id)))
    log.info("core_order_status", order=data.order_id, status=data.status, notified=bool(notice))


async def _push(services: Services, tenant_id: int, notice: notices.Notice) -> None:
    notify = getattr(services.notifier, "notify", None)
    if notify is None:
        return
    oa = [a.appid for a in services.registry.all() if a.kind == "oa" and a.tenant_id == tenant_id]
    async with session_scope(services.sessions) as session:
        people = await repo.following_identities(session, list(notice.member_ids), oa)
    values = {
        "status": notice.status,
        "number": notice.number,
        "order_id": notice.order_id,
        "location": notice.location,
        "carrier": notice.carrier,
        "waybill": notice.waybill,
        "eta": notice.eta,
        "at": notice.at,
        "total": yuan(notice.total_fen) if notice.total_fen is not None else "",
        "link": order_link(services, notice.order_id, notice.number),
    }
    text = render_push(services, "order_status", **values)
    template = order_template(services, **values)
    for member_id, appid, openid in people:
        try:
            await notify(
                Recipient(appid, openid, member_id),
                Purpose.SERVICE,
                key=f"core-event:{notice.event_id}:{member_id}",
                text=text,
                template=template,
            )
        except Exception:
            log.exception("order_notice_failed", order=notice.order_id, member=member_id)
