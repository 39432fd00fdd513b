"""The outbound client over real HTTP against the WeChat simulator (``wechat_sim``).

Also home of the small helpers the other simulator-backed tests import (``start_sim``,
``make_client``): a simulator on a real port and a ``WeChatClient`` pointed at it.
"""

from __future__ import annotations

import struct

import aiohttp
import pytest

from bot.messages import Article, MenuItem
from bot.redis import Keys
from bot.wechat.errors import (
    BadRequest,
    ConfigError,
    InvalidCode,
    NotFollower,
    QuotaExceeded,
    Retryable,
    TokenInvalid,
    UserRefused,
    WindowClosed,
)
from bot.wechat.outbound import WeChatClient
from bot.wechat.ratelimit import RateLimiter
from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.config import SimConfig
from wechat_sim.model import App

OA = "wxsimoa00000001"
OA_SECRET = "oa-secret-0123456789"
MP = "wxsimmp00000001"
MP_SECRET = "mp-secret-0123456789"


async def start_sim(aiohttp_server, *apps: App, **config):
    """A simulator on a real port; returns (base_url, simulator)."""
    apps = apps or (App(OA, OA_SECRET), App(MP, MP_SECRET, kind="mp", group="brand"))
    server = await aiohttp_server(create_sim_app(SimConfig(apps=list(apps), **config)))
    return str(server.make_url("")).rstrip("/"), server.app[SIM_STATE]


async def make_client(base_url: str, redis_client, redis_prefix: str, session, **kw) -> WeChatClient:
    secrets = {OA: OA_SECRET, MP: MP_SECRET, **kw.pop("secrets", {})}

    async def secret(appid: str) -> str:
        return secrets[appid]

    keys = Keys(redis_prefix)
    kw.setdefault("limiter", RateLimiter(redis_client, keys))
    return WeChatClient(
        session, base_url=base_url, secrets=secret, redis=redis_client, keys=keys, backoff=0.01, **kw
    )


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def sim_env(aiohttp_server, redis_client, redis_prefix, http):
    base, sim = await start_sim(aiohttp_server)
    client = await make_client(base, redis_client, redis_prefix, http)
    return client, sim


async def follower(sim, name: str = "老王") -> tuple[str, str]:
    person = sim.add_person(name, "store_owner")
    await sim.follow(person.id, OA)  # no callback URL configured: nothing is pushed to jiubot
    return person.id, sim.openid(person.id, OA)


# customer service ---------------------------------------------------------------------------------
async def test_text_news_menu_and_mini_program_page_arrive_in_the_window(sim_env):
    client, sim = sim_env
    pid, openid = await follower(sim)
    await sim.send_text(pid, OA, "在吗")  # opens 5 messages in 48 h (plus 3 from the follow)
    await client.message.send_text(OA, openid, "您好，茅台飞天 2 箱已下单 ✓")
    await client.message.send_news(OA, openid, Article("双十一活动", "满 5 箱减 300", "https://e.example/a"))
    await client.message.send_msgmenu(
        OA, openid, head="您要哪一款？", items=(MenuItem("1", "飞天 53度"), MenuItem("2", "王子酒")), tail=""
    )
    await client.message.send_miniprogram_page(OA, openid, title="我的订单", mp_appid=MP, pagepath="pages/o")
    sent = sim.outbound(OA, openid, "kf")
    assert [o.msgtype for o in sent] == ["text", "news", "msgmenu", "miniprogrampage"]
    assert all(o.errcode == 0 for o in sent)
    assert sent[0].payload["content"] == "您好，茅台飞天 2 箱已下单 ✓"  # UTF-8, no \\u escapes (40033)
    assert sent[2].payload["list"][0] == {"id": "1", "content": "飞天 53度"}


async def test_outside_the_window_wechat_answers_45015_as_window_closed(sim_env):
    client, sim = sim_env
    person = sim.add_person("路人")
    openid = sim.openid(person.id, OA)
    with pytest.raises(WindowClosed) as caught:
        await client.message.send_text(OA, openid, "hi")
    assert caught.value.errcode == 45015
    assert caught.value.rid  # parsed from "... rid: ..."
    assert sim.api_calls(OA, "cgi-bin/message/custom/send", 45015) == 1  # not retried


async def test_the_window_quota_runs_out_with_45047(sim_env):
    client, sim = sim_env
    _pid, openid = await follower(sim)
    for _ in range(3):  # the follow's 3 in a minute
        await client.message.send_text(OA, openid, "x")
    with pytest.raises(WindowClosed) as caught:
        await client.message.send_text(OA, openid, "x")
    assert caught.value.errcode == 45047


