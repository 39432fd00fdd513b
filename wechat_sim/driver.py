"""The callback driver: plays WeChat's servers towards an app's callback URL.

GET verification (section 1.2), POST in plaintext, compatible and safe mode (1.3-1.5), the 5-second
deadline with retries of the identical body (new timestamp, nonce and signatures on each attempt),
the acknowledgement rules and the user-visible failure (section 3), and the verification and
decryption of the passive reply. It knows nothing of simulated users: the simulator builds the
message fields and calls :meth:`CallbackDriver.deliver`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, replace
from typing import Protocol

import aiohttp

from wechat_sim.clock import Clock, SystemClock
from wechat_sim.crypto import CryptoError, MessageCipher, same, sha1_signature
from wechat_sim.xmlmsg import BadXml, Fields, check_reply, parse_xml, to_xml

OA_FAILURE = "该公众号暂时无法提供服务，请稍后再试"
MP_FAILURE = "该小程序客服暂时无法提供服务，请稍后再试"
ACKS = (b"", b"success")


class Target(Protocol):
    """What the driver needs to know about an app (``wechat_sim.model.App`` is one)."""

    appid: str
    token: str
    aes_key: str
    mode: str  # plain | compat | safe
    callback_url: str
    original_id: str
    kind: str  # oa | mp


@dataclass(frozen=True)
class Attempt:
    number: int
    timestamp: str
    nonce: str
    signature: str
    msg_signature: str | None
    elapsed: float
    status: int | None  # HTTP status; None when nothing came back in time
    outcome: str  # ack | reply | invalid | timeout | http_status | connection_error
    detail: str = ""


@dataclass(frozen=True)
class DeliveryResult:
    appid: str
    message: Fields  # the plaintext fields that were pushed
    body: bytes  # the HTTP body, identical on every attempt
    attempts: tuple[Attempt, ...]
    acked: bool  # "success" or an empty body
    reply: Fields | None  # the passive reply, verified and decrypted
    raw_reply: bytes | None
    reply_encrypted: bool
    user_error: str | None  # the failure text the user sees, if any
    reason: str | None  # machine reason of the failure
    elapsed: float

    @property
    def ok(self) -> bool:
        return self.user_error is None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    status: int | None
    echostr: str
    body: str
    detail: str = ""


def new_nonce() -> str:
    return str(secrets.randbelow(9 * 10**9) + 10**9)


class CallbackDriver:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        deadline: float = 5.0,
        attempts: int = 3,
        clock: Clock | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.session = session
        self.deadline = deadline
        self.attempts = attempts
        self.clock = clock or SystemClock()

    def _timestamp(self) -> str:
        return str(int(self.clock.now()))

    # GET ----------------------------------------------------------------------------------
    async def verify_url(self, target: Target, echostr: str | None = None) -> VerifyResult:
        echostr = echostr or str(secrets.randbelow(10**19))
        ts, nonce = self._timestamp(), new_nonce()
        params = {
            "signature": sha1_signature(target.token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": echostr,
        }
        try:
            async with asyncio.timeout(self.deadline):
                async with self.session.get(target.callback_url, params=params) as resp:
                    body = await resp.text(errors="replace")
                    status = resp.status
        except TimeoutError:
            return VerifyResult(False, None, echostr, "", "timeout")
        except aiohttp.ClientError as exc:
            return VerifyResult(False, None, echostr, "", f"connection_error:{type(exc).__name__}")
        ok = status == 200 and body == echostr
        return VerifyResult(ok, status, echostr, body, "" if ok else "echostr_mismatch")

    # POST ---------------------------------------------------------------------------------
    def _envelope(self, target: Target, fields: Fields) -> tuple[bytes, str | None]:
        """The HTTP body and, in the encrypted modes, the Encrypt value it carries."""
        xml = to_xml(fields)
        if target.mode == "plain":
            return xml.encode(), None
        encrypted = MessageCipher(target.aes_key, target.appid).encrypt(xml)
        if target.mode == "safe":
            outer = {"ToUserName": fields.get("ToUserName", target.original_id), "Encrypt": encrypted}
        else:  # compat: the plaintext fields and the ciphertext side by side
            outer = {**fields, "Encrypt": encrypted}
        return to_xml(outer).encode(), encrypted

    def _params(self, target: Target, fields: Fields, encrypted: str | None) -> dict[str, str]:
        ts, nonce = self._timestamp(), new_nonce()
        params = {"signature": sha1_signature(target.token, ts, nonce), "timestamp": ts, "nonce": nonce}
        if fields.get("FromUserName"):
            params["openid"] = str(fields["FromUserName"])
        if encrypted is not None:
            params["encrypt_type"] = "aes"
            params["msg_signature"] = sha1_signature(target.token, ts, nonce, encrypted)
        return params

    async def deliver(self, target: Target, fields: Fields) -> DeliveryResult:
        body, encrypted = self._envelope(target, fields)
        started = time.monotonic()
        attempts: list[Attempt] = []
        for number in range(1, self.attempts + 1):
            params = self._params(target, fields, encrypted)
            t0 = time.monotonic()
            status, raw, outcome, detail = await self._post(target, params, body)
            attempt = Attempt(
                number,
                params["timestamp"],
                params["nonce"],
                params["signature"],
                params.get("msg_signature"),
                time.monotonic() - t0,
                status,
                outcome,
                detail,
            )
            if outcome in ("timeout", "connection_error", "http_status"):
                attempts.append(attempt)
                continue  # WeChat gives up on this attempt and re-sends the same message
            assert raw is not None
            if raw in ACKS:
                attempts.append(replace(attempt, outcome="ack"))
                return self._result(target, fields, body, attempts, started, acked=True, raw=raw)
            try:
                reply, was_encrypted = self._open_reply(target, raw)
                problem = check_reply(
                    reply,
                    user_openid=str(fields.get("FromUserName", "")),
                    account_id=str(fields.get("ToUserName", "")),
                )
            except (BadXml, CryptoError) as exc:
                reply, was_encrypted, problem = None, False, exc.reason
            if problem is not None:
                attempts.append(replace(attempt, outcome="invalid", detail=problem))
                return self._result(target, fields, body, attempts, started, raw=raw, reason=problem)
            attempts.append(replace(attempt, outcome="reply"))
            return self._result(
                target, fields, body, attempts, started, raw=raw, reply=reply, encrypted=was_encrypted
            )
        return self._result(target, fields, body, attempts, started, reason=attempts[-1].outcome)

    async def _post(
        self, target: Target, params: dict[str, str], body: bytes
    ) -> tuple[int | None, bytes | None, str, str]:
        try:
            async with asyncio.timeout(self.deadline):
                async with self.session.post(
                    target.callback_url, params=params, data=body, headers={"Content-Type": "text/xml"}
                ) as resp:
                    raw = await resp.read()
                    status = resp.status
        except TimeoutError:
            return None, None, "timeout", f"no response within {self.deadline}s"
        except aiohttp.ClientError as exc:
            return None, None, "connection_error", type(exc).__name__
        if status != 200:
            return status, raw, "http_status", raw[:200].decode(errors="replace")
        return status, raw, "response", ""

    def _open_reply(self, target: Target, raw: bytes) -> tuple[Fields, bool]:
        outer = parse_xml(raw)
        if "Encrypt" not in outer:
            if target.mode == "safe":
                raise BadXml("plaintext_reply_in_safe_mode")
            return outer, False
        if target.mode == "plain":
            raise BadXml("encrypted_reply_in_plain_mode")
        encrypted = outer.get("Encrypt")
        ts, nonce, signature = outer.get("TimeStamp"), outer.get("Nonce"), outer.get("MsgSignature")
        if not (
            isinstance(encrypted, str)
            and encrypted
            and isinstance(ts, str)
            and ts
            and isinstance(nonce, str)
            and nonce
            and isinstance(signature, str)
            and signature
        ):
            raise BadXml("incomplete_encrypted_reply")
        if not same(signature, sha1_signature(target.token, ts, nonce, encrypted)):
            raise BadXml("bad_reply_signature")
        try:
            inner = MessageCipher(target.aes_key, target.appid).decrypt(encrypted)
        except CryptoError as exc:
            raise BadXml(f"reply_decrypt:{exc.reason}") from None
        return parse_xml(inner), True

    def _result(
        self,
        target: Target,
        fields: Fields,
        body: bytes,
        attempts: list[Attempt],
        started: float,
        *,
        acked: bool = False,
        raw: bytes | None = None,
        reply: Fields | None = None,
        encrypted: bool = False,
        reason: str | None = None,
    ) -> DeliveryResult:
        failure = OA_FAILURE if target.kind != "mp" else MP_FAILURE
        return DeliveryResult(
            appid=target.appid,
            message=fields,
            body=body,
            attempts=tuple(attempts),
            acked=acked,
            reply=reply,
            raw_reply=raw,
            reply_encrypted=encrypted,
            user_error=failure if reason else None,
            reason=reason,
            elapsed=time.monotonic() - started,
        )
