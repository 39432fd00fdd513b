"""Coupon campaigns through the tenant's core (``PageContext.core()``): who sees and who creates which.

A campaign's place in the org tree is its audience: no region filter is HQ's (``/``), regions
``(a, b)`` put it at ``/ra/`` and ``/rb/``. Reading it needs ``can(read)`` at one of those paths
(the coupons row of the policy reads by lineage: a region reads HQ's campaigns and its own, not
another region's); creating one needs ``can(manage)`` at every one of them, and a region in the
form must be a region of the actor's subtree (checked against the mirrored org tree, so another
tenant's or another region's id is refused).

A create is idempotent twice over: the core keeps the form's token as its Idempotency-Key (a double
submit gets the same campaign back), and the console claims the token with the audit entry (one
entry per campaign). The core has no edit of a campaign, so there is no version to check."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend_client import Campaign
from bot.console import audit, form_tokens
from bot.console.policy import ROOT, Actor, Resource, can
from bot.console.repository import get_node

SHANGHAI = ZoneInfo("Asia/Shanghai")
KINDS = ("amount_off", "percent_off")
AUDIENCES = ("consumers", "stores")
_ID = re.compile(r"^\d{1,18}$")


class CampaignRefused(Exception):
    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


def paths_of(region_ids: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"/r{i}/" for i in region_ids) or (ROOT,)


def visible(actor: Actor, campaign: Campaign) -> bool:
    return any(
        can(actor, "read", Resource("coupons", actor.tenant_id, p))
        for p in paths_of(campaign.audience_filter.region_ids)
    )


def may_create(actor: Actor, region_ids: tuple[int, ...]) -> bool:
    return all(can(actor, "manage", Resource("coupons", actor.tenant_id, p)) for p in paths_of(region_ids))


def _fen(text: str, field: str, *, required: bool) -> int:
    text = text.strip().replace("¥", "").replace("，", "").replace(",", "")
    if not text:
        if required:
            raise CampaignRefused(field, "amount_required")
        return 0
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CampaignRefused(field, "amount_invalid") from None
    if value < 0 or value > 1_000_000 or value != value.quantize(Decimal("0.01")):
        raise CampaignRefused(field, "amount_invalid")
    return int(value * 100)


def _int(text: str, field: str, lo: int, hi: int) -> int:
    text = text.strip()
    if not re.fullmatch(r"\d{1,9}", text) or not lo <= int(text) <= hi:
        raise CampaignRefused(field, f"{field}_invalid")
    return int(text)


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CampaignRefused(field, "date_invalid") from None


@dataclass(frozen=True)
class CampaignForm:
    name: str
    kind: str
    amount_off_fen: int
    percent_off: int
    max_discount_fen: int | None
    threshold_fen: int
    audience: str
    region_id: int | None
    claim_starts_at: datetime
    claim_ends_at: datetime
    valid_days: int
    valid_until: datetime
    total_stock: int
    per_holder_limit: int
    token: str

    @classmethod
    def parse(cls, raw: dict[str, str], *, today: date) -> CampaignForm:
        name = " ".join(raw.get("name", "").split())
        if not 2 <= len(name) <= 60:
            raise CampaignRefused("name", "campaign_name_required")
        kind = raw.get("kind", "")
        if kind not in KINDS:
            raise CampaignRefused("kind", "kind_unknown")
        amount = _fen(raw.get("amount", ""), "amount", required=kind == "amount_off")
        percent = _int(raw.get("percent", "") or "0", "percent", 0, 99)
        if kind == "amount_off" and amount < 1:
            raise CampaignRefused("amount", "amount_required")
        if kind == "percent_off" and percent < 1:
            raise CampaignRefused("percent", "percent_invalid")
        cap = _fen(raw.get("max_discount", ""), "max_discount", required=False) or None
        threshold = _fen(raw.get("threshold", ""), "threshold", required=False)
        audience = raw.get("audience", "")
        if audience not in AUDIENCES:
            raise CampaignRefused("audience", "audience_unknown")
        region_text = raw.get("region", "").strip()
        if region_text and not _ID.match(region_text):
            raise CampaignRefused("region", "region_outside_scope")
        starts, ends = _day(raw.get("starts", ""), "starts"), _day(raw.get("ends", ""), "ends")
        until = _day(raw.get("valid_until", ""), "valid_until")
        if starts < today:
            raise CampaignRefused("starts", "starts_in_past")
        if ends < starts:
            raise CampaignRefused("ends", "ends_before_starts")
        if until < ends:
            raise CampaignRefused("valid_until", "valid_until_before_ends")
        try:
            token = form_tokens.check(raw.get("token", ""))
        except form_tokens.TokenMissing:
            raise CampaignRefused("token", "form_expired") from None
        return cls(
            name,
            kind,
            amount if kind == "amount_off" else 0,
            percent if kind == "percent_off" else 0,
            cap if kind == "percent_off" else None,
            threshold,
            audience,
            int(region_text) if region_text else None,
            datetime.combine(starts, time(0, 0), SHANGHAI),
            datetime.combine(ends, time(23, 59, 59), SHANGHAI),
            _int(raw.get("valid_days", ""), "valid_days", 1, 3650),
            datetime.combine(until, time(23, 59, 59), SHANGHAI),
            _int(raw.get("stock", ""), "stock", 1, 10_000_000),
            _int(raw.get("per_holder", "") or "1", "per_holder", 1, 1000),
            token,
        )

    @property
    def region_ids(self) -> tuple[int, ...]:
        return () if self.region_id is None else (self.region_id,)

    def definition(self) -> dict[str, Any]:
        """The core's ``CampaignCreate`` body."""
        return {
            "name": self.name,
            "kind": self.kind,
            "amount_off_fen": self.amount_off_fen,
            "percent_off": self.percent_off,
            "max_discount_fen": self.max_discount_fen,
            "threshold_fen": self.threshold_fen,
            "audience": self.audience,
            "audience_filter": {"region_ids": list(self.region_ids), "tiers": []},
            "claim_starts_at": self.claim_starts_at.isoformat(),
            "claim_ends_at": self.claim_ends_at.isoformat(),
            "valid_days": self.valid_days,
            "valid_until": self.valid_until.isoformat(),
            "total_stock": self.total_stock,
            "per_holder_limit": self.per_holder_limit,
        }


async def check_scope(session: AsyncSession, actor: Actor, form: CampaignForm) -> None:
    """The region is one of the actor's subtree, and he may create a campaign there."""
    if form.region_id is not None and await get_node(session, actor, "region", form.region_id) is None:
        raise CampaignRefused("region", "region_outside_scope")
    if not may_create(actor, form.region_ids):
        raise CampaignRefused("region", "region_outside_scope")


def idempotency_key(form: CampaignForm) -> str:
    return f"console-campaign:{form.token}"


async def record_created(
    session: AsyncSession,
    who: audit.Who,
    form: CampaignForm,
    campaign: Campaign,
    *,
    origin: audit.Origin,
    now: datetime,
) -> bool:
    """The audit entry of a campaign the core created; False if this form's entry exists."""
    if not await form_tokens.claim(
        session, who.tenant_id, form.token, "coupon.campaign.create", operator_id=who.operator_id, now=now
    ):
        return False
    await audit.record(
        session,
        who,
        "coupon.campaign.create",
        target_kind="coupon_campaign",
        target_id=campaign.id,
        after=form.definition(),
        origin=origin,
        now=now,
    )
    return True
