"""Errors of the membership package: a stable code apart from user-facing text (templates)."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INSUFFICIENT_POINTS = "insufficient_points"
    ACCOUNT_CLOSED = "account_closed"
    UNKNOWN_MEMBER = "unknown_member"
    MEMBER_MERGED = "member_merged"
    MERGE_REFUSED = "merge_refused"
    BAD_ROLE = "bad_role"
    UNKNOWN_BATCH = "unknown_batch"
    BAD_RANGE = "bad_range"
    OUT_OF_STOCK = "out_of_stock"
    LIMIT_REACHED = "limit_reached"
    ITEM_UNAVAILABLE = "item_unavailable"
    NOT_ALLOWED = "not_allowed"
    ORDER_STATE = "order_state"
    REFERRAL_REFUSED = "referral_refused"
    COUPON_FAILED = "coupon_failed"
    BAD_CONFIG = "bad_config"


class MembershipError(Exception):
    code: ErrorCode = ErrorCode.NOT_ALLOWED

    def __init__(self, message: str = "", **data: object) -> None:
        super().__init__(message or self.code.value)
        self.data = data


class InsufficientPoints(MembershipError):
    code = ErrorCode.INSUFFICIENT_POINTS

    def __init__(self, account_id: int, needed: int) -> None:
        super().__init__(f"account {account_id} cannot pay {needed}", account_id=account_id, needed=needed)
        self.account_id = account_id
        self.needed = needed


class AccountClosed(MembershipError):
    """The account was merged away while we were about to post to it: resolve the member again."""

    code = ErrorCode.ACCOUNT_CLOSED


class UnknownMember(MembershipError):
    code = ErrorCode.UNKNOWN_MEMBER


class MergeRefused(MembershipError):
    code = ErrorCode.MERGE_REFUSED


class BadRole(MembershipError):
    code = ErrorCode.BAD_ROLE


class UnknownBatch(MembershipError):
    code = ErrorCode.UNKNOWN_BATCH


class BadRange(MembershipError):
    code = ErrorCode.BAD_RANGE


class OutOfStock(MembershipError):
    code = ErrorCode.OUT_OF_STOCK


class LimitReached(MembershipError):
    code = ErrorCode.LIMIT_REACHED


class ItemUnavailable(MembershipError):
    code = ErrorCode.ITEM_UNAVAILABLE


class NotAllowed(MembershipError):
    code = ErrorCode.NOT_ALLOWED


class OrderState(MembershipError):
    code = ErrorCode.ORDER_STATE


class ReferralRefused(MembershipError):
    code = ErrorCode.REFERRAL_REFUSED

    def __init__(self, reason: str) -> None:
        super().__init__(reason, reason=reason)
        self.reason = reason


class CouponFailed(MembershipError):
    code = ErrorCode.COUPON_FAILED

    def __init__(self, reason: str) -> None:
        super().__init__(reason, reason=reason)
        self.reason = reason


class BadConfig(MembershipError):
    code = ErrorCode.BAD_CONFIG
