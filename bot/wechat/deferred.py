"""Deferred replies that outlive their process: a row per acked message whose reply is owed.

When a handler misses the budget, WeChat is acked and will not ask again; the reply then exists
only in the process running the handler. So before the dedupe lease says "deferred" (and before
the ack), the pipeline writes a ``deferred_replies`` row with what is needed to do the work again:
the inbound message, its app and dedupe key, the member. The row's ``owner`` (a token, also that
run's member-lock token) renews ``lease_until`` while the handler runs and marks the row done once
the reply (or, when the handler failed, the error text) went to the notifier. A row still pending
after its lease is an owner that died (SIGKILL, OOM, a lost host): ``jiubot worker`` claims it
(``claim``: a conditional UPDATE on the previous owner, under ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL) and runs the message through the dispatcher again (bot/wechat/recovery.py).

**The re-run rule.** Re-running a message is what WeChat itself does when a handler fails (the
lease is released and the retry runs it again, ARCHITECTURE.md mechanism 1), so handlers already
must be safe to run twice, and the recovery relies on exactly that: every side effect carries an
idempotency key derived from what caused it (mechanism 3): the message's dedupe key (MsgId), a
flow + cart version (orders: the core's Idempotency-Key), a bottle code id. A handler that did its
effects and then died has them applied once; the re-run finds them done (an insert-or-ignore, an
idempotent core call) and answers from that. The late reply itself is keyed by
``appid:dedupe_key:late<i>`` (``error`` for the failure text) in the notifier (Redis ``SET NX``
plus the outbound log's unique key), the same keys the owner used: a reply the dead owner already
sent is not sent again. What is not covered: a send the owner began and died during (WeChat's
customer-service API has no idempotency key, so such a send is at most once, as in the notifier).

A row whose message was already re-run ``MAX_RUNS`` times (a message that kills its process)
is not run again: the user gets the error text and the row is closed ``abandoned``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import orjson
import structlog
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import insert_ignore, is_postgres, rowcount, session_scope, utcnow
from bot.messages import Inbound
from bot.wechat.models import DeferredReply

log = structlog.get_logger(__name__)

MAX_RUNS = 3
# A handler still running at this share of its budget gets its row written then, so that the
# write is done when WeChat must be acked: handlers overrun when the machine is loaded, which is
# when a commit is slow too (the production test measured writes of over 0.8 s at load 14).
OWE_FROM = 0.5
T = TypeVar("T")


def encode_message(message: Inbound) -> str:
    return orjson.dumps(
        {
            "to_user": message.to_user,
            "openid": message.openid,
            "create_time": message.create_time,
            "msg_type": message.msg_type,
            "msg_id": message.msg_id,
            "event": message.event,
            "event_key": message.event_key,
            "content": message.content,
            "fields": dict(message.fields),
        }
    ).decode()


def decode_message(appid: str, raw: str) -> Inbound:
    data: dict[str, Any] = orjson.loads(raw)
    return Inbound(appid=appid, **data)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A deferred reply this process now owns (``owner``); ``previous`` is the dead owner's
    token, whose member lock may still be held."""

    id: int
    tenant_id: int
    message: Inbound
    member_id: int | None
    owner: str
    previous: str
    runs: int  # including this one


