"""Telling the member when the console ships or cancels his redemption: a service notice through
the notifier (customer-service message inside the window, else what the reach budget allows), to
each Official Account identity he follows with, keyed by the order and its new status so a retry
never sends twice. Sent after the change commits; a failed push is logged, the change stands."""

from __future__ import annotations

import structlog

from bot.console.rewards import OrderRow
from bot.db import session_scope
from bot.ordering.repository import following_identities
from bot.ports import Purpose, Recipient
from bot.services import Services

log = structlog.get_logger(__name__)


async def push_status(
    services: Services, order: OrderRow, status: str, *, carrier: str = "", tracking: str = ""
) -> int:
    """Notices sent (0 when the member follows no Official Account of the tenant)."""
    oa = [a.appid for a in services.registry.all() if a.kind == "oa"]
    async with session_scope(services.sessions) as session:
        people = await following_identities(session, [order.member_id], oa)
    text = (
        services.texts.get_template("pushes/redemption_status.j2")
        .render(status=status, item=order.item, quantity=order.quantity, points=order.points,
                carrier=carrier, tracking=tracking)
        .strip()
    )  # fmt: skip
    sent = 0
    for member_id, appid, openid in people:
        try:
            delivery = await services.notifier.notify(
                Recipient(appid, openid, member_id),
                Purpose.SERVICE,
                key=f"redemption:{order.id}:{status}:{appid}",
                text=text,
            )
            sent += int(delivery.delivered)
        except Exception:
            log.exception("console_redemption_push_failed", order=order.id, member=member_id)
    return sent
