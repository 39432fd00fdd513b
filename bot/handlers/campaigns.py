"""Chat entries to the campaigns open to a store (issue 16).

* 「活动」「秒杀」「拼单」「拍卖」: the campaigns open to the member's store, with countdowns,
  remaining stock, group progress and the auction's current price, each with its reply word;
* 「抢12」「抢12 6瓶」: buy at campaign 12's flash price (or take auction lot 12 at its price now);
* 「拍12」: the same for an auction; 「拼12 6瓶」: join (or open) group buy 12 with 6 bottles;
* 「额度」「库存」: the store's credit (limit, used, available) and the stock by warehouse of
  the products it orders;
* 「推荐门店」: a store member's or distributor's referral QR (scene ``sref:``); scanning it
  records the referral (bot/campaigns/referral.py; rewarded by the feature's settle job).

Each action's idempotency key is the message id: WeChat's retries of one message reach the
core with one key (one order); the core's stock and per-store limits settle a rush.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import structlog

from backend_client import BackendUnavailable, CoreClient
from backend_client import models as m
from bot.campaigns import account as accounts
from bot.campaigns import actions, dropship, referral
from bot.campaigns.errors import CampaignRefused
from bot.campaigns.soldout import SoldOutGate
from bot.db import session_scope
from bot.dispatch import EventContext, Router
from bot.flows.storage import FlowKey
from bot.handlers.scenes import scenes
from bot.messages import Reply, TextReply
from bot.services import Services

log = structlog.get_logger(__name__)
router = Router("campaigns")

LIST_WORDS = ("活动", "秒杀", "拼单", "拍卖", "促销活动", "限时活动", "营销活动")
ACTION = re.compile(r"^(抢|拍|拼)\s*(\d{1,9})(?:\s*[x×*]?\s*(\d{1,4})\s*(?:瓶)?)?$")
VERB = {"抢": "buy", "拍": "buy", "拼": "join"}
ACCOUNT_WORDS = ("额度", "授信", "订货额度", "订货贷", "我的额度", "库存", "查库存")
SHARE_WORDS = ("推荐门店", "推荐有礼", "推荐客户", "邀请门店")
SHARE_QR_SECONDS = 30 * 86400


async def _store(ctx: EventContext) -> dict[str, Any] | bool:
    runtime = ctx.services.ordering
    if ctx.member_id is None or runtime is None:
        return False
    core = await runtime.cores.client(ctx.app.tenant_id)  # the member's tenant's core
    if core is None:
        return False
    return {"binding": await runtime.bindings.get(ctx.member_id), "core": core}


def _now() -> datetime:
    return datetime.now(UTC)


def _text(services: Services, name: str, **values: Any) -> Reply:
    return TextReply(services.text(name, **values))


@router.text(_store, equals=LIST_WORDS)
async def on_list(services: Services, binding: Any, core: CoreClient) -> Reply:
    if binding is None or not binding.bound:
        return _text(services, "campaign_refused", reason="not_bound")
    try:
        found = await actions.open_for_store(core, binding.store.core_store_id, _now())
    except BackendUnavailable:
        return _text(services, "campaign_refused", reason="busy")
    return _text(services, "campaign_list", campaigns=found, store=binding.store.name)


@router.text(_store, regex=ACTION)
async def on_action(
    services: Services, binding: Any, core: CoreClient, match: re.Match[str], message: Any
) -> Reply:
    if binding is None or not binding.bound:
        return _text(services, "campaign_refused", reason="not_bound")
    verb, campaign_id, bottles = VERB[match.group(1)], int(match.group(2)), int(match.group(3) or 1)
    store = binding.store
    cause = f"m:{message.msg_id}" if message.msg_id else f"e:{message.openid}:{message.create_time}"
    try:
        campaign = await actions.one(core, campaign_id, _now(), cached=True)
        if verb == "join" or campaign.kind == "group_buy":
            joined = await actions.join(
                core, binding.tenant_id, store.core_store_id, campaign, bottles, cause=cause
            )
            log.info("campaign_joined", campaign=campaign.id, store=store.code, bottles=bottles)
            fresh = await actions.one(core, campaign_id, _now())
            return _text(services, "campaign_joined", campaign=fresh, joined=joined)
        bought = await actions.buy(
            core,
            binding.tenant_id,
            store.core_store_id,
            campaign,
            bottles,
            cause=cause,
            gate=SoldOutGate(services.redis, services.keys),
        )
    except CampaignRefused as exc:
        log.info("campaign_refused", campaign=campaign_id, store=store.code, reason=exc.reason)
        return _text(services, "campaign_refused", reason=exc.reason, **exc.data)
    except BackendUnavailable:
        return _text(services, "campaign_refused", reason="busy")
    log.info("campaign_bought", campaign=campaign.id, store=store.code, order=bought.number)
    return _text(services, "campaign_bought", campaign=campaign, purchase=bought)


@router.text(_store, equals=ACCOUNT_WORDS)
async def on_account(services: Services, binding: Any, core: CoreClient) -> Reply:
    if binding is None or not binding.bound:
        return _text(services, "campaign_refused", reason="not_bound")
    try:
        found = await accounts.account(core, binding.store.core_store_id)
    except BackendUnavailable:
        return _text(services, "campaign_refused", reason="busy")
    return _text(services, "store_account", account=found)


def referral_secret(services: Services) -> bytes:
    import hashlib
    import hmac

    return hmac.digest(services.settings.secret_key.encode(), b"jiubot/store-referral", hashlib.sha256)


@router.text(equals=SHARE_WORDS)
async def on_share(services: Services, member_id: int | None, app: Any) -> Reply:
    from bot.membership.models import Member

    if member_id is None:
        return _text(services, "store_referral", outcome="not_a_referrer")
    async with session_scope(services.sessions) as session:
        member = await session.get(Member, member_id)
    if member is None or member.role not in referral.REFERRER_ROLES:
        return _text(services, "store_referral", outcome="not_a_referrer")
    scene = referral.SCENE + referral.share_token(referral_secret(services), app.tenant_id, member_id)
    url = ""
    if services.wechat is not None:
        try:
            url = (
                await services.wechat.qrcode.create(app.appid, scene, expire_seconds=SHARE_QR_SECONDS)
            ).image_url
        except Exception as exc:  # WeChat refused or is down: the reply says so, nothing else happens
            log.warning("store_referral_qr_failed", error=type(exc).__name__)
    config = await _config(services, app.tenant_id)
    referrer_points, referee_points = referral.rewards(config)
    return _text(
        services, "store_referral", outcome="share", url=url, referrer=referrer_points, referee=referee_points
    )


async def _config(services: Services, tenant_id: int) -> Any:
    membership = services.membership
    if membership is None:
        from bot.membership.loyalty_config import LoyaltyConfig

        return LoyaltyConfig()
    return await membership.configs.get(tenant_id)


@scenes.handler(referral.SCENE)
async def on_referral_scene(ctx: EventContext, token: str) -> Reply | None:
    services = ctx.services
    found = referral.read_token(referral_secret(services), token)
    if found is None or found[0] != ctx.app.tenant_id or ctx.member_id is None:
        return _text(services, "store_referral", outcome="invalid")
    try:
        async with session_scope(services.sessions) as session:
            await referral.record(session, found[0], found[1], ctx.member_id)
    except referral.StoreReferralRefused as exc:
        log.info("store_referral_refused", reason=exc.reason)
        return _text(services, "store_referral", outcome=exc.reason)
    log.info("store_referral_recorded", referrer=found[1], referee=ctx.member_id)
    return _text(services, "store_referral", outcome="recorded")


# 一键代发 (drop-ship): a short conversation kept as a memo (bot/campaigns/dropship.py) -----------
DROPSHIP_WORDS = ("代发", "一键代发", "帮我代发")
CONFIRM_DROPSHIP = ("确认代发",)
CANCEL_DROPSHIP = ("取消代发",)


def _drafting(*steps: str) -> Any:
    """A filter: the member is bound and their drop-ship draft is at one of ``steps``."""

    async def check(ctx: EventContext) -> dict[str, Any] | bool:
        found = await _store(ctx)
        if not isinstance(found, dict):
            return False
        draft = dropship.Draft.decode(await ctx.services.flows.recall(ctx.flow_key, dropship.MEMO))
        if draft is None or draft.step not in steps:
            return False
        return {**found, "draft": draft}

    return check


async def _keep(ctx_services: Services, key: FlowKey, draft: dropship.Draft) -> None:
    await ctx_services.flows.remember(key, dropship.MEMO, draft.encode(), ttl=dropship.MEMO_SECONDS)


def _say(services: Services, step: str, **values: Any) -> Reply:
    return _text(services, "dropship", step=step, **values)


@router.text(_store, equals=DROPSHIP_WORDS)
async def on_dropship(ctx: EventContext, services: Services, binding: Any, core: CoreClient) -> Reply:
    if binding is None or not binding.bound:
        return _text(services, "campaign_refused", reason="not_bound")
    try:
        found = await dropship.products(core, binding.store.core_store_id)
    except BackendUnavailable:
        return _say(services, "busy")
    if not found:
        return _say(services, "none")
    draft = dropship.new_draft(found)
    await _keep(services, ctx.flow_key, draft)
    return _say(services, "pick", products=found)


@router.text(_drafting("pick", "recipient", "confirm"), equals=CANCEL_DROPSHIP)
async def on_dropship_cancel(ctx: EventContext, services: Services) -> Reply:
    await services.flows.take(ctx.flow_key, dropship.MEMO)
    return _say(services, "cancelled")


@router.text(_drafting("pick"))
async def on_dropship_pick(ctx: EventContext, services: Services, draft: dropship.Draft) -> Reply:
    picked = dropship.parse_pick(ctx.message.content or "", draft)
    if picked is None:
        return _say(services, "bad_pick")
    product, bottles = picked
    draft.step, draft.sku, draft.name, draft.bottles = "recipient", product.sku, product.name, bottles
    await _keep(services, ctx.flow_key, draft)
    return _say(services, "recipient", product=product.name, bottles=bottles)


@router.text(_drafting("recipient"))
async def on_dropship_recipient(ctx: EventContext, services: Services, draft: dropship.Draft) -> Reply:
    recipient = dropship.parse_recipient(ctx.message.content or "")
    if recipient is None:
        return _say(services, "bad_recipient")
    draft.step, draft.recipient = "confirm", recipient.to_json()
    await _keep(services, ctx.flow_key, draft)
    return _say(services, "confirm", product=draft.name, bottles=draft.bottles, recipient=recipient)


@router.text(_drafting("confirm", "done"), equals=CONFIRM_DROPSHIP)
async def on_dropship_confirm(
    ctx: EventContext, services: Services, binding: Any, core: CoreClient, draft: dropship.Draft
) -> Reply:
    assert draft.recipient is not None
    recipient = m.Recipient(**draft.recipient)
    store_id = binding.store.core_store_id
    try:
        shipped = await dropship.ship(
            core, store_id, draft.sku, draft.bottles, recipient, key=draft.key(store_id)
        )
    except dropship.DropShipRefused as exc:
        log.info("dropship_refused", store=binding.store.code, reason=exc.reason)
        await services.flows.take(ctx.flow_key, dropship.MEMO)
        return _say(services, "out_of_stock" if exc.reason == "out_of_stock" else "refused", **exc.data)
    except BackendUnavailable:
        return _say(services, "busy")  # the draft stays: 确认代发 again reaches the core with the same key
    draft.step = "done"
    await _keep(services, ctx.flow_key, draft)
    log.info("dropship_shipped", store=binding.store.code, drop_ship=shipped.id, bottles=shipped.bottles)
    return _say(services, "done", shipped=shipped)


@router.text(_store, equals=CONFIRM_DROPSHIP)
async def on_dropship_nothing(services: Services) -> Reply:
    return _say(services, "nothing")
