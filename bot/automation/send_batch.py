"""The two transactions of a campaign batch: ``claim`` (lease rows, settle what a dead worker left,
check opt-out and the frequency cap for the whole batch) and ``record`` (every outcome at once).

``claim`` selects candidates (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers
take disjoint batches without waiting) and leases them with a conditional UPDATE (``pending``, or
``sending`` whose lease ran out): on SQLite, whose writers are serial, that condition is what
keeps a row from being taken twice. The lease's instant is the worker's fencing token: ``record``
updates only rows still ``sending`` under that very lease."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation.models import Campaign, CampaignRecipient, MarketingSend
from bot.automation.send_port import CampaignChannel, Outcome
from bot.db import UTCDateTime, insert_ignore_statement, is_postgres, utcnow
from bot.membership.models import Member
from bot.messaging.outbound_models import OutboundMessage
from bot.ports import Purpose

FINAL = ("sent", "unreachable", "suppressed", "unknown")


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    member_id: int
    appid: str
    openid: str


@dataclass
class Claimed:
    lease: datetime
    rows: list[Row] = field(default_factory=list)  # to send now, under ``lease``
    settled: int = 0  # rows this claim finished itself (suppressed, or a dead worker's outcome)
    last: int = 0  # the highest id it looked at (the next claim's keyset)


def one_of(session: AsyncSession, column: Any, values: Sequence[Any]) -> Any:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``: one parameter instead of
    one per value, so a batch's statements stay short, cached and preparable."""
    if is_postgres(session):
        kind = BigInteger if isinstance(column.type, (BigInteger, Integer)) else String
        return column == any_(bindparam(None, list(values), type_=ARRAY(kind())))
    return column.in_(list(values))


def cap_key(campaign_id: int, member_id: int) -> str:
    return f"campaign:{campaign_id}:{member_id}"


_T = CampaignRecipient.__table__
_FINISH = (
    update(_T)
    .where(_T.c.id == bindparam("rid"), _T.c.status == "sending", _T.c.lease_until == bindparam("lease"))
    .values(status=bindparam("st"), reason=bindparam("why"), finished_at=bindparam("at"), lease_until=None)
)
_RETRY = (
    update(_T)
    .where(_T.c.id == bindparam("rid"), _T.c.status == "sending", _T.c.lease_until == bindparam("lease"))
    .values(status="pending", reason="", lease_until=None)
)


