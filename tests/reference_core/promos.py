"""Promotion and campaign definitions for tests (created through the API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.reference_core.helpers import Api


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def window(start_hours: float = -1, end_hours: float = 24) -> dict:
    now = datetime.now(UTC)
    return {
        "starts_at": iso(now + timedelta(hours=start_hours)),
        "ends_at": iso(now + timedelta(hours=end_hours)),
    }


async def create_promotion(api: Api, kind: str, rules: dict, **extra) -> dict:
    body = {"kind": kind, "name": f"{kind} test", "rules": rules, **window(), **extra}
    status, promo = await api.post("/v1/promotions", body)
    assert status == 201, promo
    return promo


async def create_campaign(api: Api, **overrides) -> dict:
    now = datetime.now(UTC)
    body = {
        "name": "测试券",
        "kind": "amount_off",
        "amount_off_fen": 1000,
        "audience": "stores",
        "claim_starts_at": iso(now - timedelta(hours=1)),
        "claim_ends_at": iso(now + timedelta(days=1)),
        "valid_days": 30,
        "valid_until": iso(now + timedelta(days=60)),
        "total_stock": 100,
        "per_holder_limit": 1,
    }
    body.update(overrides)
    status, campaign = await api.post("/v1/coupon-campaigns", body)
    assert status == 201, campaign
    return campaign
