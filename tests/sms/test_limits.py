"""Verification codes per phone and per IP, on real Redis, with concurrent senders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import pytest
import redis.asyncio as aioredis

from bot.redis import Keys
from bot.sms.errors import SmsError, SmsFailure
from bot.sms.limits import LimitedSms, SmsLimiter, SmsLimits
from tests.conftest import REDIS_URL


class Recorder:
    def __init__(self, fail: SmsError | None = None) -> None:
        self.sent: list[tuple[str, str | None]] = []
        self.fail = fail

    async def send(
        self,
        phone: str,
        text: str,
        *,
        purpose: str,
        params: Mapping[str, str] | None = None,
        client_ip: str | None = None,
    ) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append((phone, client_ip))


@pytest.fixture
async def redis(redis_prefix: str) -> AsyncIterator[tuple[aioredis.Redis, Keys]]:
    client = aioredis.Redis.from_url(REDIS_URL)
    yield client, Keys(redis_prefix)
    await client.aclose()


async def test_per_phone_hour_limit_under_a_concurrent_burst(redis) -> None:
    client, keys = redis
    inner = Recorder()
    sms = LimitedSms(
        inner, SmsLimiter(client, keys, SmsLimits(per_phone_hour=3, per_phone_day=10, per_ip_hour=100))
    )

    async def one() -> str:
        try:
            await sms.send("13800000001", "t", purpose="bind", params={"code": "1"})
        except SmsError as exc:
            return exc.failure.value
        return "sent"

    results = await asyncio.gather(*(one() for _ in range(20)))
    assert results.count("sent") == 3 and len(inner.sent) == 3
    assert set(results) == {"sent", SmsFailure.TOO_MANY_FOR_PHONE.value}
    # another number is not affected
    await sms.send("13800000002", "t", purpose="bind")
    assert inner.sent[-1] == ("13800000002", None)


async def test_refusal_carries_the_wait(redis) -> None:
    client, keys = redis
    sms = LimitedSms(Recorder(), SmsLimiter(client, keys, SmsLimits(per_phone_hour=1)))
    await sms.send("13800000001", "t", purpose="bind")
    with pytest.raises(SmsError) as caught:
        await sms.send("13800000001", "t", purpose="bind")
    assert caught.value.failure == SmsFailure.TOO_MANY_FOR_PHONE
    assert 3500 < caught.value.retry_after <= 3600


async def test_per_ip_limit_and_refusals_count_nowhere(redis) -> None:
    client, keys = redis
    inner = Recorder()
    limiter = SmsLimiter(client, keys, SmsLimits(per_phone_hour=2, per_phone_day=10, per_ip_hour=3))
    sms = LimitedSms(inner, limiter)
    for n in range(3):
        await sms.send(f"1390000000{n}", "t", purpose="bind", client_ip="203.0.113.7")
    with pytest.raises(SmsError) as caught:
        await sms.send("13900000009", "t", purpose="bind", client_ip="203.0.113.7")
    assert caught.value.failure == SmsFailure.TOO_MANY_FOR_IP
    # the refused send did not use 13900000009's phone windows: it still has both its slots
    await sms.send("13900000009", "t", purpose="bind", client_ip="198.51.100.1")
    await sms.send("13900000009", "t", purpose="bind", client_ip="198.51.100.2")
    with pytest.raises(SmsError):
        await sms.send("13900000009", "t", purpose="bind", client_ip="198.51.100.3")
    # chat has no client address: only the phone windows apply
    await sms.send("13900000005", "t", purpose="bind")
    assert len(inner.sent) == 6


async def test_a_send_the_provider_refused_gives_its_slot_back(redis) -> None:
    client, keys = redis
    limiter = SmsLimiter(client, keys, SmsLimits(per_phone_hour=1))
    broken = LimitedSms(Recorder(fail=SmsError(SmsFailure.UNAVAILABLE, "isp.SYSTEM_ERROR")), limiter)
    for _ in range(3):
        with pytest.raises(SmsError) as caught:
            await broken.send("13800000001", "t", purpose="bind")
        assert caught.value.failure == SmsFailure.UNAVAILABLE
    working = Recorder()
    await LimitedSms(working, limiter).send("13800000001", "t", purpose="bind")
    assert working.sent == [("13800000001", None)]
    # but a number the provider itself rate-limited keeps its slot used
    limited = LimitedSms(
        Recorder(fail=SmsError(SmsFailure.TOO_MANY_FOR_PHONE, "x")),
        SmsLimiter(client, keys, SmsLimits(per_phone_hour=1)),
    )
    with pytest.raises(SmsError):
        await limited.send("13800000003", "t", purpose="bind")
    with pytest.raises(SmsError) as again:
        await LimitedSms(Recorder(), SmsLimiter(client, keys, SmsLimits(per_phone_hour=1))).send(
            "13800000003", "t", purpose="bind"
        )
    assert again.value.provider_code == ""  # refused by our own window this time


async def test_the_outbox_stays_readable_behind_the_limits(redis) -> None:
    from bot.ordering.sms import RedisSmsOutbox

    client, keys = redis
    outbox = RedisSmsOutbox(client, keys)
    sms = LimitedSms(outbox, SmsLimiter(client, keys, SmsLimits()))
    await sms.send("13800000001", "验证码 123456", purpose="bind", params={"code": "123456"})
    assert await sms.last_text("13800000001") == "验证码 123456"
    assert [m["purpose"] for m in await sms.messages("13800000001")] == ["bind"]
    assert (
        await LimitedSms(Recorder(), SmsLimiter(client, keys, SmsLimits())).last_text("13800000001") is None
    )
