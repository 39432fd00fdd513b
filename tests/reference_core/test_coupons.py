"""Coupons: claims never over-issue or exceed a holder's limit under concurrency; orders redeem them;
cancelling gives them back; consumer coupons are redeemed at a store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from reference_core.models import CouponCampaign, CouponClaim, CouponHolder
from tests.reference_core.helpers import Api, Db, line
from tests.reference_core.promos import create_campaign, iso
from tests.reference_core.world import build_world

FT = "MT-FT-53-500"


async def test_concurrent_claims_never_issue_more_than_the_stock(core_db_url, start_core, http):
    await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    campaign = await create_campaign(api, audience="consumers", total_stock=50, per_holder_limit=1)

    results = await asyncio.gather(
        *(
            api.post(
                f"/v1/coupon-campaigns/{campaign['id']}/claims",
                {"holder_type": "consumer", "holder_id": f"m{n}"},
                f"claim-{n}",
            )
            for n in range(200)
        )
    )

    statuses = [s for s, _ in results]
    assert statuses.count(201) == 50
    assert {b["error"]["details"]["reason"] for s, b in results if s != 201} == {"sold_out"}
    assert await db.count(CouponClaim) == 50
    assert await db.scalar(CouponCampaign.__table__.select().with_only_columns(CouponCampaign.remaining)) == 0
    assert len({b["code"] for s, b in results if s == 201}) == 50


async def test_one_holder_racing_with_many_keys_gets_exactly_its_limit(core_db_url, start_core, http):
    await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    campaign = await create_campaign(api, audience="consumers", total_stock=100, per_holder_limit=2)

    results = await asyncio.gather(
        *(
            api.post(
                f"/v1/coupon-campaigns/{campaign['id']}/claims",
                {"holder_type": "consumer", "holder_id": "m1"},
                f"same-holder-{n}",
            )
            for n in range(40)
        )
    )

    assert [s for s, _ in results].count(201) == 2
    assert {b["error"]["details"]["reason"] for s, b in results if s != 201} == {"limit_reached"}
    assert await db.count(CouponClaim) == 2
    assert await db.scalar(CouponHolder.__table__.select().with_only_columns(CouponHolder.claimed)) == 2
    assert (
        await db.scalar(CouponCampaign.__table__.select().with_only_columns(CouponCampaign.remaining)) == 98
    )


async def test_a_retried_claim_is_the_same_claim(core_db_url, start_core, http):
    await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    campaign = await create_campaign(api, audience="consumers", per_holder_limit=5)
    body = {"holder_type": "consumer", "holder_id": "m1"}
    results = await asyncio.gather(
        *(api.post(f"/v1/coupon-campaigns/{campaign['id']}/claims", body, "tap-once") for _ in range(10))
    )
    assert {s for s, _ in results} == {201}
    assert len({b["id"] for _, b in results}) == 1
    assert await db.count(CouponClaim) == 1


async def test_claim_refusals(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api = Api(http, base)
    now = datetime.now(UTC)
    stores_only = await create_campaign(
        api, audience="stores", audience_filter={"region_ids": [world.regions["SOUTH"]]}
    )
    later = await create_campaign(
        api, claim_starts_at=iso(now + timedelta(days=1)), claim_ends_at=iso(now + timedelta(days=2))
    )

    async def claim(campaign, holder_type, holder_id):
        status, body = await api.post(
            f"/v1/coupon-campaigns/{campaign['id']}/claims",
            {"holder_type": holder_type, "holder_id": holder_id},
            f"r-{campaign['id']}-{holder_id}",
        )
        return status, body["error"]["details"].get("reason") if status != 201 else None

    assert await claim(stores_only, "consumer", "m1") == (422, "wrong_audience")
    assert await claim(stores_only, "store", str(world.stores["S-SH-1"])) == (422, "not_in_audience")
    assert await claim(stores_only, "store", str(world.stores["S-GZ-1"])) == (201, None)
    assert await claim(stores_only, "store", "999999") == (404, None)
    assert await claim(later, "store", str(world.stores["S-SH-1"])) == (422, "not_started")


async def test_a_store_coupon_is_redeemed_by_an_order_and_given_back_on_cancel(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    store = world.stores["S-SH-1"]
    campaign = await create_campaign(api, amount_off_fen=10_000, threshold_fen=300_000)
    _, claim = await api.post(
        f"/v1/coupon-campaigns/{campaign['id']}/claims",
        {"holder_type": "store", "holder_id": str(store)},
        "c",
    )

    _, small = await api.post(
        "/v1/quotes", {"store_id": store, "lines": [line(FT, bottles=1)], "coupon_claim_id": claim["id"]}
    )
    assert small["coupon"]["reason"] == "threshold_not_met" and not small["orderable"]
    _, quote = await api.post("/v1/quotes", {"store_id": store, "lines": [line(FT, bottles=2)]})
    assert [c["claim_id"] for c in quote["available_coupons"]] == [claim["id"]]
    assert quote["available_coupons"][0]["discount_fen"] == 10_000

    status, order = await api.post(
        "/v1/orders", {"store_id": store, "lines": [line(FT, bottles=2)], "coupon_claim_id": claim["id"]}, "o"
    )
    assert status == 201
    assert order["coupon_discount_fen"] == 10_000 and order["total_fen"] == 370_000 - 10_000
    assert order["coupon"] == {
        "claim_id": claim["id"],
        "campaign_id": campaign["id"],
        "name": "测试券",
        "discount_fen": 10_000,
    }
    _, used = await api.get(f"/v1/coupon-claims/{claim['id']}")
    assert (used["status"], used["order_id"]) == ("redeemed", order["id"])
    again = await api.post(
        "/v1/orders",
        {"store_id": store, "lines": [line(FT, bottles=2)], "coupon_claim_id": claim["id"]},
        "o2",
    )
    assert again[0] == 422 and again[1]["error"]["details"]["reason"] == "redeemed"

    await api.post(f"/v1/orders/{order['id']}/cancel", {})
    _, back = await api.get(f"/v1/coupon-claims/{claim['id']}")
    assert (back["status"], back["order_id"]) == ("available", None)
    assert await db.credit_used(store) == 0


async def test_one_coupon_two_concurrent_orders_only_one_uses_it(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api = Api(http, base)
    store = world.stores["S-SH-1"]
    campaign = await create_campaign(api, amount_off_fen=10_000)
    _, claim = await api.post(
        f"/v1/coupon-campaigns/{campaign['id']}/claims",
        {"holder_type": "store", "holder_id": str(store)},
        "c",
    )
    results = await asyncio.gather(
        *(
            api.post(
                "/v1/orders",
                {"store_id": store, "lines": [line(FT, bottles=1)], "coupon_claim_id": claim["id"]},
                f"o-{n}",
            )
            for n in range(10)
        )
    )
    assert [s for s, _ in results].count(201) == 1
    assert {b["error"]["details"]["reason"] for s, b in results if s != 201} == {"redeemed"}


async def test_a_consumer_coupon_is_redeemed_at_a_store_and_listed_for_its_holder(
    core_db_url, start_core, http
):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api = Api(http, base)
    campaign = await create_campaign(
        api,
        audience="consumers",
        kind="percent_off",
        percent_off=10,
        amount_off_fen=0,
        max_discount_fen=5000,
        per_holder_limit=2,
    )
    for n in range(2):
        await api.post(
            f"/v1/coupon-campaigns/{campaign['id']}/claims",
            {"holder_type": "consumer", "holder_id": "member-7"},
            f"k{n}",
        )
    _, mine = await api.get("/v1/coupon-claims?holder_type=consumer&holder_id=member-7&status=available")
    assert len(mine["items"]) == 2 and mine["items"][0]["percent_off"] == 10
    claim_id = mine["items"][0]["id"]

    status, redeemed = await api.post(
        f"/v1/coupon-claims/{claim_id}/redeem", {"store_id": world.stores["S-SH-1"]}, "use"
    )
    replay = await api.post(
        f"/v1/coupon-claims/{claim_id}/redeem", {"store_id": world.stores["S-SH-1"]}, "use"
    )
    twice = await api.post(
        f"/v1/coupon-claims/{claim_id}/redeem", {"store_id": world.stores["S-SH-1"]}, "use-2"
    )

    assert status == 200 and redeemed["status"] == "redeemed"
    assert redeemed["redeemed_store_id"] == world.stores["S-SH-1"]
    assert replay == (200, redeemed)
    assert twice[0] == 422 and twice[1]["error"]["details"]["reason"] == "redeemed"
    _, left = await api.get("/v1/coupon-claims?holder_type=consumer&holder_id=member-7&status=available")
    assert [c["id"] for c in left["items"]] == [mine["items"][1]["id"]]