async def test_typing_needs_a_recent_interaction(sim_env):
    client, sim = sim_env
    _pid, openid = await follower(sim)
    await client.message.typing(OA, openid)
    assert sim.outbound(OA, openid, "typing")[0].payload["command"] == "Typing"


# token -----------------------------------------------------------------------------------------------
async def test_one_stable_token_fetch_serves_many_calls(sim_env):
    client, sim = sim_env
    await follower(sim)
    for _ in range(5):
        await client.user.followers(OA)
    assert sim.token_fetches(OA) == 1
    assert sim.api_calls(OA, "cgi-bin/stable_token") == 1


async def test_a_token_invalidated_by_wechat_is_refreshed_once_and_the_call_succeeds(sim_env):
    client, sim = sim_env
    _pid, openid = await follower(sim)
    await client.user.info(OA, openid)
    assert sim.invalidate_tokens(OA) == 1
    info = await client.user.info(OA, openid)
    assert info.subscribed and info.openid == openid
    assert sim.token_fetches(OA) == 2
    assert sim.api_calls(OA, "cgi-bin/user/info", 40001) == 1
    assert sim.api_calls(OA, "cgi-bin/user/info", 0) == 2


async def test_a_token_that_stays_invalid_is_not_retried_in_a_loop(sim_env):
    client, sim = sim_env
    _pid, openid = await follower(sim)
    await client.user.info(OA, openid)
    sim.inject(OA, fail_next=5, errcode=40001, apis=["cgi-bin/user/info"])
    with pytest.raises(TokenInvalid):
        await client.user.info(OA, openid)
    assert sim.api_calls(OA, "cgi-bin/user/info", 40001) == 2  # the call and its one retry


async def test_system_busy_is_retried_with_backoff(sim_env):
    client, sim = sim_env
    _pid, openid = await follower(sim)
    sim.inject(OA, fail_next=2, errcode=-1, apis=["cgi-bin/user/info"])
    assert (await client.user.info(OA, openid)).subscribed
    assert sim.api_calls(OA, "cgi-bin/user/info", -1) == 2
    sim.inject(OA, fail_next=10, errcode=-1, apis=["cgi-bin/user/info"])
    with pytest.raises(Retryable):
        await client.user.info(OA, openid)
    assert sim.api_calls(OA, "cgi-bin/user/info", -1) == 2 + 5  # the call and 4 retries


async def test_daily_quota_blocks_the_api_for_every_process_until_the_reset(
    sim_env, redis_client, redis_prefix, http
):
    client, sim = sim_env
    _pid, openid = await follower(sim)
    sim.limits.daily_quotas["cgi-bin/user/info"] = 1
    await client.user.info(OA, openid)
    with pytest.raises(QuotaExceeded) as caught:
        await client.user.info(OA, openid)
    assert caught.value.errcode == 45009
    other = await make_client(client.base_url, redis_client, redis_prefix, http)  # "another process"
    for c in (client, other):
        with pytest.raises(QuotaExceeded):
            await c.user.info(OA, openid)
    assert sim.api_calls(OA, "cgi-bin/user/info", 45009) == 1  # nobody hammered WeChat
    assert len(await client.user.batchget(OA, [openid])) == 1  # other APIs still work


async def test_a_minute_quota_on_the_token_fetch_pauses_every_caller_without_hammering(sim_env):
    client, sim = sim_env
    sim.inject("*", fail_next=1, errcode=45011, apis=["cgi-bin/stable_token"])
    with pytest.raises(QuotaExceeded) as caught:
        await client.menu.get(OA)
    assert (caught.value.errcode, caught.value.retry_after) == (45011, 60.0)
    for _ in range(5):
        with pytest.raises(QuotaExceeded) as again:
            await client.menu.get(OA)
        assert again.value.errcode == 45011 and 55 < again.value.retry_after <= 60
    assert sim.api_calls(api="cgi-bin/stable_token") == 1  # (an injected fault has no appid)
    assert sim.api_calls(OA, "cgi-bin/menu/get") == 0


async def test_a_wrong_secret_is_a_configuration_error_and_is_not_hammered(
    aiohttp_server, redis_client, redis_prefix, http
):
    base, sim = await start_sim(aiohttp_server)
    client = await make_client(base, redis_client, redis_prefix, http, secrets={OA: "wrong"})
    for _ in range(3):
        with pytest.raises(ConfigError):
            await client.menu.get(OA)
    assert sim.api_calls(OA, "cgi-bin/stable_token") == 1


