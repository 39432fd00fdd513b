"""What can go wrong sending an SMS, in jiubot's terms (each provider's codes map onto these)."""

from __future__ import annotations

from enum import StrEnum


class SmsFailure(StrEnum):
    TOO_MANY_FOR_PHONE = "too_many_for_phone"  # our limit or the provider's per-number limit
    TOO_MANY_FOR_IP = "too_many_for_ip"  # our per-client-address limit
    BAD_PHONE = "bad_phone"  # the number is not a mobile number the provider accepts
    BLOCKED = "blocked"  # the provider refuses this number or content (blacklist, opt-out)
    MISCONFIGURED = "misconfigured"  # keys, signature name, template: the operator must fix it
    NO_BALANCE = "no_balance"  # the account has run out of messages
    UNAVAILABLE = "unavailable"  # network, timeout, provider 5xx: try again later


RETRYABLE = frozenset({SmsFailure.UNAVAILABLE})


class SmsError(Exception):
    """An SMS was not sent. ``provider_code`` is the provider's own code ("" for ours)."""

    def __init__(
        self, failure: SmsFailure, provider_code: str = "", detail: str = "", *, retry_after: int = 0
    ):
        super().__init__(f"{failure.value}: {provider_code} {detail}".strip())
        self.failure = failure
        self.provider_code = provider_code
        self.detail = detail
        self.retry_after = retry_after  # seconds until a limit window ends (0 = unknown)

    @property
    def retryable(self) -> bool:
        return self.failure in RETRYABLE
