"""jiubot's own mini-program session tokens, signed with the deployment's secret key.

``wx.login`` gives a code; the server exchanges it (jscode2session) for the openid and WeChat's
``session_key``. The session_key never leaves the server (WECHAT_PROTOCOL.md 11.1): it is kept in
Redis for server-side uses (checking ``rawData`` signatures, decrypting legacy ``encryptedData``),
and the mini-program gets this token instead:

    v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(key, "v1." + claims))>

The key is derived from ``JIUBOT_SECRET_KEY`` for this purpose only. Tokens are stateless and
expire after ``JIUBOT_MP_SESSION_TTL_SECONDS``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from bot.miniapp.errors import ErrorCode, MpError

VERSION = "v1"


@dataclass(frozen=True, slots=True)
class MpSession:
    member_id: int
    tenant_id: int
    appid: str
    openid: str
    unionid: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    def __init__(self, secret_key: str, ttl_seconds: int, *, clock: Callable[[], float] = time.time) -> None:
        if not secret_key:
            raise ValueError("a secret key is required to sign mini-program sessions")
        self.key = hmac.new(secret_key.encode(), b"jiubot mini-program session v1", hashlib.sha256).digest()
        self.ttl = ttl_seconds
        self.clock = clock

    def _sign(self, signed: bytes) -> str:
        return _b64(hmac.new(self.key, signed, hashlib.sha256).digest())

    def issue(self, session: MpSession) -> IssuedToken:
        now = int(self.clock())
        claims = {
            "m": session.member_id,
            "t": session.tenant_id,
            "a": session.appid,
            "o": session.openid,
            "u": session.unionid,
            "iat": now,
            "exp": now + self.ttl,
        }
        signed = f"{VERSION}.{_b64(orjson.dumps(claims))}"
        return IssuedToken(f"{signed}.{self._sign(signed.encode())}", now + self.ttl)

    def verify(self, token: str) -> MpSession:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != VERSION:
            raise MpError(ErrorCode.SESSION_INVALID, "malformed token")
        signed = f"{parts[0]}.{parts[1]}".encode()
        if not hmac.compare_digest(self._sign(signed), parts[2]):
            raise MpError(ErrorCode.SESSION_INVALID, "bad signature")
        try:
            claims = orjson.loads(_unb64(parts[1]))
            session = MpSession(
                member_id=int(claims["m"]),
                tenant_id=int(claims["t"]),
                appid=str(claims["a"]),
                openid=str(claims["o"]),
                unionid=claims.get("u") or None,
            )
            expires = int(claims["exp"])
        except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise MpError(ErrorCode.SESSION_INVALID, "bad claims") from None
        if self.clock() >= expires:
            raise MpError(ErrorCode.SESSION_EXPIRED)
        return session
