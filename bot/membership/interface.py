"""Frozen dataclasses that leave the membership package."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MemberRef:
    id: int
    tenant_id: int
    role: str


@dataclass(frozen=True, slots=True)
class IdentityView:
    member_id: int
    appid: str
    openid: str
    unionid: str | None
    following: bool
    first_seen_at: datetime
    last_seen_at: datetime
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class ScanRequest:
    tenant_id: int
    member_id: int | None  # None only to refuse an invalid code before anyone logged in
    text: str  # what was scanned: the printed URL, the mini-program's q, or a bare code
    channel: str  # mp | h5 | oa
    ip: str | None = None
    device: str | None = None
    latitude: float | None = None  # mini-program location, when the user granted it
    longitude: float | None = None
    scanned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Product:
    brand: str
    name: str
    sku: str


# outcomes
CREDITED = "credited"  # first scan: genuine, points granted
MINE = "mine"  # the same member scanned his own bottle again: his earlier result
REPEAT = "repeat"  # someone else scanned it first: possible counterfeit or refill
REJECTED = "rejected"  # a genuine code refused (see reason)
INVALID = "invalid"  # not one of our codes (forged, truncated, tampered, unknown)
AGE_REQUIRED = "age_required"  # the member must confirm being of legal drinking age first


@dataclass(frozen=True, slots=True)
class ScanResult:
    outcome: str
    reason: str | None = None
    code: str | None = None
    product: Product | None = None
    points: int = 0
    balance: int | None = None
    tier: str | None = None
    tier_name: str | None = None
    tier_upgraded: bool = False
    first_scanned_at: datetime | None = None
    first_place: str | None = None
    repeat_count: int = 0
    diverted: bool = False
    store_reward: int = 0
    referral_points: int = 0
    campaign: str | None = None
    first_scan: bool = False  # the member's first genuine scan ever (scan-reward coupon)

    @property
    def genuine(self) -> bool:
        return self.outcome not in (INVALID,)