async def claim(
    session: AsyncSession,
    channel: CampaignChannel,
    tenant_id: int,
    campaign: Campaign,
    token: str,
    at: datetime,
    *,
    limit: int,
    lease_seconds: int,
    cap: int,
    cap_days: int,
    after: int = 0,
    look_expired: bool = True,
) -> Claimed:
    """Lease up to ``limit`` rows: expired ones first (a dead worker's; when ``look_expired``),
    then pending ones with an id above ``after`` (0: from the start)."""
    real = utcnow()
    lease = real + timedelta(seconds=lease_seconds)
    due = or_(_T.c.status == "pending", and_(_T.c.status == "sending", _T.c.lease_until < real))
    cols = (_T.c.id, _T.c.member_id, _T.c.appid, _T.c.openid, _T.c.status)
    # two index range scans on (campaign, status, id), not one OR: a dead worker's expired rows
    # first, then pending rows in id order
    expired_q = select(*cols).where(
        _T.c.campaign_id == campaign.id, _T.c.status == "sending", _T.c.lease_until < real
    )
    pending_q = select(*cols).where(_T.c.campaign_id == campaign.id, _T.c.status == "pending")
    if after:  # keyset: the index's dead entries of rows already claimed are not walked again
        pending_q = pending_q.where(_T.c.id > after)
    candidates: dict[int, Any] = {}
    last = 0
    for q in (expired_q, pending_q) if look_expired else (pending_q,):
        if len(candidates) >= limit:
            break
        q = q.order_by(_T.c.id).limit(limit - len(candidates))
        if is_postgres(session):
            q = q.with_for_update(skip_locked=True)
        found = {r.id: r for r in await session.execute(q)}
        candidates.update(found)
        if found and all(r.status == "pending" for r in found.values()):
            last = max(found)
    if not candidates:
        return Claimed(lease)
    won = await session.execute(
        update(_T)
        .where(one_of(session, _T.c.id, list(candidates)), due)
        .values(status="sending", lease_until=lease)
        .returning(_T.c.id)
    )
    mine = sorted(candidates[i] for (i,) in won)
    claimed = Claimed(lease, last=last)
    settle: list[tuple[Any, Outcome]] = []
    fresh = [r for r in mine if r.status == "pending"]
    expired = [r for r in mine if r.status == "sending"]
    if expired:
        verdicts = await channel.fence(campaign.id, [r.member_id for r in expired], token)
        answers: list[str | None] = list(verdicts) if verdicts is not None else [None] * len(expired)
        for r, verdict in zip(expired, answers, strict=True):
            if verdict is None:
                settle.append((r, Outcome("unknown", "ledger_lost")))
            elif verdict == "":  # never started: send it now (its cap place is already taken)
                claimed.rows.append(Row(r.id, r.member_id, r.appid, r.openid))
            elif verdict == "started":
                settle.append((r, Outcome("unknown", "in_flight_at_crash")))
            else:
                settle.append((r, Outcome.decode(verdict)))
    if fresh:
        allowed = await take_caps(
            session, tenant_id, campaign, [r.member_id for r in fresh], at, cap, cap_days
        )
        for r in fresh:
            verdict = allowed.get(r.member_id, "opted_out")
            if verdict:
                settle.append((r, Outcome("suppressed", verdict)))
            else:
                claimed.rows.append(Row(r.id, r.member_id, r.appid, r.openid))
    if settle:
        await _finish(
            session,
            tenant_id,
            campaign,
            lease,
            [(Row(r.id, r.member_id, r.appid, r.openid), o) for r, o in settle],
        )
        claimed.settled = len(settle)
    return claimed


async def take_caps(
    session: AsyncSession,
    tenant_id: int,
    campaign: Campaign,
    members: list[int],
    at: datetime,
    cap: int,
    cap_days: int,
) -> dict[int, str]:
    """The batch's frequency-cap check at once: member -> "" (counted now, or already counted
    under this campaign's key), "frequency_cap" or "opted_out". The members' rows are locked
    (PostgreSQL, in id order) as journeys' ``take_cap`` locks them: one place per person."""
    states = (
        select(Member.id, Member.push_opt_out, Member.status)
        .where(one_of(session, Member.id, members))
        .order_by(Member.id)
    )
    if is_postgres(session):
        states = states.with_for_update()
    active = {m for m, out, status in await session.execute(states) if not out and status == "active"}
    keys = {cap_key(campaign.id, m): m for m in active}
    since = at - timedelta(days=cap_days)
    if is_postgres(session):
        # one statement, two index probes per member (its key; its sends in the window): the
        # cost follows the batch, not the table, whatever plan a prepared statement settles on
        params = {"tenant": tenant_id, "members": list(keys.values()), "keys": list(keys)}
        counts = await session.execute(_PG_CAP_COUNTS, {**params, "since": since, "at": at})
        known: set[int] = set()
        used: dict[int, int] = {}
        for m, has_key, n in counts:
            if has_key:
                known.add(m)
            else:
                used[m] = n
    else:
        known = {
            keys[k]
            for (k,) in await session.execute(
                select(MarketingSend.key).where(
                    MarketingSend.tenant_id == tenant_id, one_of(session, MarketingSend.key, list(keys))
                )
            )
        }
        used = dict(
            (
                await session.execute(
                    select(MarketingSend.member_id, func.count())
                    .where(
                        MarketingSend.tenant_id == tenant_id,
                        one_of(session, MarketingSend.member_id, list(active - known)),
                        MarketingSend.sent_at > since,
                        MarketingSend.sent_at <= at,
                    )
                    .group_by(MarketingSend.member_id)
                )
            ).all()
        )
    verdict: dict[int, str] = {}
    new: list[dict[str, Any]] = []
    source = f"campaign:{campaign.name}"[:80]
    for m in active:
        if m in known or used.get(m, 0) < cap:
            verdict[m] = ""
            if m not in known:
                new.append(
                    {
                        "tenant_id": tenant_id,
                        "member_id": m,
                        "key": cap_key(campaign.id, m),
                        "source": source,
                        "sent_at": at,
                    }
                )
        else:
            verdict[m] = "frequency_cap"
    if new and is_postgres(session):
        members = [n["member_id"] for n in new]
        params = {
            "tenant": tenant_id,
            "members": members,
            "keys": [n["key"] for n in new],
            "source": source,
            "at": at,
        }
        await session.execute(_PG_CAPS, params)
    elif new:
        stmt = insert_ignore_statement(session, MarketingSend.__table__, index_elements=["tenant_id", "key"])
        await session.execute(stmt, new)
    return verdict


