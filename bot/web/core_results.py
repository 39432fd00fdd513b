"""Pushing order news to store members: the late result of an order the core confirmed after the
chat turn had answered "稍后确认", and the template message used outside the customer-service
window (both through the notifier, which picks the channel with the reach budget)."""

from __future__ import annotations

from typing import Any

import orjson
import structlog

from bot.ordering.errors import ChatOrderingError
from bot.ordering.models import OrderIntent
from bot.ordering.placing import PLACED
from bot.ordering.runtime import OrderingRuntime
from bot.ordering.views import PlaceResult, yuan
from bot.ports import MiniProgramLink, Purpose, Recipient, SubscribeMessage, TemplateMessage
from bot.services import Services

log = structlog.get_logger(__name__)


def render_push(services: Services, name: str, **values: Any) -> str:
    return services.texts.get_template(f"pushes/{name}.j2").render(**values).strip()


def keywords(services: Services, name: str, **values: Any) -> dict[str, str]:
    """A template's "keyword=value" lines as the data of a template or subscribe message."""
    data = {}
    for row in render_push(services, name, **values).splitlines():
        key, _, value = row.partition("=")
        if key.strip():
            data[key.strip()] = value.strip()
    return data


def order_template(services: Services, **values: Any) -> TemplateMessage | None:
    """The order-status template message (``order_template_id``), linked to the order."""
    settings = services.settings
    if not settings.order_template_id:
        return None
    data = keywords(services, "order_template", **values)
    ids = {"order_id": values.get("order_id", ""), "number": values.get("number", "")}
    url = settings.order_url.format(**ids) if settings.order_url else ""
    mini = None
    if settings.order_mp_appid:
        mini = MiniProgramLink(settings.order_mp_appid, settings.order_mp_page.format(**ids))
    return TemplateMessage.of(settings.order_template_id, data, url=url, miniprogram=mini)


def order_subscribe(services: Services, result: PlaceResult) -> SubscribeMessage | None:
    """The mini-program subscribe message for an order's late result, opening the order page."""
    settings = services.settings
    if not settings.order_mp_subscribe_template_id:
        return None
    page = ""
    if result.order_id is not None:
        page = settings.order_mp_page.format(order_id=result.order_id, number=result.number or "")
    data = keywords(services, "order_subscribe", result=result)
    return SubscribeMessage.of(settings.order_mp_subscribe_template_id, data, page=page)


def order_link(services: Services, order_id: int, number: str) -> str:
    template = services.settings.order_url
    return template.format(order_id=order_id, number=number) if template else ""


def pusher(services: Services, runtime: OrderingRuntime):
    """``OrderPlacer.on_settled``: settle the cart and tell the member how their order ended."""

    async def push(intent: OrderIntent, result: PlaceResult) -> None:
        cart_id = orjson.loads(intent.body).get("_cart")
        if intent.member_id is not None and cart_id:
            try:
                if result.status == PLACED:
                    await runtime.carts.clear_if(intent.tenant_id, intent.member_id, cart_id)
                else:
                    await runtime.carts.bump_if(intent.tenant_id, intent.member_id, cart_id)
            except ChatOrderingError:
                pass  # the member changed the cart meanwhile: theirs is newer, leave it
        notify = getattr(services.notifier, "notify", None)
        if notify is None or not intent.appid or not intent.openid:
            log.warning("order_result_not_pushed", intent=intent.id, reason="no notifier or recipient")
            return
        text: str | None = render_push(
            services,
            "order_result",
            result=result,
            total=yuan(result.total_fen),
            code=result.error_code,
            details=result.details,
        )
        app = await services.registry.get(intent.appid)
        template = subscribe = None
        if app is not None and app.kind == "mp":
            # a mini-program user: neither the chat text nor an OA template reaches this openid; a
            # subscribe message does, with the credit the order page asked for on the tap
            # (wx.requestSubscribeMessage); without one the page's polling shows the result
            text = None
            subscribe = order_subscribe(services, result)
        elif result.status == PLACED:
            facts = {"carrier": "", "waybill": "", "location": "", "at": intent.updated_at}
            template = order_template(
                services, number=result.number, order_id=result.order_id, status="created", **facts
            )
        delivery = await notify(
            Recipient(intent.appid, intent.openid, intent.member_id),
            Purpose.SERVICE,
            key=f"order-intent:{intent.id}",
            text=text,
            template=template,
            subscribe=subscribe,
        )
        log.info(
            "order_result_pushed", intent=intent.id, delivered=delivery.delivered, channel=delivery.channel
        )

    return push
