"""One person across the mini-program and the Official Account: following the OA links the
member the mini-program already knew, through user/info's unionid (both apps in one group)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from bot import keys
from bot.app import create_app, default_routers
from bot.db import session_scope
from bot.membership.models import Member, MemberIdentity
from bot.miniapp.routes import add_auth_routes
from bot.tenancy import repository as tenancy_repo
from bot.wiring.features import WECHAT
from tests.wechat.test_outbound_sim import MP, MP_SECRET, OA, OA_SECRET, start_sim
from wechat_sim.model import App

TOKEN = "simToken12345"


async def test_following_the_oa_merges_into_the_mini_program_member(aiohttp_server, make_settings):
    base, sim = await start_sim(
        aiohttp_server,
        App(OA, OA_SECRET, token=TOKEN, mode="plain", group="brand"),
        App(MP, MP_SECRET, kind="mp", group="brand"),
    )
    settings = make_settings(
        oa_appid=OA,
        oa_secret=OA_SECRET,
        oa_token=TOKEN,
        oa_mode="plain",
        oa_aes_key="",
        wechat_api_base=base,
        wechat_retry_backoff_seconds=0.01,
    )
    app = create_app(settings, routers=default_routers(), features=[WECHAT], background=False)
    add_auth_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        sim.update_app(OA, callback_url=f"http://{host}:{port}/wechat/{OA}")
        services = app[keys.SERVICES]
        async with session_scope(services.sessions) as session:
            tenant = (await tenancy_repo.list_apps(session))[0].tenant_id
            await tenancy_repo.upsert_app(session, tenant, MP, kind="mp", secret=MP_SECRET, token=TOKEN)
        await services.registry.reload()

        person = sim.add_person("李女士")
        import aiohttp

        async with aiohttp.ClientSession() as http:
            resp = await http.post(
                f"http://{host}:{port}/mp/api/login", json={"code": sim.wx_login(person.id, MP), "appid": MP}
            )
            mp_member = (await resp.json())["member_id"]
        result = await sim.follow(person.id, OA)
        assert "欢迎关注" in (result.reply or {}).get("Content", "")
        # a message after the follow is answered as the same member (the cache was corrected)
        await sim.send_text(person.id, OA, "帮助")
        async with session_scope(services.sessions) as session:
            identities = list((await session.execute(select(MemberIdentity))).scalars())
            live = (
                await session.execute(
                    select(func.count()).select_from(Member).where(Member.status == "active")
                )
            ).scalar()
        assert {i.appid for i in identities} == {OA, MP}
        assert {i.member_id for i in identities} == {mp_member}
        assert live == 1
        assert (
            int(await services.redis.get(services.keys("member", OA, sim.openid(person.id, OA)))) == mp_member
        )
    finally:
        await runner.cleanup()