async def record(
    session: AsyncSession,
    tenant_id: int,
    campaign: Campaign,
    claimed: Claimed,
    outcomes: dict[int, Outcome],
) -> int:
    """Write the batch's outcomes in this one transaction; returns how many rows were finished."""
    retry = [r for r in claimed.rows if outcomes[r.id].status == "retry"]
    done = [(r, outcomes[r.id]) for r in claimed.rows if outcomes[r.id].status not in ("retry", "fenced")]
    if retry:
        await session.execute(_RETRY, [{"rid": r.id, "lease": claimed.lease} for r in retry])
        await give_back(session, tenant_id, [cap_key(campaign.id, r.member_id) for r in retry])
    if done:
        await _finish(session, tenant_id, campaign, claimed.lease, done)
    return len(done)


async def _finish(
    session: AsyncSession,
    tenant_id: int,
    campaign: Campaign,
    lease: datetime,
    done: list[tuple[Row, Outcome]],
) -> None:
    """Every outcome of the batch, its cap places given back and its outbound log rows: on
    PostgreSQL one ``UPDATE ... FROM unnest(...)`` and one ``INSERT ... SELECT unnest(...)``
    whatever the batch's size; on SQLite the same statements executed many times."""
    now = utcnow()
    log = [(r, o) for r, o in done if o.status in ("sent", "unreachable", "unknown")]
    if is_postgres(session):
        await session.execute(
            _PG_FINISH,
            {
                "ids": [r.id for r, _ in done],
                "sts": [o.status for _, o in done],
                "whys": [o.reason[:200] for _, o in done],
                "at": now,
                "lease": lease,
            },
        )
        if log:
            await session.execute(
                _PG_LOG,
                {
                    "tenant": tenant_id,
                    "members": [r.member_id for r, _ in log],
                    "appids": [r.appid for r, _ in log],
                    "openids": [r.openid for r, _ in log],
                    "keys": [cap_key(campaign.id, r.member_id) for r, _ in log],
                    "sts": [_log_status(o) for _, o in log],
                    "channels": [_log_channel(o) for _, o in log],
                    "whys": [o.reason[:128] for _, o in log],
                    "summary": campaign.text[:200],
                    "at": now,
                },
            )
    else:
        await session.execute(
            _FINISH,
            [
                {"rid": r.id, "lease": lease, "st": o.status, "why": o.reason[:200], "at": now}
                for r, o in done
            ],
        )
        if log:
            rows = [
                {
                    "tenant_id": tenant_id,
                    "member_id": r.member_id,
                    "appid": r.appid,
                    "openid": r.openid,
                    "idempotency_key": cap_key(campaign.id, r.member_id),
                    "purpose": Purpose.MARKETING,
                    "kind": "text",
                    "summary": campaign.text[:200],
                    "status": _log_status(o),
                    "channel": _log_channel(o),
                    "reason": o.reason[:128],
                    "rid": "",
                    "attempts": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for r, o in log
            ]
            stmt = insert_ignore_statement(
                session, OutboundMessage.__table__, index_elements=["appid", "idempotency_key"]
            )
            await session.execute(stmt, rows)
    # a message that did not reach the person does not count against the cap
    await give_back(
        session, tenant_id, [cap_key(campaign.id, r.member_id) for r, o in done if o.status == "unreachable"]
    )


def _log_status(o: Outcome) -> str:
    return "undeliverable" if o.status == "unreachable" else o.status


def _log_channel(o: Outcome) -> str:
    return "none" if o.status == "unreachable" else "customer_service"


# per member, correlated scalar subqueries (never hashed, never a scan of the tenant's rows: an
# EXISTS here, or ``member_id = ANY(:array)`` beside the time range, was planned as one and cost
# grew with every send of the campaign, 36 ms per batch at 20,000 sends)
_PG_CAP_COUNTS = text(
    "SELECT v.member, "
    "(SELECT count(*) FROM auto_marketing_sends s WHERE s.tenant_id = :tenant AND s.key = v.key), "
    "(SELECT count(*) FROM auto_marketing_sends s WHERE s.tenant_id = :tenant AND s.member_id = v.member "
    "AND s.sent_at > :since AND s.sent_at <= :at) "
    "FROM unnest(CAST(:members AS bigint[]), CAST(:keys AS varchar[])) AS v(member, key)"
).bindparams(bindparam("since", type_=UTCDateTime), bindparam("at", type_=UTCDateTime))
_PG_CAPS = text(
    "INSERT INTO auto_marketing_sends (tenant_id, member_id, key, source, sent_at) "
    "SELECT :tenant, v.member, v.key, :source, :at "
    "FROM unnest(CAST(:members AS bigint[]), CAST(:keys AS varchar[])) AS v(member, key) "
    "ON CONFLICT (tenant_id, key) DO NOTHING"
).bindparams(bindparam("at", type_=UTCDateTime))
_PG_FINISH = text(
    "UPDATE auto_campaign_recipients AS r SET status = v.st, reason = v.why, finished_at = :at, "
    "lease_until = NULL FROM unnest(CAST(:ids AS bigint[]), CAST(:sts AS varchar[]), "
    "CAST(:whys AS varchar[])) AS v(id, st, why) "
    "WHERE r.id = v.id AND r.status = 'sending' AND r.lease_until = :lease"
).bindparams(bindparam("at", type_=UTCDateTime), bindparam("lease", type_=UTCDateTime))
_PG_LOG = text(
    "INSERT INTO outbound_messages (tenant_id, member_id, appid, openid, idempotency_key, purpose, kind, "
    "summary, status, channel, reason, rid, attempts, created_at, updated_at) "
    "SELECT :tenant, v.member, v.appid, v.openid, v.key, 'marketing', 'text', :summary, v.st, v.channel, "
    "v.why, '', 1, :at, :at FROM unnest(CAST(:members AS bigint[]), CAST(:appids AS varchar[]), "
    "CAST(:openids AS varchar[]), CAST(:keys AS varchar[]), CAST(:sts AS varchar[]), "
    "CAST(:channels AS varchar[]), CAST(:whys AS varchar[])) "
    "AS v(member, appid, openid, key, st, channel, why) "
    "ON CONFLICT (appid, idempotency_key) DO NOTHING"
).bindparams(bindparam("at", type_=UTCDateTime))


async def give_back(session: AsyncSession, tenant_id: int, keys: list[str]) -> None:
    if keys:
        await session.execute(
            delete(MarketingSend).where(
                MarketingSend.tenant_id == tenant_id, one_of(session, MarketingSend.key, keys)
            )
        )


async def leased(session: AsyncSession, campaign_id: int) -> int:
    """Rows another worker holds now (finished by it, or due again when its lease runs out)."""
    return (
        await session.execute(
            select(func.count()).where(_T.c.campaign_id == campaign_id, _T.c.status == "sending")
        )
    ).scalar_one()


async def untouched(session: AsyncSession, campaign_id: int) -> bool:
    """No row of the campaign has left ``pending`` yet (its in-flight ledger may be created)."""
    left = await session.execute(
        select(_T.c.id).where(_T.c.campaign_id == campaign_id, _T.c.status != "pending").limit(1)
    )
    return left.first() is None