class DeferredReplies:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, lease_seconds: float) -> None:
        self.sessions = sessions
        self.lease = timedelta(seconds=lease_seconds)

    async def record(self, tenant_id: int, message: Inbound, member_id: int | None, owner: str) -> None:
        """The message is deferred and ``owner`` runs it. A row left by an earlier owner of the
        same message (it died before the lease said deferred) is taken over unless done."""
        now = utcnow()
        row = {
            "tenant_id": tenant_id,
            "appid": message.appid,
            "dedupe_key": message.dedupe_key,
            "openid": message.openid,
            "member_id": member_id,
            "message": encode_message(message),
            "status": "pending",
            "outcome": "",
            "owner": owner,
            "lease_until": now + self.lease,
            "runs": 1,
            "created_at": now,
        }
        async with session_scope(self.sessions) as session:
            if is_postgres(session):
                # The row guards against this process dying, not against PostgreSQL losing its
                # last commits in a crash of its own: the ack must not wait for a loaded disk's
                # WAL flush (measured: commits of 0.3 s and more beside a busy machine's writes).
                await session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            inserted = await session.execute(
                insert_ignore(
                    session, DeferredReply.__table__, [row], index_elements=["appid", "dedupe_key"]
                ).returning(DeferredReply.__table__.c.id)
            )
            if inserted.scalar_one_or_none() is None:
                # Written before by a run that did not answer (it died, or failed in time and
                # WeChat's retry is this run): owed again, by this owner.
                await session.execute(
                    update(DeferredReply)
                    .where(*self._key(message.appid, message.dedupe_key))
                    .values(
                        status="pending",
                        outcome="",
                        owner=owner,
                        lease_until=now + self.lease,
                        runs=DeferredReply.runs + 1,
                        completed_at=None,
                    )
                )

    async def owe(self, tenant_id: int, message: Inbound, member_id: int | None, owner: str) -> bool:
        """``record``, logged instead of raised: False when the row could not be written."""
        try:
            await self.record(tenant_id, message, member_id, owner)
        except Exception as exc:  # any database trouble: the caller keeps the lease in flight
            log.error("deferred_record_failed", appid=message.appid, error=repr(exc)[:200])
            return False
        return True

    async def renew(self, appid: str, dedupe_key: str, owner: str) -> bool:
        """Extend ``owner``'s lease; False when the row is no longer its own (taken over, done)."""
        async with session_scope(self.sessions) as session:
            result = await session.execute(
                update(DeferredReply)
                .where(
                    *self._key(appid, dedupe_key),
                    DeferredReply.owner == owner,
                    DeferredReply.status == "pending",
                )
                .values(lease_until=utcnow() + self.lease)
            )
            return rowcount(result) == 1

    async def complete(self, appid: str, dedupe_key: str, owner: str, outcome: str) -> None:
        """``owner``'s run answered (or gave up): close the row, unless another owner runs the
        message by now (a sweeper that took it over closes it itself)."""
        async with session_scope(self.sessions) as session:
            await session.execute(
                update(DeferredReply)
                .where(
                    *self._key(appid, dedupe_key),
                    DeferredReply.owner == owner,
                    DeferredReply.status == "pending",
                )
                .values(status="done", outcome=outcome[:16], completed_at=utcnow())
            )

    async def claim(self, owner: str) -> Claimed | None:
        """Take one pending row whose owner's lease has run out, or None. The UPDATE is
        conditional on the owner read, so two sweepers never both win a row (on SQLite the
        loser's UPDATE matches nothing; on PostgreSQL it skips the locked row)."""
        now = utcnow()
        async with session_scope(self.sessions) as session:
            due = (
                select(DeferredReply)
                .where(DeferredReply.status == "pending", DeferredReply.lease_until < now)
                .order_by(DeferredReply.lease_until)
                .limit(1)
            )
            if is_postgres(session):
                due = due.with_for_update(skip_locked=True)
            row = (await session.execute(due)).scalar_one_or_none()
            if row is None:
                return None
            taken = await session.execute(
                update(DeferredReply)
                .where(
                    DeferredReply.id == row.id,
                    DeferredReply.owner == row.owner,
                    DeferredReply.status == "pending",
                    DeferredReply.lease_until < now,
                )
                .values(owner=owner, lease_until=now + self.lease, runs=DeferredReply.runs + 1)
                .execution_options(synchronize_session=False)
            )
            if rowcount(taken) != 1:
                return None
            return Claimed(
                id=row.id,
                tenant_id=row.tenant_id,
                message=decode_message(row.appid, row.message),
                member_id=row.member_id,
                owner=owner,
                previous=row.owner,
                runs=row.runs + 1,
            )

    async def prune(self, days: int) -> int:
        async with session_scope(self.sessions) as session:
            result = await session.execute(
                delete(DeferredReply).where(
                    DeferredReply.status == "done",
                    DeferredReply.completed_at < utcnow() - timedelta(days=days),
                )
            )
            return rowcount(result)

    async def keep_alive(self, appid: str, dedupe_key: str, owner: str, work: Awaitable[T]) -> T:
        """Await ``work`` while renewing ``owner``'s lease every third of it. A failed renewal
        is logged and retried (the work goes on; at worst a sweeper runs the message too, and
        the re-run rule keeps that single)."""
        task = asyncio.ensure_future(work)
        period = self.lease.total_seconds() / 3
        while True:
            done, _ = await asyncio.wait({task}, timeout=period)
            if done:
                return task.result()
            try:
                await asyncio.wait_for(self.renew(appid, dedupe_key, owner), period)
            except Exception as exc:  # any database trouble: keep working
                log.warning("deferred_renew_failed", appid=appid, error=repr(exc)[:200])

    @staticmethod
    def _key(appid: str, dedupe_key: str) -> tuple[Any, Any]:
        return DeferredReply.appid == appid, DeferredReply.dedupe_key == dedupe_key
