"""Errors of the mini-program API: a stable code and an HTTP status; the Chinese text the user
sees lives in ``texts.py``, apart from the code."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    UNKNOWN_APP = "unknown_app"
    INVALID_CODE = "invalid_code"
    SESSION_REQUIRED = "session_required"
    SESSION_INVALID = "session_invalid"
    SESSION_EXPIRED = "session_expired"
    PHONE_CODE_INVALID = "phone_code_invalid"
    PHONE_REFUSED = "phone_refused"
    WECHAT_BUSY = "wechat_busy"
    WECHAT_CONFIG = "wechat_config"
    NOT_CONFIGURED = "not_configured"


STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNKNOWN_APP: 400,
    ErrorCode.INVALID_CODE: 400,
    ErrorCode.SESSION_REQUIRED: 401,
    ErrorCode.SESSION_INVALID: 401,
    ErrorCode.SESSION_EXPIRED: 401,
    ErrorCode.PHONE_CODE_INVALID: 400,
    ErrorCode.PHONE_REFUSED: 409,
    ErrorCode.WECHAT_BUSY: 503,
    ErrorCode.WECHAT_CONFIG: 503,
    ErrorCode.NOT_CONFIGURED: 503,
}


class MpError(Exception):
    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.code = code
        self.detail = detail

    @property
    def status(self) -> int:
        return STATUS[self.code]
