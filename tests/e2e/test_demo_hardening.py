"""The demo on its public port: the simulator's control API does not show the account's Token
and EncodingAESKey, and jiubot refuses pushes addressed to another account (original id set)."""

from __future__ import annotations

import aiohttp

from bot.commands.demo import DEMO_AES_KEY, DEMO_OA, DEMO_ORIGINAL_ID, DEMO_TOKEN
from tests.e2e.test_demo import Demo
from tests.wechat_client import WeChatPoster, text_xml


async def test_the_demo_hides_the_accounts_secrets_and_refuses_other_accounts(tmp_path, redis_prefix):
    demo = Demo(tmp_path, redis_prefix)
    try:
        base = demo.console_url.rsplit("/wxsim/", 1)[0]
        async with aiohttp.ClientSession(base_url=base) as http:
            async with http.get("/wxsim/_sim/api/state") as resp:
                text = await resp.text()
                state = await resp.json()
            assert DEMO_TOKEN not in text and DEMO_AES_KEY not in text
            oa = next(a for a in state["apps"] if a["appid"] == DEMO_OA)
            assert (oa["token"], oa["aes_key"], oa["original_id"]) == ("***", "***", DEMO_ORIGINAL_ID)

            poster = WeChatPoster(http, DEMO_OA, DEMO_TOKEN, aes_key=DEMO_AES_KEY, mode="safe")
            wrong = await poster.post(text_xml("o-stranger", "积分", to="gh_someoneelse0"))
            assert (wrong.status, wrong.body) == (400, b'{"error": "wrong_account"}')
            right = await poster.post(text_xml("o-stranger", "帮助", to=DEMO_ORIGINAL_ID))
            assert right.status == 200
    finally:
        assert demo.stop() == 0
