"""Settings per tenant in the console: the loyalty knobs an operations manager tunes
(``bot.membership.loyalty_config``), shown to readers of settings and changed by managers of them.

Concurrent edits are detected, not overwritten: the form carries the version it was shown (the
row's ``updated_at``, or ``0`` before anything was saved), and the save is a compare-and-set on it
(an UPDATE ... WHERE updated_at = version, or an insert that must be the first), in the same
transaction as the change, the form's one-time token and the audit entry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import audit, form_tokens
from bot.db import insert_ignore
from bot.membership import loyalty_config
from bot.membership.errors import BadConfig
from bot.membership.ledger_models import LoyaltyConfigRow

# (field, kind, upper bound) of the knobs the page edits; ints are 0..bound
INTS: tuple[tuple[str, int], ...] = (
    ("scan_points_default", 100_000),
    ("store_reward_default", 100_000),
    ("daily_scan_cap", 1000),
    ("monthly_scan_cap", 10_000),
    ("referral_inviter_points", 100_000),
    ("referral_invitee_points", 100_000),
    ("referral_monthly_cap", 1000),
)
BOOLS = ("require_activation", "diversion_enabled", "flags_block_scans")
_NUMBER = re.compile(r"^\d{1,7}$")
_CAMPAIGN = re.compile(r"^[A-Za-z0-9_-]{0,64}$")


class SettingsRefused(Exception):
    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


@dataclass(frozen=True)
class SettingsState:
    values: dict[str, Any]
    version: str  # "0" before the first save, else the row's updated_at (ISO)


async def load(session: AsyncSession, tenant_id: int) -> SettingsState:
    config = await loyalty_config.load(session, tenant_id)
    row = await session.get(LoyaltyConfigRow, tenant_id)
    values = {name: getattr(config, name) for name, _ in INTS}
    values.update({name: getattr(config, name) for name in BOOLS})
    values["first_scan_coupon_campaign"] = config.first_scan_coupon_campaign
    return SettingsState(values, "0" if row is None else row.updated_at.isoformat())


def parse(raw: dict[str, str], checked: set[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, bound in INTS:
        text = raw.get(name, "").strip()
        if not _NUMBER.match(text) or int(text) > bound:
            raise SettingsRefused(name, f"int_0_{bound}")
        changes[name] = int(text)
    if changes["daily_scan_cap"] > changes["monthly_scan_cap"]:
        raise SettingsRefused("daily_scan_cap", "daily_over_monthly")
    for name in BOOLS:
        changes[name] = name in checked
    campaign = raw.get("first_scan_coupon_campaign", "").strip()
    if not _CAMPAIGN.match(campaign):
        raise SettingsRefused("first_scan_coupon_campaign", "campaign_code_invalid")
    changes["first_scan_coupon_campaign"] = campaign
    return changes


def _version(text: str) -> datetime | None:
    if text == "0":
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise SettingsRefused("form", "form_expired") from None
    if value.tzinfo is None:
        raise SettingsRefused("form", "form_expired")
    return value


async def save(
    session: AsyncSession,
    who: audit.Who,
    changes: dict[str, Any],
    *,
    version: str,
    form_token: str,
    origin: audit.Origin,
    now: datetime,
) -> bool:
    """Apply ``changes`` if the stored version is still ``version`` (else ``stale``); False when
    this form was saved already (nothing changed)."""
    expected = _version(version)
    try:
        token = form_tokens.check(form_token)
    except form_tokens.TokenMissing:
        raise SettingsRefused("form", "form_expired") from None
    if not await form_tokens.claim(
        session, who.tenant_id, token, "settings.update", operator_id=who.operator_id, now=now
    ):
        return False
    before = (await load(session, who.tenant_id)).values
    if expected is None:
        won = await session.execute(
            insert_ignore(
                session,
                LoyaltyConfigRow.__table__,
                [{"tenant_id": who.tenant_id, "data": "{}", "updated_at": now}],
                index_elements=["tenant_id"],
            ).returning(LoyaltyConfigRow.tenant_id)
        )
    else:
        won = await session.execute(
            update(LoyaltyConfigRow)
            .where(LoyaltyConfigRow.tenant_id == who.tenant_id, LoyaltyConfigRow.updated_at == expected)
            .values(updated_at=now)
            .returning(LoyaltyConfigRow.tenant_id)
            .execution_options(synchronize_session=False)
        )
    if won.scalar_one_or_none() is None:
        raise SettingsRefused("form", "stale")
    try:
        await loyalty_config.update(session, who.tenant_id, **changes)
    except BadConfig:
        raise SettingsRefused("form", "settings_invalid") from None
    changed = {k: v for k, v in changes.items() if before.get(k) != v}
    await audit.record(
        session,
        who,
        "settings.update",
        target_kind="loyalty_config",
        target_id=who.tenant_id,
        before={k: before.get(k) for k in changed},
        after=changed,
        origin=origin,
        now=now,
    )
    return True
