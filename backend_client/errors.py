"""Exceptions of the core client: one per stable error code of the core API, carrying its data.

Callers catch what they can act on (``OutOfStock`` -> offer what is left, ``CouponUnavailable`` ->
say why) and let ``BackendUnavailable`` reach the "try again later" path. Codes are documented in
docs/core-api.md; user-facing text is the caller's business (bot templates), never ``message``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CoreError(Exception):
    """Base of every error from the core client."""

    code = "core_error"

    def __init__(
        self, message: str = "", *, status: int | None = None, details: Mapping[str, Any] | None = None
    ):
        super().__init__(message or self.code)
        self.message = message
        self.status = status
        self.details: Mapping[str, Any] = dict(details or {})


class BackendUnavailable(CoreError):
    """The core did not answer usefully (down, timing out, 5xx) or the circuit breaker is open."""

    code = "backend_unavailable"


class ProtocolError(CoreError):
    """The core answered something this client cannot read (a contract mismatch)."""

    code = "protocol_error"


class Unauthorized(CoreError):
    code = "unauthorized"


class NotFound(CoreError):
    code = "not_found"

    @property
    def resource(self) -> str:
        return str(self.details.get("resource", ""))


class ValidationFailed(CoreError):
    """The request was malformed; ``fields`` maps a field path to what is wrong with it."""

    code = "validation_failed"

    @property
    def fields(self) -> Mapping[str, str]:
        return dict(self.details.get("fields", {}))


class Conflict(CoreError):
    """The request conflicts with the current state (``reason`` says how, e.g. price_changed)."""

    code = "conflict"

    @property
    def reason(self) -> str:
        return str(self.details.get("reason", ""))


class IdempotencyConflict(Conflict):
    """The Idempotency-Key was used before with a different request."""

    code = "idempotency_key_reused"


class OrderNotCancellable(Conflict):
    code = "order_not_cancellable"


class OutOfStock(CoreError):
    """``lines``: (line_no, sku, requested, available, is_gift) for every line that cannot be filled."""

    code = "out_of_stock"

    @property
    def lines(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(self.details.get("lines", ()))


class CreditLimitExceeded(CoreError):
    code = "credit_limit_exceeded"

    @property
    def available_fen(self) -> int:
        return int(self.details.get("available_fen", 0))

    @property
    def required_fen(self) -> int:
        return int(self.details.get("required_fen", 0))

    @property
    def overdue_fen(self) -> int:
        return int(self.details.get("overdue_fen", 0))

    @property
    def overdue(self) -> bool:
        """Refused for an overdue amount under the tenant's rule, not for the limit."""
        return self.details.get("reason") == "overdue"


class CouponUnavailable(CoreError):
    """``reason``: sold_out, limit_reached, not_started, ended, not_in_audience, wrong_audience,
    expired, redeemed, threshold_not_met, no_eligible_items, not_yours, not_found, use_in_order."""

    code = "coupon_unavailable"

    @property
    def reason(self) -> str:
        return str(self.details.get("reason", ""))


class PromotionUnavailable(CoreError):
    """``reason``: sold_out, per_store_limit_reached, not_started, ended, not_in_audience,
    wrong_product, join_required, not_found, not_a_group."""

    code = "promotion_unavailable"

    @property
    def reason(self) -> str:
        return str(self.details.get("reason", ""))

    @property
    def promotion_id(self) -> int | None:
        value = self.details.get("promotion_id")
        return int(value) if value is not None else None


class BelowMinimumOrder(CoreError):
    code = "below_minimum_order"

    @property
    def lines(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(self.details.get("lines", ()))


class StoreInactive(CoreError):
    code = "store_inactive"


class ProductUnavailable(CoreError):
    code = "product_unavailable"

    @property
    def sku(self) -> str:
        return str(self.details.get("sku", ""))


class InvalidWebhook(CoreError):
    """A webhook failed verification (``reason``: missing_header, bad_signature, stale, malformed)."""

    code = "invalid_webhook"

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason, details={"reason": reason})
        self.reason = reason


BY_CODE: dict[str, type[CoreError]] = {
    cls.code: cls
    for cls in (
        Unauthorized,
        NotFound,
        ValidationFailed,
        Conflict,
        IdempotencyConflict,
        OrderNotCancellable,
        OutOfStock,
        CreditLimitExceeded,
        CouponUnavailable,
        PromotionUnavailable,
        BelowMinimumOrder,
        StoreInactive,
        ProductUnavailable,
    )
}
# codes that mean "the request was bad" in the same way validation is
BY_CODE["invalid_json"] = ValidationFailed
BY_CODE["idempotency_key_required"] = ValidationFailed
BY_CODE["payload_too_large"] = ValidationFailed


def from_response(status: int, body: Any) -> CoreError:
    """The typed exception for an error response (unknown codes fall back on the HTTP status)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ProtocolError(f"HTTP {status} without an error body", status=status)
    code = str(error.get("code", ""))
    details = error.get("details") if isinstance(error.get("details"), dict) else {}
    cls = BY_CODE.get(code)
    if cls is None:
        cls = {400: ValidationFailed, 401: Unauthorized, 404: NotFound, 409: Conflict}.get(status, CoreError)
    exc = cls(str(error.get("message", "")), status=status, details=details)
    exc.code = code or exc.code  # keep the wire code even when it maps to a broader class
    return exc
