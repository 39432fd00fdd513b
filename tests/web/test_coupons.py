"""Coupons through the reference core over real HTTP: claimed once per campaign and member (the
Idempotency-Key), listed in the mini-program and in chat, from a store's QR, as a scan reward."""

from __future__ import annotations

import asyncio
import itertools
import time

import aiohttp
from sqlalchemy import select

from bot.db import session_scope
from bot.membership import coupons as member_coupons
from bot.membership import loyalty_config
from bot.membership.reward_models import CouponClaim
from tests.conftest import OA_AES_KEY, OA_APPID, OA_TOKEN
from tests.reference_core.conftest import start_core  # noqa: F401 - fixture
from tests.reference_core.databases import core_sqlite_template, core_sqlite_url  # noqa: F401 - fixtures
from tests.reference_core.helpers import Api
from tests.reference_core.promos import create_campaign
from tests.reference_core.world import API_KEY, build_world
from tests.web.member_app import WECHAT_UA
from tests.wechat_client import WeChatPoster, text_xml

_clock = itertools.count(int(time.time()))


async def _core(core_sqlite_url, start_core):  # noqa: F811
    await build_world(core_sqlite_url)
    base, _ = await start_core(core_sqlite_url)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        campaign = await create_campaign(
            Api(http, base),
            name="开瓶有礼50元券",
            audience="consumers",
            amount_off_fen=5000,
            total_stock=10,
            per_holder_limit=1,
        )
    return base, str(campaign["id"])


async def test_claims_are_idempotent_and_listed_everywhere(member_app, core_sqlite_url, start_core):  # noqa: F811
    base, campaign = await _core(core_sqlite_url, start_core)
    m = await member_app(core_url=base, core_api_key=API_KEY)
    member = await m.member("oa-coupon")
    headers = m.bearer(member)
    answers = await asyncio.gather(
        *(
            m.client.post("/mp/api/coupons/claim", json={"campaign": campaign}, headers=headers)
            for _ in range(5)
        )
    )
    bodies = [await a.json() for a in answers]
    assert {a.status for a in answers} == {200}
    assert len({b["coupon"]["id"] for b in bodies}) == 1  # five taps, one coupon
    listed = await (await m.client.get("/mp/api/coupons", headers=headers)).json()
    assert [c["name"] for c in listed["coupons"]] == ["开瓶有礼50元券"]
    async with session_scope(m.services.sessions) as session:
        rows = (await session.execute(select(CouponClaim))).scalars().all()
    assert [(r.status, r.idempotency_key) for r in rows] == [
        ("claimed", member_coupons.idempotency_key(m.tenant_id, campaign, member))
    ]
    poster = WeChatPoster(m.client, OA_APPID, OA_TOKEN, aes_key=OA_AES_KEY, mode="safe")
    reply = await poster.post(text_xml("oa-coupon", "我的优惠券"))
    assert "开瓶有礼50元券" in reply.text and "可使用" in reply.text


async def test_store_qr_and_first_scan_reward(member_app, core_sqlite_url, start_core):  # noqa: F811
    base, campaign = await _core(core_sqlite_url, start_core)
    m = await member_app(core_url=base, core_api_key=API_KEY)
    walk_in = await m.member("oa-walk-in")
    path = member_coupons.store_claim_path(m.runtime.referral_secret, m.tenant_id, campaign, "S-77")
    page = await m.client.get(path, headers={"User-Agent": WECHAT_UA}, cookies=m.cookie(walk_in))
    assert "已领取「开瓶有礼50元券」" in await page.text()
    forged = await m.client.get(
        path[:-2] + "00", headers={"User-Agent": WECHAT_UA}, cookies=m.cookie(walk_in)
    )
    assert forged.status == 404
    async with session_scope(m.services.sessions) as session:
        claim = (await session.execute(select(CouponClaim))).scalar_one()
        assert (claim.source, claim.store_code) == ("store_qr", "S-77")
        await loyalty_config.update(session, m.tenant_id, first_scan_coupon_campaign=campaign)
    m.runtime.scanner.forget()
    batch = await m.batch()
    scanner = await m.member("mp-first-scan")
    first = await (
        await m.client.post("/mp/api/scan", json={"q": m.code(batch.id, 1)}, headers=m.bearer(scanner))
    ).json()
    second = await (
        await m.client.post("/mp/api/scan", json={"q": m.code(batch.id, 2)}, headers=m.bearer(scanner))
    ).json()
    assert first["coupon"]["name"] == "开瓶有礼50元券" and second["coupon"] is None


def test_the_chat_scanner_reads_a_store_coupon_qr_only_with_its_signature():
    secret = b"s" * 32
    path = member_coupons.store_claim_path(secret, 3, "12", "S0007")
    assert member_coupons.read_store_claim(secret, f"https://brand.example.com{path}") == (3, "12", "S0007")
    assert member_coupons.read_store_claim(secret, path) == (3, "12", "S0007")
    # another store on the same signature, another key, a bottle code, junk: not a store QR
    assert member_coupons.read_store_claim(secret, path.replace("S0007", "S0008")) is None
    assert member_coupons.read_store_claim(b"t" * 32, path) is None
    assert member_coupons.read_store_claim(secret, "https://brand.example.com/c/04002000040000") is None
    assert member_coupons.read_store_claim(secret, "/k/x/12/S0007/abc") is None
    assert member_coupons.read_store_claim(secret, "") is None


async def test_zero_padded_campaign_ids_claim_once(member_app, core_sqlite_url, start_core):  # noqa: F811
    """The core reads the campaign id as a number: "4", "04" and "004" are one campaign, so they
    are one Idempotency-Key and one coupon, concurrently too; non-numeric ids are refused (400)
    before anything is written or sent."""
    base, campaign = await _core(core_sqlite_url, start_core)
    m = await member_app(core_url=base, core_api_key=API_KEY)
    member = await m.member("oa-padded")
    headers = m.bearer(member)
    spellings = [campaign, "0" + campaign, "00" + campaign, int(campaign)]
    answers = await asyncio.gather(
        *(m.client.post("/mp/api/coupons/claim", json={"campaign": c}, headers=headers) for c in spellings)
    )
    bodies = [await a.json() for a in answers]
    assert [a.status for a in answers] == [200] * len(spellings), bodies
    assert len({b["coupon"]["id"] for b in bodies}) == 1
    for bad in ("4x", " 4", "+4", "٤", "0", "9" * 40, True, 4.0):
        refused = await m.client.post("/mp/api/coupons/claim", json={"campaign": bad}, headers=headers)
        assert refused.status == 400, bad
    async with session_scope(m.services.sessions) as session:
        rows = (await session.execute(select(CouponClaim))).scalars().all()
    assert [(r.campaign, r.idempotency_key) for r in rows] == [
        (campaign, f"coupon:{m.tenant_id}:{campaign}:{member}")
    ]
    listed = await (await m.client.get("/mp/api/coupons", headers=headers)).json()
    assert len(listed["coupons"]) == 1


def test_canonical_campaign():
    assert member_coupons.canonical_campaign("004") == "4" == member_coupons.canonical_campaign(4)
    for bad in ("", "-4", "4.0", "1_000", "４", False):
        try:
            member_coupons.canonical_campaign(bad)  # type: ignore[arg-type]
        except member_coupons.BadCampaign:
            continue
        raise AssertionError(f"{bad!r} accepted")
