"""The mini-program content API: the 素材库 with personal links for the caller's role, and a live
reservation recorded once with its inviter (a forged inviter token is ignored)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import create_app
from bot.content import library, live, tokens
from bot.content.models import LiveReservation
from bot.db import session_scope
from bot.membership import actions as members
from bot.wiring.features import CONTENT, MEMBERSHIP
from tests.web.member_app import MemberApp


async def test_items_and_reservation(aiohttp_client, make_settings, tmp_path, monkeypatch):
    monkeypatch.setenv("JIUBOT_CONTENT_DIR", str(tmp_path))
    monkeypatch.setenv("JIUBOT_CONTENT_LIVE_TEMPLATE_ID", "tpl-live-1")
    app = create_app(make_settings(), features=[MEMBERSHIP, CONTENT], background=False)
    m = MemberApp(await aiohttp_client(app), app)
    owner, consumer, inviter = (
        await m.member("mp-owner"),
        await m.member("mp-consumer"),
        await m.member("mp-inv"),
    )
    async with session_scope(m.services.sessions) as session:
        store = await members.ensure_store(session, m.tenant_id, "S-MP-1")
        await members.assign_role(session, owner, "store_owner", store_id=store)
        for title, roles in (("门店陈列指南", ["store_owner"]), ("秋季品鉴会", [])):
            item = await library.create(session, m.tenant_id, kind="article", title=title, roles=roles)
            await library.submit(session, m.tenant_id, item.id)
            await library.approve(session, m.tenant_id, item.id, by="hq")
        show = await live.schedule(
            session, m.tenant_id, title="酱香品鉴直播", starts_at=datetime.now(UTC) + timedelta(days=1)
        )
    seen = await (await m.client.get("/mp/api/content/items", headers=m.bearer(owner))).json()
    assert {i["title"] for i in seen["items"]} == {"门店陈列指南", "秋季品鉴会"}
    assert all("/s/" in i["share_url"] and i["poster_url"].endswith("/poster.png") for i in seen["items"])
    seen = await (await m.client.get("/mp/api/content/items", headers=m.bearer(consumer))).json()
    assert [i["title"] for i in seen["items"]] == ["秋季品鉴会"]
    assert (await m.client.get("/mp/api/content/items")).status == 401

    path = f"/mp/api/content/lives/{show.id}/reservation"
    invite = tokens.sign(m.services.content.secret, str(inviter), "inviter")
    first = await m.client.post(path, json={"inviter": invite}, headers=m.bearer(consumer))
    assert first.status == 200 and await first.json() == {
        "reserved": True, "new": True, "subscribe_template_id": "tpl-live-1"
    }  # fmt: skip
    again = await m.client.post(path, json={"inviter": invite}, headers=m.bearer(consumer))
    assert (await again.json())["new"] is False
    forged = await m.client.post(path, json={"inviter": invite[:-1] + "x"}, headers=m.bearer(owner))
    assert forged.status == 200
    assert (
        await m.client.post("/mp/api/content/lives/999999/reservation", headers=m.bearer(owner))
    ).status == 404
    assert (
        await m.client.post("/mp/api/content/lives/abc/reservation", headers=m.bearer(owner))
    ).status == 404
    bad = await m.client.post(path, json={"inviter": 5}, headers=m.bearer(owner))
    assert bad.status == 400 and (await bad.json())["error"] == "bad_request"
    async with session_scope(m.services.sessions) as session:
        rows = (await session.execute(select(LiveReservation.member_id, LiveReservation.inviter_id))).all()
    assert sorted(rows) == sorted([(consumer, inviter), (owner, None)])
