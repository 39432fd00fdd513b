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
