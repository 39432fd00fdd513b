"""Tencent Cloud SMS (``SendSms``, API version 2021-01-11) over API 3.0 with TC3-HMAC-SHA256.

A JSON POST to ``sms.tencentcloudapi.com`` with the X-TC-* headers and the ``Authorization``
of ``signing.tc3_authorization``. A request-level failure answers ``Response.Error.Code``; a
request that went through answers a ``SendStatusSet`` with one status per number ("Ok" or a
code mapped below).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import aiohttp
import orjson
import structlog

from bot.observability import mask_phone
from bot.sms.errors import SmsError, SmsFailure
from bot.sms.signing import tc3_authorization

log = structlog.get_logger(__name__)

API_VERSION = "2021-01-11"
SERVICE = "sms"
CONTENT_TYPE = "application/json; charset=utf-8"

CODES: dict[str, SmsFailure] = {
    "LimitExceeded.PhoneNumberDailyLimit": SmsFailure.TOO_MANY_FOR_PHONE,
    "LimitExceeded.PhoneNumberOneHourLimit": SmsFailure.TOO_MANY_FOR_PHONE,
    "LimitExceeded.PhoneNumberThirtySecondLimit": SmsFailure.TOO_MANY_FOR_PHONE,
    "LimitExceeded.PhoneNumberSameContentDailyLimit": SmsFailure.TOO_MANY_FOR_PHONE,
    "LimitExceeded.DeliveryFrequencyLimit": SmsFailure.TOO_MANY_FOR_PHONE,
    "InvalidParameterValue.IncorrectPhoneNumber": SmsFailure.BAD_PHONE,
    "UnsupportedOperation.UnsupportedRegion": SmsFailure.BAD_PHONE,
    "FailedOperation.PhoneNumberInBlacklist": SmsFailure.BLOCKED,
    "FailedOperation.ContainSensitiveWord": SmsFailure.BLOCKED,
    "FailedOperation.InsufficientBalanceInSmsPackage": SmsFailure.NO_BALANCE,
    "FailedOperation.SignatureIncorrectOrUnapproved": SmsFailure.MISCONFIGURED,
    "FailedOperation.TemplateIncorrectOrUnapproved": SmsFailure.MISCONFIGURED,
    "InvalidParameterValue.TemplateParameterFormatError": SmsFailure.MISCONFIGURED,
    "InvalidParameterValue.SdkAppIdNotExist": SmsFailure.MISCONFIGURED,
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail": SmsFailure.MISCONFIGURED,
    "AuthFailure.SignatureFailure": SmsFailure.MISCONFIGURED,
    "AuthFailure.SignatureExpire": SmsFailure.MISCONFIGURED,
    "AuthFailure.SecretIdNotFound": SmsFailure.MISCONFIGURED,
    "RequestLimitExceeded": SmsFailure.UNAVAILABLE,
    "InternalError.Timeout": SmsFailure.UNAVAILABLE,
    "InternalError.RequestTimeException": SmsFailure.MISCONFIGURED,  # the server's clock vs ours
}


def failure_of(code: str) -> SmsFailure:
    if code in CODES:
        return CODES[code]
    if code.startswith("LimitExceeded."):
        return SmsFailure.TOO_MANY_FOR_PHONE
    if code.startswith(("InternalError", "ResourceUnavailable", "RequestLimitExceeded")):
        return SmsFailure.UNAVAILABLE
    return SmsFailure.MISCONFIGURED


def e164(phone: str) -> str:
    """Tencent takes E.164 numbers; a bare 11-digit number is a mainland one."""
    digits = phone.strip().replace(" ", "").replace("-", "")
    if digits.startswith("+"):
        return digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    return "+86" + digits


class TencentSms:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        secret_id: str,
        secret_key: str,
        app_id: str,
        sign_name: str,
        templates: Mapping[str, str],
        region: str = "ap-guangzhou",
        endpoint: str = "https://sms.tencentcloudapi.com",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.session = session
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.app_id = app_id
        self.sign_name = sign_name
        self.templates = dict(templates)
        self.region = region
        self.endpoint = endpoint.rstrip("/") + "/"
        # the signed host is the endpoint's (a local fake in tests, sms.tencentcloudapi.com live)
        self.host = urlsplit(self.endpoint).netloc
        self.clock = clock

    def request(
        self, phone: str, *, template: str, params: Mapping[str, str]
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one SendSms call."""
        body = orjson.dumps(
            {
                "PhoneNumberSet": [e164(phone)],
                "SmsSdkAppId": self.app_id,
                "SignName": self.sign_name,
                "TemplateId": template,
                "TemplateParamSet": [str(v) for v in params.values()],
            }
        )
        timestamp = int(self.clock())
        headers = {
            "Authorization": tc3_authorization(
                body,
                secret_id=self.secret_id,
                secret_key=self.secret_key,
                host=self.host,
                service=SERVICE,
                timestamp=timestamp,
                content_type=CONTENT_TYPE,
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": self.host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": API_VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.region,
        }
        return body, headers

    async def send(
        self,
        phone: str,
        text: str,
        *,
        purpose: str,
        params: Mapping[str, str] | None = None,
        client_ip: str | None = None,
    ) -> None:
        template = self.templates.get(purpose)
        if not template:
            raise SmsError(
                SmsFailure.MISCONFIGURED, "", f"no template for {purpose!r} (JIUBOT_SMS_TEMPLATES)"
            )
        body, headers = self.request(phone, template=template, params=params or {})
        try:
            async with self.session.post(self.endpoint, data=body, headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("sms_failed", provider="tencent", phone=mask_phone(phone), error=type(exc).__name__)
            raise SmsError(SmsFailure.UNAVAILABLE, "", type(exc).__name__) from exc
        code, message = self._outcome(status, raw)
        if code == "Ok":
            log.info("sms_sent", provider="tencent", phone=mask_phone(phone), purpose=purpose)
            return
        failure = failure_of(code) if code else SmsFailure.UNAVAILABLE
        log.warning(
            "sms_failed",
            provider="tencent",
            phone=mask_phone(phone),
            status=status,
            code=code,
            message=message[:200],
            failure=failure.value,
        )
        raise SmsError(failure, code, message[:200])

    @staticmethod
    def _outcome(status: int, raw: bytes) -> tuple[str, str]:
        try:
            response = orjson.loads(raw)["Response"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return ("", f"HTTP {status}")
        error = response.get("Error")
        if error:
            return (str(error.get("Code", "")), str(error.get("Message", "")))
        statuses = response.get("SendStatusSet") or []
        if not statuses:
            return ("", "no SendStatusSet")
        first = statuses[0]
        return (str(first.get("Code", "")), str(first.get("Message", "")))
