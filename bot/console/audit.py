"""The append-only audit log of operator actions: write one entry, search with keyset pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.models import AuditEntry
from bot.db import utcnow


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an action came from: the HTTP request, or the CLI."""

    ip: str = ""
    user_agent: str = ""


CLI = Origin("", "jiubot cli")


@dataclass(frozen=True, slots=True)
class Who:
    """The acting operator as the log keeps it (None id for the CLI)."""

    tenant_id: int
    operator_id: int | None
    username: str
    scope_kind: str = "tenant"
    scope_core_id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditView:
    id: int
    operator_id: int | None
    operator_username: str
    action: str
    target_kind: str
    target_id: str
    before: str
    after: str
    ip: str
    user_agent: str
    at: datetime


def _json(value: Any) -> str:
    if value is None:
        return ""
    return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS).decode()


async def record(
    session: AsyncSession,
    who: Who,
    action: str,
    *,
    target_kind: str = "",
    target_id: object = "",
    before: Any = None,
    after: Any = None,
    origin: Origin = CLI,
    now: datetime | None = None,
) -> None:
    """Append one entry in the caller's transaction (so it commits with the change it records)."""
    session.add(
        AuditEntry(
            tenant_id=who.tenant_id,
            operator_id=who.operator_id,
            operator_username=who.username[:64],
            scope_kind=who.scope_kind,
            scope_core_id=who.scope_core_id,
            action=action[:48],
            target_kind=target_kind[:32],
            target_id=str(target_id)[:64],
            before=_json(before),
            after=_json(after),
            ip=origin.ip[:45],
            user_agent=origin.user_agent[:300],
            at=now or utcnow(),
        )
    )
    await session.flush()


async def search(
    session: AsyncSession,
    tenant_id: int,
    *,
    visible: ColumnElement[bool] | None = None,
    text: str = "",
    action: str = "",
    before_id: int | None = None,
    limit: int = 50,
) -> list[AuditView]:
    """Newest first; ``before_id`` is the keyset cursor (the last id of the previous page).
    ``visible`` narrows to what the reader may see (the policy's clause over ``AuditEntry``)."""
    stmt = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if visible is not None:
        stmt = stmt.where(visible)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    text = text.strip()
    if text:
        stmt = stmt.where(
            or_(
                AuditEntry.operator_username == text.lower(),
                AuditEntry.target_id == text,
                AuditEntry.ip == text,
                AuditEntry.action == text,
            )
        )
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    stmt = stmt.order_by(AuditEntry.id.desc()).limit(limit)
    return [
        AuditView(
            r.id,
            r.operator_id,
            r.operator_username,
            r.action,
            r.target_kind,
            r.target_id,
            r.before,
            r.after,
            r.ip,
            r.user_agent,
            r.at,
        )
        for r in (await session.execute(stmt)).scalars()
    ]
