"""Why a campaign action was refused, in words the store owner gets (templates key on ``reason``)."""

from __future__ import annotations

from typing import Any

# the core's PromotionUnavailable reasons, plus jiubot's own
REASONS = frozenset(
    {
        "sold_out",
        "per_store_limit_reached",
        "not_started",
        "ended",
        "paused",
        "not_in_audience",
        "not_found",
        "wrong_product",
        "join_required",
        "threshold_not_met",
        "already_joined",
        "not_a_group",
        "credit_limit_exceeded",
        "credit_overdue",
        "out_of_stock",
        "not_bound",
        "wrong_kind",
        "bad_quantity",
        "bad_request",
        "busy",
    }
)


class CampaignRefused(Exception):
    def __init__(self, reason: str, **data: Any) -> None:
        super().__init__(reason)
        self.reason = reason if reason in REASONS else "refused"
        self.data = data
