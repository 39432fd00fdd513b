"""Idempotency-Key: the same key with the same body returns the first outcome; another body is 409.

The key row is inserted at the start of the transaction that performs the effects and filled with
the response before commit, so there is never a visible "in progress" state: on PostgreSQL a second
request with the same key waits on the unique index until the first commits (then replays its
response) or rolls back (then runs itself); SQLite serializes writers with BEGIN IMMEDIATE.
A final refusal (out of stock, credit limit...) rolls the effects back and is then recorded on its
own, unless another attempt with the key committed first, whose outcome is then returned instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reference_core.db import TooMuchContention, insert_ignore, run_transaction
from reference_core.errors import FINAL_REFUSALS, CoreError, ErrorCode
from reference_core.models import IdempotencyRecord


@dataclass(frozen=True)
class IdemContext:
    tenant_id: int
    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class Deferred:
    """A result whose contended updates run last: the response is known and stored first, then
    ``finish`` takes the hot rows (stock, coupons left) just before COMMIT, so their row locks are
    held for two round trips rather than for the whole transaction. ``finish`` may refuse (raise)
    or raise RetryTransaction; either way nothing of the transaction remains."""

    view: BaseModel
    finish: Callable[[AsyncSession], Awaitable[None]]


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes
    replayed: bool = False


def request_hash(payload: object) -> str:
    """Hash of the parsed request, so key order and whitespace do not make a body 'different'."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _serialize(result: BaseModel) -> bytes:
    return result.__pydantic_serializer__.to_json(result)


async def _claim(session: AsyncSession, ctx: IdemContext) -> Outcome | None:
    """Insert the key row; if it exists already, return its stored outcome (or 409)."""
    table = IdempotencyRecord.__table__
    inserted = await session.execute(
        insert_ignore(
            session,
            table,
            {
                "tenant_id": ctx.tenant_id,
                "scope": ctx.scope,
                "key": ctx.key,
                "request_hash": ctx.request_hash,
                "status_code": 0,
                "response": "",
            },
            index_elements=["tenant_id", "scope", "key"],
        ).returning(table.c.id)
    )
    if inserted.first() is not None:  # rowcount is -1 with RETURNING on psycopg; the row is the truth
        return None
    row = (
        await session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.tenant_id == ctx.tenant_id,
                IdempotencyRecord.scope == ctx.scope,
                IdempotencyRecord.key == ctx.key,
            )
        )
    ).scalar_one()
    if row.request_hash != ctx.request_hash:
        raise CoreError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was used with a different request",
            {"idempotency_key": ctx.key},
        )
    return Outcome(row.status_code, row.response.encode(), replayed=True)


async def _store(session: AsyncSession, ctx: IdemContext, status: int, body: bytes) -> None:
    await session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.tenant_id == ctx.tenant_id,
            IdempotencyRecord.scope == ctx.scope,
            IdempotencyRecord.key == ctx.key,
        )
        .values(status_code=status, response=body.decode())
    )


async def run_idempotent(
    sessions: async_sessionmaker[AsyncSession],
    ctx: IdemContext | None,
    work: Callable[[AsyncSession], Awaitable[BaseModel | Deferred]],
    *,
    status: int,
    after_commit: Callable[[], None] | None = None,
) -> Outcome:
    async def transaction(session: AsyncSession) -> Outcome:
        if ctx is not None:
            previous = await _claim(session, ctx)
            if previous is not None:
                return previous
        result = await work(session)
        view, finish = (result.view, result.finish) if isinstance(result, Deferred) else (result, None)
        body = _serialize(view)
        if ctx is not None:
            await _store(session, ctx, status, body)
        if finish is not None:
            await finish(session)
        return Outcome(status, body)

    try:
        outcome = await run_transaction(sessions, transaction)
    except TooMuchContention:
        raise CoreError(
            ErrorCode.BUSY, "too many buyers at once; retry with the same Idempotency-Key"
        ) from None
    except CoreError as exc:
        if ctx is None or exc.code not in FINAL_REFUSALS:
            raise
        outcome = await _record_refusal(sessions, ctx, exc)
        if not outcome.replayed:
            raise
        return outcome
    if not outcome.replayed and after_commit is not None:
        after_commit()
    return outcome


async def _record_refusal(
    sessions: async_sessionmaker[AsyncSession], ctx: IdemContext, exc: CoreError
) -> Outcome:
    body = orjson.dumps(exc.body())

    async def transaction(session: AsyncSession) -> Outcome:
        previous = await _claim(session, ctx)
        if previous is not None:
            return previous  # another attempt with this key finished first: its outcome stands
        await _store(session, ctx, exc.status, body)
        return Outcome(exc.status, body)

    return await run_transaction(sessions, transaction)
