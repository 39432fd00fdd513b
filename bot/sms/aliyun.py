"""Aliyun SMS (dysmsapi, ``SendSms``, API version 2017-05-25) over its RPC-style HTTP API.

A form-encoded POST to the endpoint's ``/`` carrying the common parameters, the message's
parameters and the ``Signature`` (``signing.aliyun_signature`` with method POST). The answer is
JSON whose ``Code`` is "OK" or one of the codes mapped below.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping

import aiohttp
import orjson
import structlog

from bot.observability import mask_phone
from bot.sms.errors import SmsError, SmsFailure
from bot.sms.signing import aliyun_signature

log = structlog.get_logger(__name__)

API_VERSION = "2017-05-25"

CODES: dict[str, SmsFailure] = {
    "isv.BUSINESS_LIMIT_CONTROL": SmsFailure.TOO_MANY_FOR_PHONE,
    "isv.DAY_LIMIT_CONTROL": SmsFailure.TOO_MANY_FOR_PHONE,
    "isv.MOBILE_NUMBER_ILLEGAL": SmsFailure.BAD_PHONE,
    "isv.MOBILE_COUNT_OVER_LIMIT": SmsFailure.BAD_PHONE,
    "isv.BLACK_KEY_CONTROL_LIMIT": SmsFailure.BLOCKED,
    "isv.AMOUNT_NOT_ENOUGH": SmsFailure.NO_BALANCE,
    "isv.OUT_OF_SERVICE": SmsFailure.NO_BALANCE,
    "isv.SMS_SIGNATURE_ILLEGAL": SmsFailure.MISCONFIGURED,
    "isv.SMS_TEMPLATE_ILLEGAL": SmsFailure.MISCONFIGURED,
    "isv.TEMPLATE_MISSING_PARAMETERS": SmsFailure.MISCONFIGURED,
    "isv.INVALID_PARAMETERS": SmsFailure.MISCONFIGURED,
    "isv.PARAM_LENGTH_LIMIT": SmsFailure.MISCONFIGURED,
    "isv.ACCOUNT_NOT_EXISTS": SmsFailure.MISCONFIGURED,
    "isv.ACCOUNT_ABNORMAL": SmsFailure.MISCONFIGURED,
    "isv.PRODUCT_UN_SUBSCRIPT": SmsFailure.MISCONFIGURED,
    "SignatureDoesNotMatch": SmsFailure.MISCONFIGURED,
    "InvalidAccessKeyId.NotFound": SmsFailure.MISCONFIGURED,
    "InvalidAccessKeyId.Inactive": SmsFailure.MISCONFIGURED,
    "InvalidTimeStamp.Expired": SmsFailure.MISCONFIGURED,
    "isp.SYSTEM_ERROR": SmsFailure.UNAVAILABLE,
    "ServiceUnavailable": SmsFailure.UNAVAILABLE,
    "Throttling": SmsFailure.UNAVAILABLE,
    "Throttling.User": SmsFailure.UNAVAILABLE,
}


def failure_of(code: str) -> SmsFailure:
    if code in CODES:
        return CODES[code]
    return (
        SmsFailure.UNAVAILABLE
        if code.startswith(("isp.", "Throttling", "ServiceUnavailable"))
        else (SmsFailure.MISCONFIGURED)
    )


def mainland_number(phone: str) -> str:
    """Aliyun takes mainland numbers without the country code."""
    digits = phone.strip().replace(" ", "").replace("-", "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            return digits[len(prefix) :]
    return digits


class AliyunSms:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        templates: Mapping[str, str],
        endpoint: str = "https://dysmsapi.aliyuncs.com",
        region: str = "cn-hangzhou",
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.session = session
        self.access_key_id = access_key_id
        self.secret = access_key_secret
        self.sign_name = sign_name
        self.templates = dict(templates)
        self.endpoint = endpoint.rstrip("/") + "/"
        self.region = region
        self.clock = clock
        self.nonce = nonce

    def request_params(
        self, phone: str, *, template: str, params: Mapping[str, str], out_id: str = ""
    ) -> dict:
        """Every parameter of one SendSms call, ``Signature`` included."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))
        query = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": self.region,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self.nonce(),
            "SignatureVersion": "1.0",
            "Timestamp": stamp,
            "Version": API_VERSION,
            "PhoneNumbers": mainland_number(phone),
            "SignName": self.sign_name,
            "TemplateCode": template,
            "TemplateParam": orjson.dumps(dict(params)).decode(),
        }
        if out_id:
            query["OutId"] = out_id
        query["Signature"] = aliyun_signature(query, self.secret, "POST")
        return query

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
        out_id = hashlib.sha256(f"{phone}:{purpose}:{text}".encode()).hexdigest()[:32]
        form = self.request_params(phone, template=template, params=params or {}, out_id=out_id)
        try:
            async with self.session.post(self.endpoint, data=form) as resp:
                raw = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("sms_failed", provider="aliyun", phone=mask_phone(phone), error=type(exc).__name__)
            raise SmsError(SmsFailure.UNAVAILABLE, "", type(exc).__name__) from exc
        try:
            body = orjson.loads(raw)
            code = str(body.get("Code", ""))
        except (orjson.JSONDecodeError, AttributeError):
            body, code = {}, ""
        if code == "OK":
            log.info(
                "sms_sent",
                provider="aliyun",
                phone=mask_phone(phone),
                purpose=purpose,
                biz_id=body.get("BizId"),
            )
            return
        failure = failure_of(code) if code else SmsFailure.UNAVAILABLE
        if not code and status < 500:
            failure = SmsFailure.MISCONFIGURED
        log.warning(
            "sms_failed",
            provider="aliyun",
            phone=mask_phone(phone),
            status=status,
            code=code,
            message=str(body.get("Message", ""))[:200],
            failure=failure.value,
        )
        raise SmsError(failure, code, str(body.get("Message", ""))[:200])
