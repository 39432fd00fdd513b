"""Chat binding with a production SMS provider: the code goes through the (fake) provider's
signed API, the owner types it and is bound; a provider refusal is told plainly and leaves no
pending code; the per-phone limit holds across scans."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.handlers import basic, notifications
from bot.handlers import ordering as ordering_handlers
from bot.ports import RecordingPushNotifier
from bot.wiring.features import CORE, REGIONAL
from tests.ordering_flows.conftest import (  # noqa: F401 - fixtures
    STORE,
    Bot,
    bot_settings,
    core_db,
    core_seed_pg,
    core_seed_sqlite,
    start_core,
)
from tests.sms.fakes import FakeAliyun, FakeTencent, app_of


@pytest.fixture
async def sms_bot(make_settings, core_db, aiohttp_client):  # noqa: F811
    made = []

    async def make(fake, provider: str, **overrides) -> Bot:
        server = TestServer(app_of(fake.handle))
        await server.start_server()
        core = await start_core(core_db)
        made.append((server, core))
        url = str(server.make_url("/")).rstrip("/")
        if provider == "aliyun":
            keys = {
                "aliyun_sms_access_key_id": fake.key_id,
                "aliyun_sms_access_key_secret": fake.secret,
                "aliyun_sms_endpoint": url,
            }
        else:
            keys = {
                "tencent_sms_secret_id": fake.secret_id,
                "tencent_sms_secret_key": fake.secret_key,
                "tencent_sms_app_id": "1400006666",
                "tencent_sms_endpoint": url,
            }
        settings = bot_settings(
            make_settings,
            core.url,
            sms_provider=provider,
            sms_sign_name="示例酒业",
            sms_templates={"bind": "SMS_100001"},
            **keys,
            **overrides,
        )
        notifier = RecordingPushNotifier()
        app = create_app(
            settings,
            notifier=notifier,
            routers=[notifications.router, ordering_handlers.router, basic.router],
            features=[CORE, REGIONAL],
            background=False,
        )
        return Bot(await aiohttp_client(app), app, core, notifier)

    yield make
    for server, core in made:
        await server.close()
        await core.runner.cleanup()


async def _scan(bot: Bot, openid: str) -> str:
    token = await bot.owner_token(STORE["id"])
    first = await bot.event(openid, "subscribe", f"qrscene_bind:{token}")
    late = bot.late(openid)
    return late[-1] if late else (first or "")


async def test_binding_code_through_aliyun(sms_bot) -> None:
    fake = FakeAliyun()
    bot = await sms_bot(fake, "aliyun")
    reply = await _scan(bot, "o_owner_ali")
    assert "验证码已发送" in reply, reply
    assert fake.rejected == 0
    (sent,) = fake.received
    assert sent["PhoneNumbers"] == STORE["phone"] and sent["TemplateCode"] == "SMS_100001"
    code = json.loads(sent["TemplateParam"])["code"]
    done = await bot.say("o_owner_ali", code)
    assert done and "绑定" in done and "错误" not in done, done


async def test_binding_code_through_tencent(sms_bot) -> None:
    fake = FakeTencent()
    bot = await sms_bot(fake, "tencent")
    assert "验证码已发送" in await _scan(bot, "o_owner_tc")
    (doc,) = fake.received
    assert doc["PhoneNumberSet"] == ["+86" + STORE["phone"]]
    done = await bot.say("o_owner_tc", doc["TemplateParamSet"][0])
    assert done and "绑定" in done and "错误" not in done, done


async def test_provider_refusal_is_told_and_leaves_no_code(sms_bot) -> None:
    fake = FakeAliyun(answers=[{"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "bad number"}])
    bot = await sms_bot(fake, "aliyun")
    reply = await _scan(bot, "o_owner_bad")
    assert "无法接收短信" in reply, reply
    assert "验证码已发送" not in reply
    # no code is pending: typing six digits binds nothing
    answer = await bot.say("o_owner_bad", "123456")
    assert answer is None or "绑定成功" not in answer
    subject = f"{bot.poster.appid}:o_owner_bad"
    assert await bot.runtime.codes.pending(subject) is None


async def test_per_phone_limit_across_scans(sms_bot) -> None:
    fake = FakeAliyun()
    bot = await sms_bot(fake, "aliyun", sms_per_phone_hour=2)
    for n in range(2):
        assert "验证码已发送" in await _scan(bot, f"o_owner_{n}")
    third = await _scan(bot, "o_owner_2")
    assert "太频繁" in third, third
    assert len(fake.received) == 2  # the provider never saw the third
