"""Errors of the core API: a stable machine code, an HTTP status, a message and data.

The wire shape is ``{"error": {"code": ..., "message": ..., "details": {...}}}``; clients map on
``code`` (documented in docs/core-api.md), never on the message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    VALIDATION_FAILED = "validation_failed"
    INVALID_JSON = "invalid_json"
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    CONFLICT = "conflict"
    ORDER_NOT_CANCELLABLE = "order_not_cancellable"
    OUT_OF_STOCK = "out_of_stock"
    CREDIT_LIMIT_EXCEEDED = "credit_limit_exceeded"
    COUPON_UNAVAILABLE = "coupon_unavailable"
    PROMOTION_UNAVAILABLE = "promotion_unavailable"
    BELOW_MINIMUM_ORDER = "below_minimum_order"
    STORE_INACTIVE = "store_inactive"
    PRODUCT_UNAVAILABLE = "product_unavailable"
    BUSY = "busy"
    INTERNAL = "internal"


STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_FAILED: 400,
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.IDEMPOTENCY_KEY_REQUIRED: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 409,
    ErrorCode.CONFLICT: 409,
    ErrorCode.ORDER_NOT_CANCELLABLE: 409,
    ErrorCode.OUT_OF_STOCK: 422,
    ErrorCode.CREDIT_LIMIT_EXCEEDED: 422,
    ErrorCode.COUPON_UNAVAILABLE: 422,
    ErrorCode.PROMOTION_UNAVAILABLE: 422,
    ErrorCode.BELOW_MINIMUM_ORDER: 422,
    ErrorCode.STORE_INACTIVE: 422,
    ErrorCode.PRODUCT_UNAVAILABLE: 422,
    ErrorCode.BUSY: 503,
    ErrorCode.INTERNAL: 500,
}

# Refusals that are the final answer to an attempt: stored under its Idempotency-Key so a retry with
# the same key gets the same answer (a new attempt takes a new key).
FINAL_REFUSALS = frozenset(
    {
        ErrorCode.OUT_OF_STOCK,
        ErrorCode.CREDIT_LIMIT_EXCEEDED,
        ErrorCode.COUPON_UNAVAILABLE,
        ErrorCode.PROMOTION_UNAVAILABLE,
        ErrorCode.BELOW_MINIMUM_ORDER,
        ErrorCode.STORE_INACTIVE,
        ErrorCode.PRODUCT_UNAVAILABLE,
        ErrorCode.CONFLICT,
        ErrorCode.ORDER_NOT_CANCELLABLE,
    }
)


class CoreError(Exception):
    """Base of every error the API answers with."""

    def __init__(self, code: ErrorCode, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    @property
    def status(self) -> int:
        return STATUS[self.code]

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code.value, "message": self.message, "details": self.details}}


def not_found(what: str, ident: object) -> CoreError:
    return CoreError(ErrorCode.NOT_FOUND, f"{what} {ident} not found", {"resource": what, "id": str(ident)})


def validation(fields: dict[str, str], message: str = "the request is invalid") -> CoreError:
    return CoreError(ErrorCode.VALIDATION_FAILED, message, {"fields": fields})


def out_of_stock(lines: list[dict[str, Any]]) -> CoreError:
    skus = ", ".join(str(line["sku"]) for line in lines)
    return CoreError(ErrorCode.OUT_OF_STOCK, f"not enough stock for {skus}", {"lines": lines})


def promotion_unavailable(promotion_id: int, reason: str, message: str) -> CoreError:
    return CoreError(
        ErrorCode.PROMOTION_UNAVAILABLE, message, {"promotion_id": promotion_id, "reason": reason}
    )


def coupon_unavailable(reason: str, message: str, **extra: Any) -> CoreError:
    return CoreError(ErrorCode.COUPON_UNAVAILABLE, message, {"reason": reason, **extra})
