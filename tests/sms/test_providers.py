"""The Aliyun and Tencent adapters over real HTTP against local fakes that check signatures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.sms.aliyun import AliyunSms
from bot.sms.errors import SmsError, SmsFailure
from bot.sms.tencent import TencentSms
from tests.sms.fakes import FakeAliyun, FakeTencent, app_of


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


async def _serve(handler) -> TestServer:
    server = TestServer(app_of(handler))
    await server.start_server()
    return server


def _aliyun(http, server, fake, **kw) -> AliyunSms:
    values = dict(
        access_key_id=fake.key_id,
        access_key_secret=fake.secret,
        sign_name="示例酒业",
        templates={"bind": "SMS_100001"},
        endpoint=str(server.make_url("/")),
    )
    values.update(kw)
    return AliyunSms(http, **values)


def _tencent(http, server, fake, **kw) -> TencentSms:
    values = dict(
        secret_id=fake.secret_id,
        secret_key=fake.secret_key,
        app_id="1400006666",
        sign_name="示例酒业",
        templates={"bind": "449739"},
        endpoint=str(server.make_url("/")),
    )
    values.update(kw)
    return TencentSms(http, **values)


async def test_aliyun_sends_a_signed_template_message(http) -> None:
    fake = FakeAliyun()
    server = await _serve(fake.handle)
    try:
        sms = _aliyun(http, server, fake)
        await sms.send("+8613800000001", "验证码 123456", purpose="bind", params={"code": "123456"})
        await sms.send("13800000002", "验证码 654321", purpose="bind", params={"code": "654321"})
    finally:
        await server.close()
    assert fake.rejected == 0
    first, second = fake.received
    assert first["PhoneNumbers"] == "13800000001"  # mainland numbers without +86
    assert first["TemplateCode"] == "SMS_100001" and first["SignName"] == "示例酒业"
    assert first["TemplateParam"] == '{"code":"123456"}'
    assert first["Action"] == "SendSms" and first["Version"] == "2017-05-25"
    assert first["SignatureNonce"] != second["SignatureNonce"]  # a fresh nonce per request


async def test_aliyun_wrong_secret_is_refused_by_the_fake_and_mapped(http) -> None:
    fake = FakeAliyun()
    server = await _serve(fake.handle)
    try:
        sms = _aliyun(http, server, fake, access_key_secret="not-the-secret")
        with pytest.raises(SmsError) as caught:
            await sms.send("13800000001", "x", purpose="bind", params={"code": "1"})
    finally:
        await server.close()
    assert fake.rejected == 1 and fake.received == []
    assert caught.value.failure == SmsFailure.MISCONFIGURED
    assert caught.value.provider_code == "SignatureDoesNotMatch"


@pytest.mark.parametrize(
    ("code", "failure"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", SmsFailure.TOO_MANY_FOR_PHONE),
        ("isv.MOBILE_NUMBER_ILLEGAL", SmsFailure.BAD_PHONE),
        ("isv.AMOUNT_NOT_ENOUGH", SmsFailure.NO_BALANCE),
        ("isv.SMS_TEMPLATE_ILLEGAL", SmsFailure.MISCONFIGURED),
        ("isv.BLACK_KEY_CONTROL_LIMIT", SmsFailure.BLOCKED),
        ("isp.SYSTEM_ERROR", SmsFailure.UNAVAILABLE),
    ],
)
async def test_aliyun_error_codes_are_mapped(http, code, failure) -> None:
    fake = FakeAliyun(answers=[{"Code": code, "Message": "m", "RequestId": "r"}])
    server = await _serve(fake.handle)
    try:
        with pytest.raises(SmsError) as caught:
            await _aliyun(http, server, fake).send("13800000001", "x", purpose="bind", params={"code": "1"})
    finally:
        await server.close()
    assert (caught.value.failure, caught.value.provider_code) == (failure, code)
    assert caught.value.retryable == (failure == SmsFailure.UNAVAILABLE)


async def test_aliyun_unknown_purpose_sends_nothing(http) -> None:
    fake = FakeAliyun()
    server = await _serve(fake.handle)
    try:
        with pytest.raises(SmsError) as caught:
            await _aliyun(http, server, fake).send("13800000001", "x", purpose="marketing")
    finally:
        await server.close()
    assert caught.value.failure == SmsFailure.MISCONFIGURED and fake.received == []


async def test_a_provider_that_does_not_answer_is_unavailable(http) -> None:
    fake = FakeAliyun()
    server = await _serve(fake.handle)
    url = str(server.make_url("/"))
    await server.close()  # nothing listens there any more
    sms = AliyunSms(
        http, access_key_id="a", access_key_secret="b", sign_name="s", templates={"bind": "t"}, endpoint=url
    )
    with pytest.raises(SmsError) as caught:
        await sms.send("13800000001", "x", purpose="bind", params={"code": "1"})
    assert caught.value.failure == SmsFailure.UNAVAILABLE and caught.value.retryable


async def test_tencent_sends_a_signed_template_message(http) -> None:
    fake = FakeTencent()
    server = await _serve(fake.handle)
    try:
        sms = _tencent(http, server, fake)
        await sms.send("13800000001", "验证码 123456", purpose="bind", params={"code": "123456"})
    finally:
        await server.close()
    assert fake.rejected == 0
    (doc,) = fake.received
    assert doc == {
        "PhoneNumberSet": ["+8613800000001"],
        "SmsSdkAppId": "1400006666",
        "SignName": "示例酒业",
        "TemplateId": "449739",
        "TemplateParamSet": ["123456"],
    }


async def test_tencent_wrong_key_is_refused_by_the_fake_and_mapped(http) -> None:
    fake = FakeTencent()
    server = await _serve(fake.handle)
    try:
        sms = _tencent(http, server, fake, secret_key="wrong")
        with pytest.raises(SmsError) as caught:
            await sms.send("13800000001", "x", purpose="bind", params={"code": "1"})
    finally:
        await server.close()
    assert fake.received == [] and fake.rejected == 1
    assert (caught.value.failure, caught.value.provider_code) == (
        SmsFailure.MISCONFIGURED,
        "AuthFailure.SignatureFailure",
    )


@pytest.mark.parametrize(
    ("code", "failure"),
    [
        ("LimitExceeded.PhoneNumberThirtySecondLimit", SmsFailure.TOO_MANY_FOR_PHONE),
        ("LimitExceeded.PhoneNumberDailyLimit", SmsFailure.TOO_MANY_FOR_PHONE),
        ("InvalidParameterValue.IncorrectPhoneNumber", SmsFailure.BAD_PHONE),
        ("FailedOperation.InsufficientBalanceInSmsPackage", SmsFailure.NO_BALANCE),
        ("FailedOperation.TemplateIncorrectOrUnapproved", SmsFailure.MISCONFIGURED),
        ("FailedOperation.PhoneNumberInBlacklist", SmsFailure.BLOCKED),
    ],
)
async def test_tencent_per_number_codes_are_mapped(http, code, failure) -> None:
    status = {
        "SerialNo": "",
        "PhoneNumber": "+8613800000001",
        "Fee": 0,
        "Code": code,
        "Message": "m",
        "IsoCode": "CN",
    }
    fake = FakeTencent(answers=[{"Response": {"SendStatusSet": [status], "RequestId": "r"}}])
    server = await _serve(fake.handle)
    try:
        with pytest.raises(SmsError) as caught:
            await _tencent(http, server, fake).send("13800000001", "x", purpose="bind", params={"code": "1"})
    finally:
        await server.close()
    assert (caught.value.failure, caught.value.provider_code) == (failure, code)


async def test_tencent_request_level_errors_are_mapped(http) -> None:
    fake = FakeTencent(
        answers=[{"Response": {"Error": {"Code": "InternalError.Timeout", "Message": "m"}, "RequestId": "r"}}]
    )
    server = await _serve(fake.handle)
    try:
        with pytest.raises(SmsError) as caught:
            await _tencent(http, server, fake).send("13800000001", "x", purpose="bind", params={"code": "1"})
    finally:
        await server.close()
    assert caught.value.failure == SmsFailure.UNAVAILABLE and caught.value.retryable