# templates and subscriptions ----------------------------------------------------------------------
async def test_template_send_is_idempotent_by_client_msg_id(sim_env):
    client, sim = sim_env
    _pid, openid = await follower(sim)
    tid = sim.add_template(OA, "订单发货通知", "{{thing1.DATA}}")
    first = await client.message.send_template(OA, openid, tid, {"thing1": "已发货"}, client_msg_id="o1")
    again = await client.message.send_template(OA, openid, tid, {"thing1": "已发货"}, client_msg_id="o1")
    assert first == again and first
    assert len(sim.outbound(OA, openid, "template")) == 1
    assert sim.outbound(OA, openid, "template")[0].payload["data"] == {"thing1": {"value": "已发货"}}


async def test_template_to_a_non_follower_is_43004(sim_env):
    client, sim = sim_env
    person = sim.add_person("新人")
    tid = sim.add_template(OA, "通知")
    with pytest.raises(NotFollower):
        await client.message.send_template(OA, sim.openid(person.id, OA), tid, {"thing1": "x"})


async def test_subscription_notification_spends_a_credit(sim_env):
    client, sim = sim_env
    pid, openid = await follower(sim)
    tid = sim.add_template(OA, "直播提醒", kind="subscribe")
    sim.grant_subscription(pid, OA, tid)
    assert await client.message.send_subscription(OA, openid, tid, {"thing1": "今晚 8 点品鉴会"})
    with pytest.raises(UserRefused) as caught:
        await client.message.send_subscription(OA, openid, tid, {"thing1": "again"})
    assert caught.value.errcode == 43101


async def test_mini_program_subscribe_message(sim_env):
    client, sim = sim_env
    person = sim.add_person("小程序用户")
    openid = sim.openid(person.id, MP)
    tid = sim.add_template(MP, "订单状态", kind="subscribe")
    sim.grant_subscription(person.id, MP, tid)
    assert await client.message.send_mp_subscribe(MP, openid, tid, {"thing1": "已发货"}, page="pages/order")


# QR, menu, users, tags ----------------------------------------------------------------------------
async def test_qr_codes_menu_users_and_tags(sim_env):
    client, sim = sim_env
    _pid, openid = await follower(sim)
    qr = await client.qrcode.create(OA, "bind:store:42", expire_seconds=600)
    assert qr.expire_seconds == 600 and qr.url and "ticket=" in qr.image_url
    permanent = await client.qrcode.create(OA, 7, permanent=True)
    assert permanent.expire_seconds is None
    menu = [
        {"type": "click", "name": "订货", "key": "ORDER"},
        {"type": "click", "name": "我的订单", "key": "MY"},
    ]
    await client.menu.create(OA, menu)
    assert [b["name"] for b in (await client.menu.get(OA))["menu"]["button"]] == ["订货", "我的订单"]
    users = await client.user.batchget(OA, [openid])
    assert users[0].openid == openid and users[0].subscribed
    followers, _cursor = await client.user.followers(OA)
    assert openid in followers
    tag = await client.tags.create(OA, "门店老板")
    await client.tags.tag(OA, tag, [openid])
    assert tag in await client.tags.of_user(OA, openid)
    assert any(t["name"] == "门店老板" for t in await client.tags.list(OA))
    await client.tags.untag(OA, tag, [openid])
    assert tag not in await client.tags.of_user(OA, openid)


async def test_bad_menu_is_a_bad_request(sim_env):
    client, _sim = sim_env
    with pytest.raises(BadRequest):
        await client.menu.create(OA, [])


# mini-program -----------------------------------------------------------------------------------
async def test_jscode2session_phone_and_wxacode(sim_env):
    client, sim = sim_env
    person = sim.add_person("小程序用户", phone="13912345678")
    code = sim.wx_login(person.id, MP)
    session = await client.wxa.jscode2session(MP, code)
    assert session.openid == sim.openid(person.id, MP)
    assert session.unionid == sim.unionid(person.id, "brand")
    assert session.session_key
    with pytest.raises(InvalidCode):  # single use
        await client.wxa.jscode2session(MP, code)
    phone = await client.wxa.phone_number(MP, sim.phone_code(person.id, MP))
    assert phone.pure_phone_number == "13912345678" and phone.country_code == "86"
    png = await client.wxa.wxacode_unlimited(MP, "s=42", page="pages/store/index")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 280 and height >= 280
    with pytest.raises(BadRequest):  # failures come back as JSON, not an image
        await client.wxa.wxacode_unlimited(MP, "s=%E4%B8%AD")  # % is not allowed in a scene


async def test_jsapi_ticket_is_cached_and_signs_pages(sim_env):
    client, sim = sim_env
    first = await client.jsapi.signature(
        OA, "https://h5.example/p?a=1#x", noncestr="abc", timestamp=1700000000
    )
    second = await client.jsapi.signature(
        OA, "https://h5.example/p?a=1", noncestr="abc", timestamp=1700000000
    )
    assert first == second and len(first["signature"]) == 40
    assert sim.api_calls(OA, "cgi-bin/ticket/getticket") == 1
