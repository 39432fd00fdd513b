"""Resolving fraud and diversion alerts from the console: a conditional status change (only an
open alert resolves, so two operators resolving at once change it once) and its audit entry with
the operator's note, in one transaction; plus the open alerts per province for the chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import audit, scope
from bot.console.policy import Actor
from bot.membership.code_models import DiversionAlert, FraudFlag

KINDS: dict[str, type[DiversionAlert] | type[FraudFlag]] = {"diversion": DiversionAlert, "fraud": FraudFlag}


class ResolveRefused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def clean_note(note: str) -> str:
    note = " ".join(note.split())
    if not 2 <= len(note) <= 200:
        raise ResolveRefused("note_required")
    return note


async def resolve(
    session: AsyncSession,
    who: audit.Who,
    kind: str,
    alert_id: int,
    note: str,
    *,
    origin: audit.Origin,
    now: datetime,
) -> None:
    """Resolve an alert the caller already found in the actor's scope; ``already_resolved`` when
    someone else was first (nothing written)."""
    model = KINDS[kind]
    moved = await session.execute(
        update(model)
        .where(model.id == alert_id, model.tenant_id == who.tenant_id, model.status == "open")
        .values(status="resolved")
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    if moved.scalar_one_or_none() is None:
        raise ResolveRefused("already_resolved")
    await audit.record(
        session,
        who,
        f"alert.resolve.{kind}",
        target_kind=kind,
        target_id=alert_id,
        before={"status": "open"},
        after={"status": "resolved", "note": note},
        origin=origin,
        now=now,
    )


@dataclass(frozen=True)
class ProvinceCount:
    province: str
    count: int


async def open_by_province(session: AsyncSession, actor: Actor) -> list[ProvinceCount]:
    """Every province with open alerts in the actor's scope, most first (at most 34 and the
    unknown place)."""
    rows = await session.execute(
        select(DiversionAlert.found_province, func.count())
        .where(scope.alerts_clause(actor), DiversionAlert.status == "open")
        .group_by(DiversionAlert.found_province)
        .order_by(func.count().desc(), DiversionAlert.found_province)
    )
    return [ProvinceCount(p, int(n)) for p, n in rows.all()]
