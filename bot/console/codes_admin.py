"""Activating and voiding serial ranges of a code batch from the console: the form, checked
against the batch and the actor's scope (a store must be one of his), then one range row, its
one-time token and its audit entry in one transaction (``bot.membership.batches.mark_range``).

Ranges are append-only events (the newest covering a serial decides its state), so there is no
edited record and no version to check: two operators marking the same range both take effect in
order, and the audit log shows both."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import audit, form_tokens, scope
from bot.console.policy import Actor
from bot.console.repository_codes import BatchView
from bot.membership import batches
from bot.membership.errors import BadRange
from bot.membership.models import CodeRange, Store

ACTIONS = ("activate", "void")
_SERIAL = re.compile(r"^\d{1,9}$")
_STORE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class CodesRefused(Exception):
    """``field`` of the form and message ``code`` (templates/console/messages.j2)."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


def serial(text: str, field: str, *, default: int | None = None) -> int:
    text = text.strip()
    if not text and default is not None:
        return default
    if not _SERIAL.match(text):
        raise CodesRefused(field, "serial_not_a_number")
    return int(text)


@dataclass(frozen=True)
class RangeForm:
    action: str
    first: int
    last: int
    store_code: str | None
    note: str
    token: str

    @classmethod
    def parse(
        cls, batch: BatchView, *, action: str, first: str, last: str, store: str, note: str, token: str
    ) -> RangeForm:
        if action not in ACTIONS:
            raise CodesRefused("action", "range_action_unknown")
        lo = serial(first, "first", default=1)
        hi = serial(last, "last", default=batch.size)
        if not 1 <= lo <= hi <= batch.size:
            raise CodesRefused("last", "range_outside_batch")
        store_code = store.strip() or None
        if store_code is not None and (action != "activate" or not _STORE.match(store_code)):
            raise CodesRefused("store", "store_unknown")
        note = " ".join(note.split())
        if action == "void" and not 2 <= len(note) <= 200:
            raise CodesRefused("note", "void_reason_required")
        if len(note) > 200:
            raise CodesRefused("note", "note_too_long")
        try:
            token = form_tokens.check(token)
        except form_tokens.TokenMissing:
            raise CodesRefused("token", "form_expired") from None
        return cls(action, lo, hi, store_code, note, token)


async def mark(
    session: AsyncSession,
    actor: Actor,
    who: audit.Who,
    batch: BatchView,
    form: RangeForm,
    *,
    origin: audit.Origin,
    now: datetime,
) -> bool:
    """Mark the range; False when this form's token already did (nothing written). The batch
    must come from the actor's scoped read; the store, if any, must be in his subtree."""
    if form.store_code is not None:
        found = await session.scalar(
            select(Store.id).where(scope.stores_clause(actor), Store.code == form.store_code)
        )
        if found is None:
            raise CodesRefused("store", "store_unknown")
    action = f"codes.{form.action}"
    if not await form_tokens.claim(
        session, who.tenant_id, form.token, action, operator_id=who.operator_id, now=now
    ):
        return False
    try:
        range_id = await batches.mark_range(
            session,
            who.tenant_id,
            batch.id,
            form.first,
            form.last,
            form.action,
            store_code=form.store_code,
            note=form.note,
            now=now,
        )
    except BadRange:
        raise CodesRefused("last", "range_outside_batch") from None
    await audit.record(
        session,
        who,
        action,
        target_kind="batch",
        target_id=batch.id,
        after={
            "range_id": range_id,
            "first": form.first,
            "last": form.last,
            "store": form.store_code,
            "note": form.note,
        },
        origin=origin,
        now=now,
    )
    return True


@dataclass(frozen=True)
class RangeView:
    id: int
    first: int
    last: int
    action: str
    store_code: str | None
    distributor_code: str | None
    note: str
    created_at: datetime


async def ranges(session: AsyncSession, tenant_id: int, batch_id: int, limit: int = 50) -> list[RangeView]:
    """The batch's newest range events (a batch has few: shipments and voids are ranges)."""
    rows = await session.scalars(
        select(CodeRange)
        .where(CodeRange.tenant_id == tenant_id, CodeRange.batch_id == batch_id)
        .order_by(CodeRange.id.desc())
        .limit(limit)
    )
    return [
        RangeView(
            r.id,
            r.first_serial,
            r.last_serial,
            r.action,
            r.store_code,
            r.distributor_code,
            r.note,
            r.created_at,
        )
        for r in rows.all()
    ]


@dataclass(frozen=True)
class GenerateForm:
    start: int
    count: int
    with_zip: bool
    token: str

    @classmethod
    def parse(
        cls,
        batch: BatchView,
        *,
        start: str,
        count: str,
        with_zip: bool,
        token: str,
        max_csv: int,
        max_zip: int,
    ) -> GenerateForm:
        first = serial(start, "start", default=1)
        if not 1 <= first <= batch.size:
            raise CodesRefused("start", "range_outside_batch")
        n = serial(count, "count", default=batch.size - first + 1)
        if n < 1 or first + n - 1 > batch.size:
            raise CodesRefused("count", "range_outside_batch")
        if n > (max_zip if with_zip else max_csv):
            raise CodesRefused("count", "zip_too_many" if with_zip else "csv_too_many")
        try:
            token = form_tokens.check(token)
        except form_tokens.TokenMissing:
            raise CodesRefused("token", "form_expired") from None
        return cls(first, n, with_zip, token)


async def claim_generation(
    session: AsyncSession,
    who: audit.Who,
    batch: BatchView,
    form: GenerateForm,
    *,
    origin: audit.Origin,
    now: datetime,
) -> bool:
    """Claim the form's token and log the export (a print file is a sensitive artefact); False
    when this form already started its job."""
    if not await form_tokens.claim(
        session, who.tenant_id, form.token, "codes.generate", operator_id=who.operator_id, now=now
    ):
        return False
    await audit.record(
        session,
        who,
        "codes.generate",
        target_kind="batch",
        target_id=batch.id,
        after={"start": form.start, "count": form.count, "zip": form.with_zip, "job": form.token},
        origin=origin,
        now=now,
    )
    return True
