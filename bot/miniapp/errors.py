"""The one error type of the mini-program API: a stable code, its HTTP status, optional
documented extra fields; the Chinese text the user sees lives in ``texts.py``, apart from the code.

Every error leaves the API as ``{"error": <code>, "message": <中文>}``, plus the extra fields
``openapi.yaml`` documents for that code (``field`` for bad input, ``choices``, ``result`` ...).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    # the request itself
    BAD_REQUEST = "bad_request"  # with ``field``: which body or query field is wrong
    QUANTITY_TOO_LARGE = "quantity_too_large"  # above the hard ceiling, even with ``confirm``
    # login and session
    UNKNOWN_APP = "unknown_app"
    INVALID_CODE = "invalid_code"
    SESSION_REQUIRED = "session_required"
    SESSION_INVALID = "session_invalid"
    SESSION_EXPIRED = "session_expired"
    PHONE_CODE_INVALID = "phone_code_invalid"
    PHONE_REFUSED = "phone_refused"
    SMS_LIMITED = "sms_limited"  # too many codes for this phone or client IP: with ``retry_after``
    # ordering
    NOT_BOUND = "not_bound"
    NOT_FOUND = "not_found"
    CART_CHANGED = "cart_changed"
    CART_EMPTY = "cart_empty"
    OVER_LIMIT = "over_limit"
    REFUSED = "refused"
    PHONE_MISMATCH = "phone_mismatch"
    CORE_INVALID = "core_invalid"  # the core found the request malformed (a junk cursor ...)
    CORE_REFUSED = "core_refused"  # the core refused it for a business reason
    # membership
    COUPON_FAILED = "coupon_failed"  # with ``reason``
    INSUFFICIENT_POINTS = "insufficient_points"
    OUT_OF_STOCK = "out_of_stock"
    LIMIT_REACHED = "limit_reached"
    ITEM_UNAVAILABLE = "item_unavailable"
    NOT_ALLOWED = "not_allowed"
    # campaigns (issue 16)
    CAMPAIGN_REFUSED = "campaign_refused"  # with ``reason`` (sold_out ...), the message says it
    # dependencies
    WECHAT_BUSY = "wechat_busy"
    WECHAT_CONFIG = "wechat_config"
    CORE_UNAVAILABLE = "core_unavailable"
    NOT_CONFIGURED = "not_configured"
    SERVICE_BUSY = "service_busy"  # Redis or the database silent or busy: with ``reason``, Retry-After


STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.QUANTITY_TOO_LARGE: 400,
    ErrorCode.UNKNOWN_APP: 400,
    ErrorCode.INVALID_CODE: 400,
    ErrorCode.SESSION_REQUIRED: 401,
    ErrorCode.SESSION_INVALID: 401,
    ErrorCode.SESSION_EXPIRED: 401,
    ErrorCode.PHONE_CODE_INVALID: 400,
    ErrorCode.PHONE_REFUSED: 409,
    ErrorCode.SMS_LIMITED: 429,
    ErrorCode.NOT_BOUND: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CART_CHANGED: 409,
    ErrorCode.CART_EMPTY: 409,
    ErrorCode.OVER_LIMIT: 409,
    ErrorCode.REFUSED: 409,
    ErrorCode.PHONE_MISMATCH: 409,
    ErrorCode.CORE_INVALID: 400,
    ErrorCode.CORE_REFUSED: 409,
    ErrorCode.COUPON_FAILED: 409,
    ErrorCode.INSUFFICIENT_POINTS: 409,
    ErrorCode.OUT_OF_STOCK: 409,
    ErrorCode.LIMIT_REACHED: 409,
    ErrorCode.ITEM_UNAVAILABLE: 409,
    ErrorCode.NOT_ALLOWED: 409,
    ErrorCode.CAMPAIGN_REFUSED: 409,
    ErrorCode.WECHAT_BUSY: 503,
    ErrorCode.WECHAT_CONFIG: 503,
    ErrorCode.CORE_UNAVAILABLE: 503,
    ErrorCode.NOT_CONFIGURED: 503,
    ErrorCode.SERVICE_BUSY: 503,
}


class MpError(Exception):
    """A refusal of a mini-program call. ``detail`` is for logs only; ``extra`` joins the JSON
    body (documented per code); ``message`` replaces the code's text where a template says more
    (a coupon's refusal reason)."""

    def __init__(
        self, code: ErrorCode, detail: str = "", *, message: str | None = None, **extra: Any
    ) -> None:
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.code = code
        self.detail = detail
        self.message = message
        self.extra = extra

    @property
    def status(self) -> int:
        return STATUS[self.code]
