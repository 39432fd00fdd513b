"""Errors of the ordering package: a stable code and the data, never user-facing text."""

from __future__ import annotations

from enum import StrEnum


class OrderingErrorCode(StrEnum):
    CATALOG_INVALID = "catalog_invalid"


class OrderingError(Exception):
    code: OrderingErrorCode


class CatalogInvalid(OrderingError):
    """The catalog file cannot be read; ``problems`` lists each bad entry."""

    code = OrderingErrorCode.CATALOG_INVALID

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


# chat ordering (binding, carts, orders) -----------------------------------------------------------
class ChatErrorCode(StrEnum):
    NOT_BOUND = "not_bound"
    NOT_OWNER = "not_owner"
    TOKEN_INVALID = "token_invalid"  # noqa: S105 - unknown, expired, used or revoked binding code
    STORE_UNKNOWN = "store_unknown"
    CODE_WRONG = "code_wrong"
    CODE_EXPIRED = "code_expired"
    CODE_LOCKED = "code_locked"  # too many wrong codes
    SMS_TOO_SOON = "sms_too_soon"
    NO_PHONE = "no_phone"  # the core holds no owner phone for the store
    CART_CHANGED = "cart_changed"  # optimistic version check failed
    CART_EMPTY = "cart_empty"
    UNKNOWN_SKU = "unknown_sku"


class ChatOrderingError(OrderingError):
    """A refusal of a chat-ordering action; ``reason`` carries the detail for logs and templates."""

    def __init__(self, code: ChatErrorCode, reason: str = "", **data: object) -> None:
        super().__init__(f"{code.value}: {reason}" if reason else code.value)
        self.code = code  # type: ignore[assignment]
        self.reason = reason
        self.data = data
