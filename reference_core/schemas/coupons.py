"""Coupon campaigns and claims."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from reference_core.schemas.common import Cursor, Fen, Id, Model, Out, Timestamp, text
from reference_core.schemas.promotions import Audience, AudienceOut, Scope, ScopeOut

HolderType = Literal["store", "consumer"]
HolderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:@-]{1,64}$")]
ClaimStatus = Literal["available", "redeemed", "expired"]


class CampaignCreate(Model):
    name: Annotated[str, text(200, 1)]
    kind: Literal["amount_off", "percent_off"]
    amount_off_fen: Fen = 0
    percent_off: int = Field(default=0, ge=0, le=99)
    max_discount_fen: Fen | None = Field(default=None, description="cap of a percent_off coupon")
    threshold_fen: Fen = Field(default=0, description="usable when the eligible amount reaches this")
    audience: Literal["stores", "consumers"]
    audience_filter: Audience = Field(default_factory=Audience, description="which stores may claim")
    scope: Scope = Field(default_factory=Scope, description="which products the coupon applies to")
    claim_starts_at: Timestamp
    claim_ends_at: Timestamp
    valid_days: int = Field(ge=1, le=3650, description="a claimed coupon is valid this many days ...")
    valid_until: Timestamp = Field(description="... but never past this")
    total_stock: int = Field(ge=1, le=10_000_000)
    per_holder_limit: int = Field(default=1, ge=1, le=1000)

    @model_validator(mode="after")
    def _consistent(self) -> CampaignCreate:
        if self.claim_ends_at <= self.claim_starts_at:
            raise ValueError("claim_ends_at must be after claim_starts_at")
        if self.valid_until <= self.claim_starts_at:
            raise ValueError("valid_until must be after claim_starts_at")
        if self.kind == "amount_off" and self.amount_off_fen < 1:
            raise ValueError("an amount_off coupon needs amount_off_fen >= 1")
        if self.kind == "percent_off" and self.percent_off < 1:
            raise ValueError("a percent_off coupon needs percent_off between 1 and 99")
        return self


class Campaign(Out):
    id: int
    name: str
    kind: Literal["amount_off", "percent_off"]
    amount_off_fen: int
    percent_off: int
    max_discount_fen: int | None
    threshold_fen: int
    audience: Literal["stores", "consumers"]
    audience_filter: AudienceOut
    scope: ScopeOut
    claim_starts_at: datetime
    claim_ends_at: datetime
    valid_days: int
    valid_until: datetime
    total_stock: int
    remaining: int
    per_holder_limit: int
    status: Literal["scheduled", "active", "ended"]


class CampaignPage(Out):
    items: list[Campaign]
    next_cursor: str | None


class CampaignQuery(Cursor):
    audience: Literal["stores", "consumers"] | None = None
    status: Literal["scheduled", "active", "ended"] | None = None


class CampaignPath(Model):
    campaign_id: Id = Field(examples=[1])


class ClaimRequest(Model):
    holder_type: HolderType
    holder_id: HolderId = Field(description="a store id, or the consumer id jiubot uses (e.g. member id)")


class CouponClaim(Out):
    id: int
    code: str
    campaign_id: int
    name: str
    kind: Literal["amount_off", "percent_off"]
    amount_off_fen: int
    percent_off: int
    max_discount_fen: int | None
    threshold_fen: int
    holder_type: HolderType
    holder_id: str
    status: ClaimStatus
    claimed_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None
    order_id: int | None
    redeemed_store_id: int | None


class ClaimPage(Out):
    items: list[CouponClaim]
    next_cursor: str | None


class ClaimQuery(Cursor):
    holder_type: HolderType
    holder_id: HolderId
    status: ClaimStatus | None = None


class ClaimPath(Model):
    claim_id: Id = Field(examples=[1])


class RedeemRequest(Model):
    store_id: Id = Field(description="the store where the consumer used the coupon")
