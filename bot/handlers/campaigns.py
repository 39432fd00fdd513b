"""Chat entries to the campaigns open to a store (issue 16).

* 「活动」「秒杀」「拼单」「拍卖」: the campaigns open to the member's store, with countdowns,
  remaining stock, group progress and the auction's current price, each with its reply word;
* 「抢12」「抢12 6瓶」: buy at campaign 12's flash price (or take auction lot 12 at its price now);
* 「拍12」: the same for an auction; 「拼12 6瓶」: join (or open) group buy 12 with 6 bottles;
* 「额度」「库存」: the store's credit (limit, used, available) and the stock by warehouse of
  the products it orders.

Each action's idempotency key is the message id: WeChat's retries of one message reach the
core with one key (one order); the core's stock and per-store limits settle a rush.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import structlog

from backend_client import BackendUnavailable
from bot.campaigns import account as accounts
from bot.campaigns import actions
from bot.campaigns.errors import CampaignRefused
from bot.dispatch import EventContext, Router
from bot.messages import Reply, TextReply
from bot.services import Services

log = structlog.get_logger(__name__)
router = Router("campaigns")

LIST_WORDS = ("活动", "秒杀", "拼单", "拍卖", "促销活动", "限时活动", "营销活动")
ACTION = re.compile(r"^(抢|拍|拼)\s*(\d{1,9})(?:\s*[x×*]?\s*(\d{1,4})\s*(?:瓶)?)?$")
VERB = {"抢": "buy", "拍": "buy", "拼": "join"}
ACCOUNT_WORDS = ("额度", "授信", "订货额度", "订货贷", "我的额度", "库存", "查库存")


async def _store(ctx: EventContext) -> dict[str, Any] | bool:
    runtime = ctx.services.ordering
    if ctx.member_id is None or runtime is None:
        return False
    found = await runtime.bindings.get(ctx.member_id)
    return {"binding": found}


def _now() -> datetime:
    return datetime.now(UTC)


def _text(services: Services, name: str, **values: Any) -> Reply:
    return TextReply(services.text(name, **values))


@router.text(_store, equals=LIST_WORDS)
async def on_list(services: Services, binding: Any) -> Reply:
    if binding is None or not binding.bound:
        return _text(services, "campaign_refused", reason="not_bound")
    try:
        found = await actions.open_for_store(services.core, binding.store.core_store_id, _now())
    except BackendUnavailable:
        return _text(services, "campaign_refused", reason="busy")
    return _text(services, "campaign_list", campaigns=found, store=binding.store.name)


@router.text(_store, regex=ACTION)
async def on_action(services: Services, binding: Any, match: re.Match[str], message: Any) -> Reply:
    if binding is None or not binding.bound:
        return _text(services, "campaign_refused", reason="not_bound")
    verb, campaign_id, bottles = VERB[match.group(1)], int(match.group(2)), int(match.group(3) or 1)
    store = binding.store
    cause = f"m:{message.msg_id}" if message.msg_id else f"e:{message.openid}:{message.create_time}"
    try:
        campaign = await actions.one(services.core, campaign_id, _now())
        if verb == "join" or campaign.kind == "group_buy":
            joined = await actions.join(
                services.core, binding.tenant_id, store.core_store_id, campaign, bottles, cause=cause
            )
            log.info("campaign_joined", campaign=campaign.id, store=store.code, bottles=bottles)
            fresh = await actions.one(services.core, campaign_id, _now())
            return _text(services, "campaign_joined", campaign=fresh, joined=joined)
        bought = await actions.buy(
            services.core, binding.tenant_id, store.core_store_id, campaign, bottles, cause=cause
        )
    except CampaignRefused as exc:
        log.info("campaign_refused", campaign=campaign_id, store=store.code, reason=exc.reason)
        return _text(services, "campaign_refused", reason=exc.reason, **exc.data)
    except BackendUnavailable:
        return _text(services, "campaign_refused", reason="busy")
    log.info("campaign_bought", campaign=campaign.id, store=store.code, order=bought.number)
    return _text(services, "campaign_bought", campaign=campaign, purchase=bought)


@router.text(_store, equals=ACCOUNT_WORDS)
async def on_account(services: Services, binding: Any) -> Reply:
    if binding is None or not binding.bound:
        return _text(services, "campaign_refused", reason="not_bound")
    try:
        found = await accounts.account(services.core, binding.store.core_store_id)
    except BackendUnavailable:
        return _text(services, "campaign_refused", reason="busy")
    return _text(services, "store_account", account=found)
