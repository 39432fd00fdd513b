"""Points accounts and postings (ARCHITECTURE.md mechanism 6).

``post`` is the only way a balance changes: it appends the ledger row (unique on what caused
it) and moves the balance with one conditional ``UPDATE ... SET balance = balance + :d WHERE
balance + :d >= 0`` in the caller's transaction. Nothing reads a balance to write it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore, is_postgres, utcnow
from bot.membership.errors import AccountClosed, InsufficientPoints
from bot.membership.ledger_models import KINDS, PointsAccount, PointsLedger

EARN = "earn"  # counts for tiers and expiry freshness
REVERSE = "reverse"  # takes an earning back (order cancelled)
SPEND = "spend"
REFUND = "refund"
EXPIRE = "expire"
CATEGORIES = (EARN, REVERSE, SPEND, REFUND, EXPIRE)


@dataclass(frozen=True, slots=True)
class Posting:
    account_id: int
    delta: int
    category: str
    source_kind: str
    source_id: str
    note: str = ""


async def account_for(
    session: AsyncSession,
    tenant_id: int,
    kind: str,
    *,
    member_id: int | None = None,
    store_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """The id of the holder's account of ``kind``, created on first use (insert-or-ignore)."""
    if kind not in KINDS:
        raise ValueError(f"unknown points kind {kind!r}")
    if (member_id is None) == (store_id is None):
        raise ValueError("an account belongs to a member or a store")
    holder = PointsAccount.member_id if member_id is not None else PointsAccount.store_id
    holder_id = member_id if member_id is not None else store_id
    query = select(PointsAccount.id).where(
        PointsAccount.tenant_id == tenant_id, PointsAccount.kind == kind, holder == holder_id
    )
    found = (await session.execute(query)).scalar_one_or_none()
    if found is not None:
        return found
    now = now or utcnow()
    row = {
        "tenant_id": tenant_id,
        "kind": kind,
        "member_id": member_id,
        "store_id": store_id,
        "balance": 0,
        "status": "open",
        "created_at": now,
        "updated_at": now,
    }
    columns = ["tenant_id", "kind", "member_id" if member_id is not None else "store_id"]
    await session.execute(insert_ignore(session, PointsAccount.__table__, [row], index_elements=columns))
    return (await session.execute(query)).scalar_one()


async def post(
    session: AsyncSession, tenant_id: int, posting: Posting, *, now: datetime | None = None
) -> bool:
    """Append ``posting`` and move the balance. False when its source already posted (nothing
    changes); ``InsufficientPoints`` / ``AccountClosed`` leave the transaction as it was."""
    return await post_balance(session, tenant_id, posting, now=now) is not None


async def post_balance(
    session: AsyncSession, tenant_id: int, posting: Posting, *, now: datetime | None = None
) -> int | None:
    """``post``, answering the account's new balance (None when the source already posted)."""
    now = now or utcnow()
    table = PointsLedger.__table__
    stmt = insert_ignore(
        session,
        table,
        [
            {
                "tenant_id": tenant_id,
                "account_id": posting.account_id,
                "origin_account_id": posting.account_id,
                "delta": posting.delta,
                "category": posting.category,
                "source_kind": posting.source_kind,
                "source_id": posting.source_id,
                "note": posting.note[:200],
                "created_at": now,
            }
        ],
        index_elements=["tenant_id", "source_kind", "source_id"],
    ).returning(table.c.id)
    ledger_id = (await session.execute(stmt)).scalar_one_or_none()
    if ledger_id is None:
        return None
    moved = await session.execute(
        update(PointsAccount)
        .where(
            PointsAccount.id == posting.account_id,
            PointsAccount.status == "open",
            PointsAccount.balance + posting.delta >= 0,
        )
        .values(balance=PointsAccount.balance + posting.delta, updated_at=now)
        .returning(PointsAccount.balance)
        .execution_options(synchronize_session=False)
    )
    new_balance = moved.scalar_one_or_none()
    if new_balance is not None:
        return int(new_balance)
    # Undo our own uncommitted row so a caller that catches the error keeps a true ledger.
    await session.execute(table.delete().where(table.c.id == ledger_id))
    status = (
        await session.execute(select(PointsAccount.status).where(PointsAccount.id == posting.account_id))
    ).scalar_one()
    if status != "open":
        raise AccountClosed(f"account {posting.account_id} is {status}", account_id=posting.account_id)
    raise InsufficientPoints(posting.account_id, -posting.delta)


async def lock_account(session: AsyncSession, account_id: int) -> PointsAccount:
    """Row-lock an account (PostgreSQL; SQLite transactions are already serial)."""
    stmt = select(PointsAccount).where(PointsAccount.id == account_id)
    if is_postgres(session):
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one()


async def balance(session: AsyncSession, account_id: int) -> int:
    stmt = select(PointsAccount.balance).where(PointsAccount.id == account_id)
    return int((await session.execute(stmt)).scalar_one())


async def ledger_sum(session: AsyncSession, account_id: int, *, until: datetime | None = None) -> int:
    stmt = select(func.coalesce(func.sum(PointsLedger.delta), 0)).where(PointsLedger.account_id == account_id)
    if until is not None:
        stmt = stmt.where(PointsLedger.created_at <= until)
    return int((await session.execute(stmt)).scalar_one())


@dataclass(frozen=True, slots=True)
class Mismatch:
    account_id: int
    tenant_id: int
    kind: str
    balance: int
    ledger_sum: int


async def audit(session: AsyncSession, tenant_id: int | None = None) -> tuple[int, list[Mismatch]]:
    """(accounts checked, accounts whose balance differs from the sum of their ledger)."""
    total = func.coalesce(func.sum(PointsLedger.delta), 0)
    stmt = (
        select(PointsAccount.id, PointsAccount.tenant_id, PointsAccount.kind, PointsAccount.balance, total)
        .outerjoin(PointsLedger, PointsLedger.account_id == PointsAccount.id)
        .group_by(PointsAccount.id, PointsAccount.tenant_id, PointsAccount.kind, PointsAccount.balance)
    )
    count = select(func.count()).select_from(PointsAccount)
    if tenant_id is not None:
        stmt = stmt.where(PointsAccount.tenant_id == tenant_id)
        count = count.where(PointsAccount.tenant_id == tenant_id)
    bad = [
        Mismatch(int(r[0]), int(r[1]), r[2], int(r[3]), int(r[4]))
        for r in (await session.execute(stmt.having(PointsAccount.balance != total))).all()
    ]
    negative = (await session.execute(select(PointsAccount.id).where(PointsAccount.balance < 0))).scalars()
    for account_id in negative:  # impossible with the CHECK constraint; audit it anyway
        row = await session.get(PointsAccount, account_id)
        assert row is not None
        bad.append(Mismatch(row.id, row.tenant_id, row.kind, row.balance, await ledger_sum(session, row.id)))
    return int((await session.execute(count)).scalar_one()), bad
