"""WeChat API errors: errcode -> typed exception, by the reaction table of WECHAT_PROTOCOL.md 13.

Every exception carries ``errcode``, ``errmsg``, ``rid`` (the request id WeChat appends to errmsg,
which ``/cgi-bin/openapi/rid/get`` looks up for 7 days) and the API path. The class says what to
do; the errcode says why. User-facing text never lives here.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from enum import IntEnum
from zoneinfo import ZoneInfo

_BEIJING = ZoneInfo("Asia/Shanghai")

_RID = re.compile(r"\brid:\s*([0-9A-Za-z-]+)")
_HINT = re.compile(r"\bhint:\s*\[([0-9A-Za-z_-]+)\]")


class Code(IntEnum):
    """The errcodes jiubot reacts to by name (the full mapping is ``_CLASSES`` below)."""

    SYSTEM_BUSY = -1
    OK = 0
    INVALID_CREDENTIAL = 40001
    INVALID_OPENID = 40003
    INVALID_APPID = 40013
    INVALID_TOKEN = 40014
    INVALID_CODE = 40029
    INVALID_CHARSET = 40033
    INVALID_TEMPLATE = 40037
    TOKEN_EXPIRED = 42001
    NOT_FOLLOWER = 43004
    USER_REFUSED = 43101
    DAILY_QUOTA = 45009
    MINUTE_QUOTA = 45011
    OUT_OF_WINDOW = 45015
    WINDOW_QUOTA = 45047
    REFUSES_MESSAGES = 48002


def parse_rid(errmsg: str) -> str:
    """``rid: 6566f1b0-...`` (newer) or ``hint: [xxxx]`` (older) from an errmsg, else ''."""
    match = _RID.search(errmsg) or _HINT.search(errmsg)
    return match.group(1) if match else ""


class WeChatError(Exception):
    """Base of every failure talking to WeChat. ``errcode`` is None for transport failures."""

    reaction = "give_up"

    def __init__(
        self, errcode: int | None, errmsg: str = "", *, api: str = "", rid: str | None = None
    ) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.api = api
        self.rid = parse_rid(errmsg) if rid is None else rid
        super().__init__(f"{api or 'wechat'}: errcode={errcode} {errmsg}".strip())

    @property
    def answered(self) -> bool:
        """True when WeChat answered (so it certainly did not perform the request)."""
        return self.errcode is not None


class Retryable(WeChatError):
    """-1 system busy, 42010, 43108, timeouts and 5xx: retry with backoff."""

    reaction = "retry"


class TransportError(Retryable):
    """No answer from WeChat (connection error, timeout, HTTP 5xx, a body that is not JSON).

    ``maybe_sent`` is False only when the request never left (connection refused): otherwise
    WeChat may have performed the call, and only idempotent calls are retried."""

    def __init__(self, *args: object, maybe_sent: bool = True, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.maybe_sent = maybe_sent


class TokenInvalid(WeChatError):
    """40001 / 40014 / 42001: invalidate the cached token (compare-and-swap), fetch once, retry once."""

    reaction = "refresh_token"


class QuotaExceeded(WeChatError):
    """45009 daily quota / 45011 minute quota (or our own block remembering one).

    ``retry_after`` is how many seconds until calling again makes sense."""

    reaction = "stop"

    def __init__(self, *args: object, retry_after: float = 60.0, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class RateLimited(QuotaExceeded):
    """Our own shared token bucket for this app and API would make the caller wait too long."""


class WindowClosed(WeChatError):
    """45015 outside the 48 h window / unfollowed, 45047 window quota used up: fall back, never retry."""

    reaction = "fall_back"


class NotFollower(WindowClosed):
    """43004: the recipient does not follow the account (templates and kf)."""


class UserRefused(WeChatError):
    """43101 no subscribe credit, 48002 messages turned off, 43019 blacklisted, 40003, 46004..."""

    reaction = "give_up"


class NoMassQuota(WeChatError):
    """45028: a follower in the mass send's audience has had the month's mass sends (service
    account: 4 per follower per calendar month); nothing was sent."""

    reaction = "give_up"


class MassAlreadySent(WeChatError):
    """45065 on a mass send: this ``clientmsgid`` was sent before (the earlier call went out)."""

    reaction = "give_up"


class InvalidCode(WeChatError):
    """40029 / 40163 / 40226 / 42003: a login or phone code that cannot be exchanged."""

    reaction = "give_up"


class ConfigError(WeChatError):
    """Wrong appid/secret, IP not whitelisted, unauthorized API, bad template id: alert ops."""

    reaction = "alert"


class BadRequest(WeChatError):
    """The request itself is wrong (a bug or bad content): fix it, never retry as is."""

    reaction = "fix"


class Ignorable(WeChatError):
    """45080 / 45081: typing indicator not possible right now."""

    reaction = "ignore"


_CLASSES: dict[int, type[WeChatError]] = {
    -1: Retryable,
    42010: Retryable,
    43108: Retryable,
    40001: TokenInvalid,
    40014: TokenInvalid,
    42001: TokenInvalid,
    45009: QuotaExceeded,
    45011: QuotaExceeded,
    45015: WindowClosed,
    45047: WindowClosed,
    43004: NotFollower,
    50005: NotFollower,
    43101: UserRefused,
    48002: UserRefused,
    43019: UserRefused,
    40003: UserRefused,
    46004: UserRefused,
    50001: UserRefused,
    50002: UserRefused,
    45065: UserRefused,  # clientmsgid already used: the message went out before
    45028: NoMassQuota,
    40029: InvalidCode,
    40163: InvalidCode,
    40226: InvalidCode,
    42002: InvalidCode,
    42003: InvalidCode,
    42007: InvalidCode,
    45080: Ignorable,
    45081: Ignorable,
}
for _code in (40002, 40013, 40125, 40243, 40164, 40037, 40053, 43107, 48001, 48004, 48006, 85079, 41001):
    _CLASSES[_code] = ConfigError
for _code in (89503, 89506, 89507, 45109, 45103):
    _CLASSES[_code] = ConfigError
for _code in (40032, 40033, 40097, 40129, 40169, 41030, 44002, 45002, 45008, 45168, 47001, 47003, 45072):
    _CLASSES[_code] = BadRequest


def error_for(errcode: int, errmsg: str, *, api: str = "") -> WeChatError:
    """The typed exception for an errcode; unknown codes are BadRequest (never retried blindly)."""
    if errcode == 45065 and "message/mass" in api:
        return MassAlreadySent(errcode, errmsg, api=api)
    cls = _CLASSES.get(errcode, BadRequest)
    if cls is QuotaExceeded:
        wait = 60.0 if errcode == 45011 else seconds_until_daily_reset()
        return QuotaExceeded(errcode, errmsg, api=api, retry_after=wait)
    return cls(errcode, errmsg, api=api)


def seconds_until_daily_reset(now: float | None = None) -> float:
    """Daily quotas reset at midnight Beijing time."""
    current = datetime.fromtimestamp(time.time() if now is None else now, _BEIJING)
    midnight = (current + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max((midnight - current).total_seconds(), 1.0)
