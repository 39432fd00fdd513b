"""The console's 区域活动 and 首页装修 pages under its policy (matrix rows ``campaigns`` and
``content``), over HTTP with the reference core: a region sees and changes only its own region's
campaigns and storefront (another region's is a 404, nothing changes), HQ sees and stops all;
the home served to a store follows its region."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import orjson

from bot.app import create_app
from bot.console import org
from bot.console.feature import console_routes
from bot.db import session_scope
from bot.handlers import notifications
from bot.ports import RecordingPushNotifier
from bot.wiring import Feature
from bot.wiring.features import CORE, ORDERING, REGIONAL
from tests.campaigns.conftest import Shop, bot_settings, start_core
from tests.campaigns.test_campaigns import _orders_for, _setup
from tests.console.clock import FakeClock
from tests.console.console_app import ConsoleApp

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
KEY = re.compile(r'name="request_key" value="([^"]+)"')


async def _world(make_settings, aiohttp_client, core_db):  # type: ignore[no-untyped-def]
    core = await start_core(core_db, tick=0.2)
    clock = FakeClock.real_now()
    app = create_app(
        bot_settings(make_settings, core.url),
        notifier=RecordingPushNotifier(),
        routers=[notifications.router],
        features=[CORE, REGIONAL, ORDERING, Feature("console", routes=console_routes(clock=clock))],
        background=False,
    )
    client = await aiohttp_client(app)
    shop = Shop(client, app, core, RecordingPushNotifier())
    console = ConsoleApp(client, app, clock)
    regions = list(await shop.api.org.regions())
    async with session_scope(shop.services.sessions) as session:
        specs = [org.NodeSpec("region", r.id, r.code, r.name, f"/r{r.id}/", None) for r in regions]
        await org.apply_tree(session, console.tenant_id, specs, now=clock())
    return shop, console, core, regions


async def _as(console: ConsoleApp, username: str) -> str:
    await console.client.get("/console/logout")
    assert (await console.login(username)).status == 303
    return CSRF.search(await (await console.client.get("/console/campaigns")).text()).group(1)


def _form(sku: str, region: str, key: str, csrf: str, name: str) -> dict:
    now = datetime.now()  # the form's local time is Asia/Shanghai; the window is wide enough
    return {
        "_csrf": csrf, "request_key": key, "kind": "flash_sale", "region": region, "name": name, "sku": sku,
        "starts_at": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        "price": "12.50", "stock": "30", "per_store_limit": "3",
    }  # fmt: skip


async def test_console_campaign_and_storefront_matrix(make_settings, aiohttp_client, core_db) -> None:
    shop, console, core, regions = await _world(make_settings, aiohttp_client, core_db)
    try:
        sku, stores = await _setup(shop, stores=20)
        store1 = stores[0]
        store2 = next(s for s in stores if s.region_id != store1.region_id)
        r1 = next(r for r in regions if r.id == store1.region_id)
        r2 = next(r for r in regions if r.id == store2.region_id)
        await console.operator("hq")
        await console.operator("east", "region_manager", "region", r1.id)
        await console.operator("west", "region_operator", "region", r2.id)

        # the region manager creates a campaign for his region; a double submit makes one
        csrf = await _as(console, "east")
        page = await (await console.client.get("/console/campaigns")).text()
        key = KEY.search(page).group(1)
        form = _form(sku, r1.code, key, csrf, "东区秒杀")
        first = await console.client.post("/console/campaigns", data=form, allow_redirects=False)
        again = await console.client.post("/console/campaigns", data=form, allow_redirects=False)
        assert (first.status, again.status) == (303, 303)
        mine = [p for p in (await shop.api.promotions.list(limit=100)).items if p.name == "东区秒杀"]
        assert len(mine) == 1 and mine[0].audience.region_ids == (r1.id,)
        campaign = mine[0].id
        # ... but not for another region, nor nationwide: 403 and nothing created
        for region in (r2.code, ""):
            refused = await console.client.post(
                "/console/campaigns",
                data=_form(sku, region, "k" * 12, csrf, "越界活动"),
                allow_redirects=False,
            )
            assert refused.status == 403
        assert not [p for p in (await shop.api.promotions.list(limit=100)).items if p.name == "越界活动"]
        # bad input: 400 with the reason, nothing created
        bad = await console.client.post(
            "/console/campaigns", data={**_form(sku, r1.code, "b" * 12, csrf, "坏的"), "price": "abc"}
        )
        assert bad.status == 400 and "秒杀价" in await bad.text()

        # the other region's operator neither sees nor stops it
        csrf = await _as(console, "west")
        listing = await (await console.client.get("/console/campaigns")).text()
        assert f'data-campaign="{campaign}"' not in listing
        stop = await console.client.post(f"/console/campaigns/{campaign}/stop", data={"_csrf": csrf})
        assert stop.status == 404
        assert (await shop.api.promotions.get(campaign)).status == "active"
        # a region operator (no manage on campaigns) cannot create even in his own region
        created = await console.client.post(
            "/console/campaigns", data=_form(sku, r2.code, "w" * 12, csrf, "西区"), allow_redirects=False
        )
        assert created.status == 403

        # HQ sees every campaign and stops this one
        csrf = await _as(console, "hq")
        assert f'data-campaign="{campaign}"' in await (await console.client.get("/console/campaigns")).text()
        stopped = await console.client.post(
            f"/console/campaigns/{campaign}/stop", data={"_csrf": csrf}, allow_redirects=False
        )
        assert stopped.status == 303 and (await shop.api.promotions.get(campaign)).status == "ended"

        # storefronts: each region publishes its own; another region's is a 404
        layout = orjson.dumps(
            {"banners": [{"image": "https://cdn.example/r1.jpg", "link": ""}], "featured": [sku]}
        ).decode()
        csrf = await _as(console, "east")
        ok = await console.client.post(
            f"/console/storefronts/{r1.code}", data={"_csrf": csrf, "layout": layout}, allow_redirects=False
        )
        assert ok.status == 303
        bad = await console.client.post(
            f"/console/storefronts/{r1.code}", data={"_csrf": csrf, "layout": "{"}
        )
        assert bad.status == 400
        assert (
            await console.client.post(f"/console/storefronts/{r2.code}", data={"_csrf": csrf, "layout": "{}"})
        ).status == 404
        assert (
            await console.client.post("/console/storefronts/*", data={"_csrf": csrf, "layout": "{}"})
        ).status == 403
        preview = await (await console.client.get(f"/console/storefronts?region={r1.code}")).text()
        assert "r1.jpg" in preview and "v1" in preview
        csrf = await _as(console, "west")
        assert (await console.client.get(f"/console/storefronts?region={r1.code}")).status == 404
        assert (
            await console.client.post(
                f"/console/storefronts/{r1.code}", data={"_csrf": csrf, "layout": layout}
            )
        ).status == 404
        mine2 = await console.client.post(
            f"/console/storefronts/{r2.code}",
            data={"_csrf": csrf, "layout": '{"featured": []}'},
            allow_redirects=False,
        )
        assert mine2.status == 303

        # the home follows the store's region
        east_buyer, west_buyer = await shop.buyers(2, [store1, store2])
        status, body = await shop.mp("GET", "/mp/api/home", east_buyer.token)
        assert (
            status == 200
            and body["layout_region"] == r1.code
            and body["banners"][0]["image"].endswith("r1.jpg")
        )
        status, body = await shop.mp("GET", "/mp/api/home", west_buyer.token)
        assert status == 200 and body["layout_region"] == r2.code and body["banners"] == []
    finally:
        await shop.close()
        await core.runner.cleanup()


async def test_pause_and_resume_by_the_regional_operator_and_hq(
    make_settings, aiohttp_client, core_db
) -> None:
    shop, console, core, regions = await _world(make_settings, aiohttp_client, core_db)
    try:
        sku, stores = await _setup(shop, stores=20)
        store1 = stores[0]
        store2 = next(s for s in stores if s.region_id != store1.region_id)
        r1 = next(r for r in regions if r.id == store1.region_id)
        r2 = next(r for r in regions if r.id == store2.region_id)
        (buyer,) = await shop.buyers(1, [store1])
        await console.operator("hq")
        await console.operator("east", "region_manager", "region", r1.id)
        await console.operator("west", "region_manager", "region", r2.id)
        csrf = await _as(console, "east")
        key = KEY.search(await (await console.client.get("/console/campaigns")).text()).group(1)
        created = await console.client.post(
            "/console/campaigns", data=_form(sku, r1.code, key, csrf, "东区暂停"), allow_redirects=False
        )
        assert created.status == 303
        (campaign,) = [
            p.id for p in (await shop.api.promotions.list(limit=100)).items if p.name == "东区暂停"
        ]

        # the region's operator pauses it: stores neither see nor buy it
        paused = await console.client.post(
            f"/console/campaigns/{campaign}/pause", data={"_csrf": csrf}, allow_redirects=False
        )
        assert paused.status == 303 and "campaign_paused" in paused.headers["Location"]
        assert (await shop.api.promotions.get(campaign)).status == "paused"
        page = await (await console.client.get("/console/campaigns")).text()
        assert "已暂停" in page and f"/campaigns/{campaign}/resume" in page
        listed = await shop.say(buyer.openid, "活动", msg_id="4000001")
        assert listed is None or "东区暂停" not in listed
        refused = await shop.say(buyer.openid, f"抢{campaign} 1瓶", msg_id="4000002")
        assert refused and "暂停" in refused, refused
        assert await _orders_for(shop, campaign, [store1.id]) == []

        # another region's manager: 404 for pause and resume, nothing changes
        csrf = await _as(console, "west")
        for verb in ("pause", "resume"):
            other = await console.client.post(f"/console/campaigns/{campaign}/{verb}", data={"_csrf": csrf})
            assert other.status == 404
        assert (await shop.api.promotions.get(campaign)).status == "paused"

        # HQ resumes it: the store buys at the campaign price again
        csrf = await _as(console, "hq")
        resumed = await console.client.post(
            f"/console/campaigns/{campaign}/resume", data={"_csrf": csrf}, allow_redirects=False
        )
        assert resumed.status == 303 and (await shop.api.promotions.get(campaign)).status == "active"
        bought = await shop.say(buyer.openid, f"抢{campaign} 1瓶", msg_id="4000003")
        assert bought and "抢购成功" in bought, bought
        # HQ stops it; a stopped campaign cannot be resumed (409, stays ended)
        await console.client.post(f"/console/campaigns/{campaign}/stop", data={"_csrf": csrf})
        again = await console.client.post(f"/console/campaigns/{campaign}/resume", data={"_csrf": csrf})
        assert again.status == 409 and (await shop.api.promotions.get(campaign)).status == "ended"
    finally:
        await shop.close()
        await core.runner.cleanup()
