"""Local fakes of the Aliyun and Tencent Cloud SMS APIs that verify each request's signature
the way the providers document it (written here from the documents, independently of
bot/sms/signing.py) and answer what a test scripts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from aiohttp import web


def _enc(value: str) -> str:
    return quote(value, safe="-_.~")


@dataclass
class FakeAliyun:
    key_id: str = "LTAI-fake"
    secret: str = "fake-secret-0001"
    answers: list[dict] = field(default_factory=list)  # scripted answers, then OK
    received: list[dict] = field(default_factory=list)  # verified requests
    rejected: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        params = {k: str(v) for k, v in form.items()}
        sent = params.pop("Signature", "")
        query = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(params.items()))
        to_sign = f"{request.method}&%2F&{_enc(query)}"
        expected = base64.b64encode(
            hmac.new(f"{self.secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
        ).decode()
        if params.get("AccessKeyId") != self.key_id:
            self.rejected += 1
            return web.json_response({"Code": "InvalidAccessKeyId.NotFound", "Message": "no key"}, status=404)
        if not hmac.compare_digest(sent, expected):
            self.rejected += 1
            return web.json_response(
                {"Code": "SignatureDoesNotMatch", "Message": "bad signature"}, status=400
            )
        self.received.append(params)
        if self.answers:
            answer = self.answers.pop(0)
            return web.json_response(answer, status=int(answer.pop("_status", 200)))
        return web.json_response({"Code": "OK", "Message": "OK", "BizId": "900000^0", "RequestId": "r"})


@dataclass
class FakeTencent:
    secret_id: str = "AKID-fake"
    secret_key: str = "fake-tencent-key"
    answers: list[dict] = field(default_factory=list)
    received: list[dict] = field(default_factory=list)
    rejected: int = 0

    def _error(self, code: str) -> web.Response:
        self.rejected += 1
        return web.json_response({"Response": {"Error": {"Code": code, "Message": code}, "RequestId": "r"}})

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        auth = request.headers.get("Authorization", "")
        timestamp = int(request.headers.get("X-TC-Timestamp", "0"))
        date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        canonical = "\n".join(
            [
                "POST",
                "/",
                "",
                f"content-type:{request.headers['Content-Type'].lower()}\nhost:{request.headers['Host'].lower()}\n",
                "content-type;host",
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{date}/sms/tc3_request"
        to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key = f"TC3{self.secret_key}".encode()
        for part in (date, "sms", "tc3_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        expected = (
            f"TC3-HMAC-SHA256 Credential={self.secret_id}/{scope}, "
            f"SignedHeaders=content-type;host, Signature={signature}"
        )
        if not auth.startswith(f"TC3-HMAC-SHA256 Credential={self.secret_id}/"):
            return self._error("AuthFailure.SecretIdNotFound")
        if not hmac.compare_digest(auth, expected):
            return self._error("AuthFailure.SignatureFailure")
        if (
            request.headers.get("X-TC-Action") != "SendSms"
            or request.headers.get("X-TC-Version") != "2021-01-11"
        ):
            return self._error("InvalidAction")
        doc = json.loads(body)
        self.received.append(doc)
        if self.answers:
            return web.json_response(self.answers.pop(0))
        statuses = [
            {
                "SerialNo": "s",
                "PhoneNumber": p,
                "Fee": 1,
                "Code": "Ok",
                "Message": "send success",
                "IsoCode": "CN",
            }
            for p in doc["PhoneNumberSet"]
        ]
        return web.json_response({"Response": {"SendStatusSet": statuses, "RequestId": "r"}})


def app_of(handler) -> web.Application:
    app = web.Application()
    app.router.add_post("/", handler)
    return app
