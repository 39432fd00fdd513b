"""Regional rights: a region's operator sees and changes only his region's campaigns and
storefront, HQ sees and stops all; the home served to a store follows its region."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.campaigns import regional, storefront
from bot.campaigns.regional import RegionalRefused
from bot.db import session_scope
from bot.membership.actions import assign_role, ensure_member
from tests.campaigns.conftest import Shop, iso
from tests.campaigns.test_campaigns import _setup
from tests.conftest import OA_APPID


async def _operator(shop: Shop, openid: str, region: str | None) -> regional.Operator:
    tenant = await shop.tenant_id()
    async with session_scope(shop.services.sessions) as session:
        member = await ensure_member(session, tenant, OA_APPID, openid)
        await assign_role(session, member, "operator", region_code=region)
    async with session_scope(shop.services.sessions) as session:
        return await regional.operator_of(session, member)


def _flash(sku: str, name: str) -> dict:
    now = datetime.now(UTC)
    return {
        "kind": "flash_sale",
        "name": name,
        "starts_at": iso(now - timedelta(minutes=1)),
        "ends_at": iso(now + timedelta(hours=2)),
        "rules": {"sku": sku, "price_fen": 1000},
        "stock": 10,
        "per_store_limit": 2,
    }


async def test_campaign_rights_matrix(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db)
    sku, stores = await _setup(shop, stores=20)
    regions = {r.id: r.code for r in await shop.api.org.regions()}
    r1, r2 = regions[stores[0].region_id], next(c for i, c in regions.items() if i != stores[0].region_id)
    east, west, hq = (
        await _operator(shop, "o_op_1", r1),
        await _operator(shop, "o_op_2", r2),
        await _operator(shop, "o_hq", None),
    )
    api, now = shop.api, datetime.now(UTC)
    definition = _flash(sku, "东区秒杀")
    mine = await regional.create_campaign(api, east, definition, request_key="k1")
    assert mine.region_codes == (r1,)
    again = await regional.create_campaign(api, east, definition, request_key="k1")
    assert again.campaign.id == mine.campaign.id  # a retried submit creates one campaign
    with pytest.raises(RegionalRefused) as reused:  # the key of another campaign
        await regional.create_campaign(api, east, _flash(sku, "另一个"), request_key="k1")
    assert reused.value.reason == "invalid"
    # a region's operator cannot target another region, even by asking
    with pytest.raises(RegionalRefused) as refused:
        await regional.create_campaign(api, east, _flash(sku, "越界"), request_key="k2", region_code=r2)
    assert refused.value.reason == "other_region"
    theirs = await regional.create_campaign(api, west, _flash(sku, "西区秒杀"), request_key="k3")
    national = await regional.create_campaign(api, hq, _flash(sku, "全国秒杀"), request_key="k4")
    assert national.region_codes == ()

    def ids(found):
        return {c.campaign.id for c in found}

    seen_east = ids(await regional.list_campaigns(api, east, now))
    seen_hq = ids(await regional.list_campaigns(api, hq, now))
    assert mine.campaign.id in seen_east and theirs.campaign.id not in seen_east
    assert national.campaign.id not in seen_east  # nationwide campaigns are HQ's
    assert {mine.campaign.id, theirs.campaign.id, national.campaign.id} <= seen_hq
    # the west operator cannot stop (nor even find) the east's campaign; nothing changes
    with pytest.raises(RegionalRefused) as refused:
        await regional.stop_campaign(api, west, mine.campaign.id, now)
    assert refused.value.reason == "not_found"
    assert (await api.promotions.get(mine.campaign.id)).status == "active"
    # the east operator stops his own; HQ stops the west's
    assert (await regional.stop_campaign(api, east, mine.campaign.id, now)).campaign.status == "ended"
    assert (await regional.stop_campaign(api, hq, theirs.campaign.id, now)).campaign.status == "ended"
    # a stopped flash sale sells nothing more
    (buyer,) = await shop.buyers(1, [stores[0]])
    status, body = await shop.mp(
        "POST",
        f"/mp/api/promotions/{mine.campaign.id}/buy",
        buyer.token,
        {"bottles": 1, "request_key": "after-stop"},
    )
    assert status == 409 and body["reason"] == "ended"
    # not an operator at all
    async with session_scope(shop.services.sessions) as session:
        with pytest.raises(RegionalRefused):
            await regional.operator_of(session, buyer.member_id)


async def test_storefront_per_region_and_the_home_follows_the_store(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db)
    sku, stores = await _setup(shop, stores=20)
    regions = {r.id: r.code for r in await shop.api.org.regions()}
    home_store = stores[0]
    other_store = next(s for s in stores if s.region_id != home_store.region_id)
    r1, r2 = regions[home_store.region_id], regions[other_store.region_id]
    east, west, hq = (
        await _operator(shop, "o_op_1", r1),
        await _operator(shop, "o_op_2", r2),
        await _operator(shop, "o_hq", None),
    )
    layout = {
        "banners": [{"image": "https://cdn.example/east.jpg", "link": "pages/promotions/list"}],
        "featured": [sku],
        "campaign_blocks": [{"title": "限时秒杀", "kinds": ["flash_sale"]}],
        "shortcuts": [{"label": "再来一单", "path": "pages/order/reorder"}],
    }
    sessions = shop.services.sessions
    async with session_scope(sessions) as session:
        first = await storefront.publish(session, east, r1, layout)
    async with session_scope(sessions) as session:
        second = await storefront.publish(session, east, r1, {**layout, "featured": []})
    assert (first.version, second.version) == (1, 2)
    for actor, region in ((west, r1), (east, r2), (east, storefront.DEFAULT)):
        async with session_scope(sessions) as session:
            with pytest.raises(RegionalRefused) as refused:
                await storefront.publish(session, actor, region, layout)
        assert refused.value.reason == "other_region"
    async with session_scope(sessions) as session:
        with pytest.raises(RegionalRefused):
            await storefront.history(session, west, r1)
        with pytest.raises(RegionalRefused) as invalid:
            await storefront.publish(session, east, r1, {"banners": "nope"})
        assert invalid.value.reason == "invalid"
    async with session_scope(sessions) as session:
        await storefront.publish(
            session, hq, storefront.DEFAULT, {"shortcuts": [{"label": "订货", "path": "p/o"}]}
        )
        assert [p.version for p in await storefront.history(session, east, r1)] == [2, 1]

    # concurrent publishers get distinct versions
    async def one(n: int) -> int:
        async with session_scope(sessions) as session:
            return (await storefront.publish(session, hq, r2, {"featured": [f"X{n}"]})).version

    assert sorted(await asyncio.gather(*(one(n) for n in range(4)))) == [1, 2, 3, 4]

    campaign = await regional.create_campaign(shop.api, east, _flash(sku, "东区首页秒杀"), request_key="h1")
    here, there = await shop.buyers(2, [home_store, other_store])
    status, body = await shop.mp("GET", "/mp/api/home", here.token)
    assert status == 200 and body["region"] == r1 and body["layout_region"] == r1 and body["version"] == 2
    assert body["featured"] == [] and body["banners"][0]["image"].endswith("east.jpg")
    (block,) = body["campaign_blocks"]
    assert campaign.campaign.id in [i["id"] for i in block["items"]]
    status, body = await shop.mp("GET", "/mp/api/home", there.token)
    assert status == 200 and body["region"] == r2 and body["layout_region"] == r2 and body["version"] == 4
    assert body["campaign_blocks"] == []
