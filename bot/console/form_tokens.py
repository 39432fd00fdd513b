"""One-time form tokens: every state-changing console form (other than the points adjustment,
whose token is its ledger row's source id) carries a random token made when the form was shown.
``claim`` inserts it in the caller's transaction (``ON CONFLICT DO NOTHING`` on the primary key):
the first submit claims it and makes its change; a double submit, or a retry after a timeout,
finds it taken and changes nothing. A refused form rolls back, so its token stays unclaimed and
the corrected form posts with the same token."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.models import FormToken
from bot.db import insert_ignore

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class TokenMissing(ValueError):
    """The form came without a well-formed token (an old page, or a hand-made request)."""


def new() -> str:
    return secrets.token_urlsafe(16)


def check(token: str) -> str:
    token = token.strip()
    if not _TOKEN.match(token):
        raise TokenMissing(token[:16])
    return token


async def claim(
    session: AsyncSession, tenant_id: int, token: str, action: str, *, operator_id: int | None, now: datetime
) -> bool:
    """True when this submit is the first with ``token`` (its change should go ahead)."""
    result = await session.execute(
        insert_ignore(
            session,
            FormToken.__table__,
            [
                {
                    "tenant_id": tenant_id,
                    "token": check(token),
                    "action": action[:48],
                    "operator_id": operator_id,
                    "created_at": now,
                }
            ],
            index_elements=["tenant_id", "token"],
        ).returning(FormToken.token)
    )
    return result.scalar_one_or_none() is not None
