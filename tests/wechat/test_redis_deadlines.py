"""A Redis that is silent or down never hangs a WeChat callback or a mini-program request.

Redis sits behind a local TCP relay (tests/redis_relay.py) that can stop forwarding while
keeping connections open (silent), or refuse connections (down). WeChat must get its answer
within the budget: a static "busy, send again" reply for a message, a bare ack for an event;
the handler does not run, nothing is marked handled, and once Redis is back the same message
(WeChat's retry, or the user sending it again) is handled normally and once.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

import pytest

from tests.conftest import REDIS_URL
from tests.redis_relay import RedisRelay
from tests.web.member_app import WECHAT_UA, member_app  # noqa: F401 - fixture
from tests.wechat_client import event_xml, text_xml

BUSY = "服务繁忙"


@pytest.fixture
async def relay():
    relay = await RedisRelay(REDIS_URL).start()
    yield relay
    await relay.close()


async def _timed(coro):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    result = await coro
    return result, time.monotonic() - started


async def test_a_silent_redis_gets_wechat_a_busy_reply_within_the_budget(bot_client, probe, relay):
    # The budget (1 s) is shorter than the Redis reply deadline (1.5 s): the budget bounds the claim.
    _, poster = await bot_client(
        "safe", redis_url=relay.url, callback_budget_seconds=1.0, redis_timeout_seconds=1.5
    )
    assert (await poster.post(text_xml("o-silent", "echo warm"))).text == "echo:warm"
    relay.silent = True
    xml = text_xml("o-silent", "echo 两箱")
    replies = await asyncio.gather(*(_timed(poster.post(xml)) for _ in range(3)))  # WeChat's triple
    for reply, elapsed in replies:
        assert reply.status == 200 and BUSY in reply.text, reply
        assert elapsed < 1.0 + 0.45
    event, elapsed = await _timed(poster.post(event_xml("o-silent", "CLICK", key="nothing")))
    assert event.is_ack and elapsed < 1.45
    assert probe.count("echo") == 1  # only the warm-up ran
    await asyncio.sleep(0.7)  # past the reply deadline: the mux has given up the dead connection
    relay.silent = False
    reply, _ = await _timed(poster.post(xml))  # WeChat retries (or the user sends it again)
    assert reply.text == "echo:两箱"
    assert (await poster.post(xml)).text == "echo:两箱"  # and now it is marked handled: once
    assert probe.count("echo") == 2


async def test_redis_down_answers_at_once_and_the_first_request_after_it_returns_works(
    bot_client, probe, relay
):
    _, poster = await bot_client("plain", redis_url=relay.url, redis_connect_timeout_seconds=0.5)
    assert (await poster.post(text_xml("o-down", "echo 1"))).text == "echo:1"
    await relay.refuse()
    reply, elapsed = await _timed(poster.post(text_xml("o-down", "echo 2")))
    assert BUSY in reply.text and elapsed < 1.0
    assert probe.count("echo") == 1
    await relay.accept()
    assert (await poster.post(text_xml("o-down", "echo 3"))).text == "echo:3"
    assert probe.count("echo") == 2


async def test_redis_going_silent_after_the_claim_still_answers_in_time(bot_client, probe, relay):
    _, poster = await bot_client(
        "plain", redis_url=relay.url, callback_budget_seconds=1.0, redis_timeout_seconds=0.5
    )

    async def silence_soon() -> None:
        await asyncio.sleep(0.1)
        relay.silent = True

    xml = text_xml("o-mid", "slow 0.3")
    silencer = asyncio.ensure_future(silence_soon())
    reply, elapsed = await _timed(poster.post(xml))
    await silencer
    assert reply.text == "slept 0.3"  # the handler ran: its reply is the answer
    assert elapsed < 1.0 + 0.45
    assert probe.count("slow") == 1


async def test_mini_program_requests_get_503_with_retry_after_not_a_500_after_5s(member_app, relay):  # noqa: F811
    m = await member_app(redis_url=relay.url, redis_timeout_seconds=0.5)
    batch = await m.batch()
    member = await m.member("mp-silent")
    q = quote(f"https://jb.example.cn/c/{m.code(batch.id, 7)}", safe="")
    relay.silent = True
    resp, elapsed = await _timed(m.client.post("/mp/api/scan", json={"q": q}, headers=m.bearer(member)))
    assert resp.status == 503 and elapsed < 1.5
    assert resp.headers["Retry-After"] == "2"
    body = await resp.json()
    assert body["error"] == "service_busy" and body["reason"].startswith("redis")
    assert "请稍后再试" in body["message"]
    page, elapsed = await _timed(m.client.get("/c/garbage-code", headers={"User-Agent": WECHAT_UA}))
    assert page.status == 503 and elapsed < 1.5 and page.headers["Retry-After"] == "2"
    assert "请稍后再试" in await page.text()  # a page gets the sentence, not JSON
    await asyncio.sleep(0.6)
    relay.silent = False
    ok = await m.client.post("/mp/api/scan", json={"q": q}, headers=m.bearer(member))
    assert ok.status == 200 and (await ok.json())["outcome"] == "credited"
