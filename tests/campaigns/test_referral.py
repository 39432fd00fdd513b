"""B-side referral: the reward is paid once, after the referred store's first order is
delivered; never for a cancelled first order; self and circular referrals are refused."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from backend_client import LineRequest
from bot.campaigns import referral
from bot.campaigns.models import StoreReferral
from bot.db import session_scope
from bot.handlers.campaigns import referral_secret
from bot.membership.actions import assign_role
from bot.membership.ledger_models import PointsAccount, PointsLedger
from bot.membership.loyalty_config import LoyaltyConfig
from bot.ordering import binding
from bot.ordering.binding import CoreStore
from tests.campaigns.conftest import Shop
from tests.campaigns.test_campaigns import _setup
from tests.wechat_client import event_xml


async def _scan(shop: Shop, openid: str, referrer_member: int) -> str:
    token = referral.share_token(referral_secret(shop.services), await shop.tenant_id(), referrer_member)
    shop._clock = max(getattr(shop, "_clock", 0) + 1, int(time.time()))
    # an account follower scanning the QR (SCAN event: the scene's reply is the passive one)
    reply = await shop.poster.post(event_xml(openid, "SCAN", key=f"sref:{token}", create_time=shop._clock))
    assert reply.status == 200
    return reply.text or ""


async def _member(shop: Shop, openid: str) -> int:
    from bot.membership.models import MemberIdentity

    async with session_scope(shop.services.sessions) as session:
        return (
            await session.execute(select(MemberIdentity.member_id).where(MemberIdentity.openid == openid))
        ).scalar_one()


async def _bind(shop: Shop, member_id: int, store) -> int:
    async with session_scope(shop.services.sessions) as session:
        bound = await binding.bind_owner(
            session,
            await shop.tenant_id(),
            member_id,
            CoreStore(store.id, store.code, store.name, store.owner_phone),
        )
    await shop.services.ordering.bindings.forget(member_id)
    return bound.store.store_id


async def _points(shop: Shop, store_id: int | None = None, member_id: int | None = None) -> int:
    async with session_scope(shop.services.sessions) as session:
        holder = (
            PointsAccount.store_id == store_id
            if store_id is not None
            else PointsAccount.member_id == member_id
        )
        found = (await session.execute(select(PointsAccount.balance).where(holder))).scalar_one_or_none()
        return found or 0


async def _settle(shop: Shop):
    return await referral.settle(shop.services.sessions, shop.api, await shop.tenant_id(), LoyaltyConfig())


async def _order(shop: Shop, sku: str, core_store_id: int) -> int:
    order = await shop.api.orders.create(
        core_store_id,
        [LineRequest(sku=sku, bottles=1)],
        idempotency_key=f"ref-test-{core_store_id}-{time.time_ns()}",
    )
    return order.id


async def test_rewarded_once_after_the_first_order_is_delivered(shop_factory, core_fresh_db) -> None:
    shop = await shop_factory(core_fresh_db)
    sku, stores = await _setup(shop, stores=8)
    fresh = stores[1:]  # the fresh core's stores have never ordered
    (referrer,) = await shop.buyers(1, stores[:1])
    referrer_store = await _bind(shop, referrer.member_id, stores[0])
    reply = await _scan(shop, "o_new_store", referrer.member_id)
    assert "推荐" in reply, reply
    referee = await _member(shop, "o_new_store")
    # not bound yet: nothing to settle
    assert (await _settle(shop)).waiting == 1
    new_store = await _bind(shop, referee, fresh[0])
    order_id = await _order(shop, sku, fresh[0].id)
    assert (await _settle(shop)).waiting == 1  # ordered, not delivered
    assert await _points(shop, store_id=new_store) == 0
    await shop.api.admin.advance_order(order_id, "delivered")
    results = await asyncio.gather(*(_settle(shop) for _ in range(3)))  # concurrent settle runs
    assert sum(r.rewarded for r in results) == 1
    assert await _points(shop, store_id=new_store) == referral.DEFAULT_REFEREE_POINTS
    assert await _points(shop, store_id=referrer_store) == referral.DEFAULT_REFERRER_POINTS
    assert (await _settle(shop)).rewarded == 0
    async with session_scope(shop.services.sessions) as session:
        rows = (
            (await session.execute(select(PointsLedger).where(PointsLedger.source_kind == "store_referral")))
            .scalars()
            .all()
        )
        state = (await session.execute(select(StoreReferral.state))).scalars().all()
    assert len(rows) == 2 and state == ["rewarded"]
    # the same person scanning again changes nothing; another referrer cannot take him over
    assert "已经是合作门店" in await _scan(shop, "o_new_store", referrer.member_id)


async def test_no_reward_for_a_cancelled_first_order(shop_factory, core_fresh_db) -> None:
    shop = await shop_factory(core_fresh_db)
    sku, stores = await _setup(shop, stores=8)
    fresh = stores[1:]
    (referrer,) = await shop.buyers(1, stores[:1])
    referrer_store = await _bind(shop, referrer.member_id, stores[0])
    await _scan(shop, "o_new_store2", referrer.member_id)
    referee = await _member(shop, "o_new_store2")
    new_store = await _bind(shop, referee, fresh[0])
    first = await _order(shop, sku, fresh[0].id)
    await shop.api.orders.cancel(first, "test")
    assert (await _settle(shop)).lapsed == 1
    second = await _order(shop, sku, fresh[0].id)
    await shop.api.admin.advance_order(second, "delivered")
    assert (await _settle(shop)).rewarded == 0
    assert await _points(shop, store_id=new_store) == 0
    assert await _points(shop, store_id=referrer_store) == 0


async def test_self_and_circular_referrals_are_refused(shop_factory, core_fresh_db) -> None:
    shop = await shop_factory(core_fresh_db)
    _sku, stores = await _setup(shop, stores=8)
    (owner,) = await shop.buyers(1, stores[:1])
    assert "不能推荐自己" in await _scan(shop, owner.openid, owner.member_id)
    # a distributor brings Y; Y binds a store and shares; the distributor scanning Y's QR is circular
    await _scan(shop, "o_distributor", owner.member_id)  # creates the member (recorded as referee)
    distributor = await _member(shop, "o_distributor")
    async with session_scope(shop.services.sessions) as session:
        await session.execute(StoreReferral.__table__.delete())
        await assign_role(session, distributor, "distributor_staff", distributor_code="D001")
    assert "推荐" in await _scan(shop, "o_y", distributor)
    y = await _member(shop, "o_y")
    await _bind(shop, y, stores[1])
    assert "互相推荐" in await _scan(shop, "o_distributor", y)
    # a consumer cannot share a store referral QR
    assert "仅限" in await _scan(shop, "o_someone", await _member(shop, "o_distributor") + 10_000)


async def test_an_existing_customer_store_is_not_a_referral(shop_factory, core_fresh_db) -> None:
    shop = await shop_factory(core_fresh_db)
    sku, stores = await _setup(shop, stores=8)
    old = await _order(shop, sku, stores[1].id)  # the store ordered before it was referred
    await shop.api.admin.advance_order(old, "delivered")
    (referrer,) = await shop.buyers(1, stores[:1])
    await _bind(shop, referrer.member_id, stores[0])
    await asyncio.sleep(0.01)
    await _scan(shop, "o_old_customer", referrer.member_id)
    referee = await _member(shop, "o_old_customer")
    store = await _bind(shop, referee, stores[1])
    later = await _order(shop, sku, stores[1].id)
    await shop.api.admin.advance_order(later, "delivered")
    assert (await _settle(shop)).refused == 1
    assert await _points(shop, store_id=store) == 0


async def _coupon_campaign(shop: Shop) -> int:
    from datetime import UTC, datetime, timedelta

    from tests.campaigns.conftest import iso

    now = datetime.now(UTC)
    campaign = await shop.api.coupons.create_campaign(
        {
            "name": "推荐有礼券",
            "kind": "amount_off",
            "amount_off_fen": 5_000,
            "threshold_fen": 100_000,
            "audience": "stores",
            "claim_starts_at": iso(now - timedelta(hours=1)),
            "claim_ends_at": iso(now + timedelta(days=1)),
            "valid_days": 7,
            "valid_until": iso(now + timedelta(days=30)),
            "total_stock": 100,
            "per_holder_limit": 5,
        }
    )
    return campaign.id


async def _settle_with_coupon(shop: Shop, campaign: int):
    config = LoyaltyConfig(store_referral_coupon_campaign=campaign)
    return await referral.settle(shop.services.sessions, shop.api, await shop.tenant_id(), config)


async def test_a_coupon_reward_is_issued_once_through_the_core(shop_factory, core_fresh_db) -> None:
    shop = await shop_factory(core_fresh_db)
    sku, stores = await _setup(shop, stores=8)
    campaign = await _coupon_campaign(shop)
    (referrer,) = await shop.buyers(1, stores[:1])
    await _bind(shop, referrer.member_id, stores[0])
    await _scan(shop, "o_coupon_store", referrer.member_id)
    referee = await _member(shop, "o_coupon_store")
    new_store = await _bind(shop, referee, stores[1])
    order_id = await _order(shop, sku, stores[1].id)
    await shop.api.admin.advance_order(order_id, "delivered")
    results = await asyncio.gather(*(_settle_with_coupon(shop, campaign) for _ in range(3)))
    assert sum(r.rewarded for r in results) == 1
    assert (await _settle_with_coupon(shop, campaign)).rewarded == 0
    for core_store in (stores[1].id, stores[0].id):  # the referee's store and the referrer's
        claims = (await shop.api.coupons.for_holder("store", core_store)).items
        assert [c.campaign_id for c in claims] == [campaign], claims
    assert await _points(shop, store_id=new_store) == referral.DEFAULT_REFEREE_POINTS
    assert (await shop.api.coupons.campaign(campaign)).remaining == 98


async def test_no_coupon_for_a_cancelled_first_order(shop_factory, core_fresh_db) -> None:
    shop = await shop_factory(core_fresh_db)
    sku, stores = await _setup(shop, stores=8)
    campaign = await _coupon_campaign(shop)
    (referrer,) = await shop.buyers(1, stores[:1])
    await _bind(shop, referrer.member_id, stores[0])
    await _scan(shop, "o_coupon_store2", referrer.member_id)
    referee = await _member(shop, "o_coupon_store2")
    await _bind(shop, referee, stores[1])
    first = await _order(shop, sku, stores[1].id)
    await shop.api.orders.cancel(first, "test")
    assert (await _settle_with_coupon(shop, campaign)).lapsed == 1
    second = await _order(shop, sku, stores[1].id)
    await shop.api.admin.advance_order(second, "delivered")
    assert (await _settle_with_coupon(shop, campaign)).rewarded == 0
    assert (await shop.api.coupons.campaign(campaign)).remaining == 100
    assert (await shop.api.coupons.for_holder("store", stores[1].id)).items == ()
