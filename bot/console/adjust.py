"""A manual points adjustment by an operator: one ledger row with the reason, and its audit entry,
in one transaction.

The form carries a random token made when it was shown; it is the ledger row's source id, so a
double submit (or a retry after a timeout) posts once: the second finds the row and changes
nothing, not even the audit log."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import audit
from bot.membership import ledger
from bot.membership.actions import lock_member
from bot.membership.errors import AccountClosed, InsufficientPoints
from bot.membership.ledger import EARN, REVERSE, Posting
from bot.membership.ledger_models import CONSUMPTION

SOURCE_KIND = "console_adjust"
MAX_DELTA = 100_000
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class AdjustRefused(Exception):
    """``field`` and message ``code`` (templates/console/messages.j2) for the form."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


@dataclass(frozen=True)
class AdjustForm:
    delta: int
    reason: str
    token: str

    @classmethod
    def parse(cls, delta: str, reason: str, token: str) -> AdjustForm:
        text = delta.strip().replace("＋", "+").replace("－", "-")
        if not re.fullmatch(r"[+-]?\d{1,7}", text):
            raise AdjustRefused("delta", "delta_not_a_number")
        value = int(text)
        if value == 0 or abs(value) > MAX_DELTA:
            raise AdjustRefused("delta", "delta_out_of_range")
        reason = " ".join(reason.split())
        if not 2 <= len(reason) <= 100:
            raise AdjustRefused("reason", "reason_required")
        if not _TOKEN.match(token):
            raise AdjustRefused("token", "form_expired")
        return cls(value, reason, token)


@dataclass(frozen=True)
class Adjusted:
    posted: bool  # False: this token already posted (a double submit), nothing changed
    balance: int


async def adjust(
    session: AsyncSession,
    who: audit.Who,
    member_id: int,
    form: AdjustForm,
    *,
    origin: audit.Origin,
    now: datetime,
) -> Adjusted:
    """Post ``form.delta`` consumption points to the member (positive: ``earn``, negative:
    ``reverse``) with the reason as the note; ``AdjustRefused`` leaves nothing written."""
    live = await lock_member(session, member_id)
    account = await ledger.account_for(session, who.tenant_id, CONSUMPTION, member_id=live, now=now)
    before = await ledger.balance(session, account)
    posting = Posting(
        account,
        form.delta,
        EARN if form.delta > 0 else REVERSE,
        SOURCE_KIND,
        form.token,
        f"{form.reason}（{who.username}）",
    )
    try:
        balance = await ledger.post_balance(session, who.tenant_id, posting, now=now)
    except InsufficientPoints:
        raise AdjustRefused("delta", "insufficient_points") from None
    except AccountClosed:
        raise AdjustRefused("delta", "account_closed") from None
    if balance is None:
        return Adjusted(False, before)
    await audit.record(
        session,
        who,
        "points.adjust",
        target_kind="member",
        target_id=live,
        before={"balance": before},
        after={"balance": balance, "delta": form.delta, "reason": form.reason},
        origin=origin,
        now=now,
    )
    return Adjusted(True, balance)
