"""A campaign worker: claim a batch, send it concurrently, record the batch's outcomes at once.

Per batch, two database transactions whatever its size (``send_batch.claim`` and
``send_batch.record``); per recipient, one Redis round trip (the in-flight ledger's marker
pipelined with the reach budget's slot) and the WeChat call through the shared client and its
rate limiter, at most ``concurrency`` at a time.

The rule that makes a crash safe (no duplicate, no skip)
--------------------------------------------------------
A recipient row is ``pending``, then ``sending`` under a lease (``lease_until``, which the
claiming worker also uses as its fencing token in the database), then final. Beside the rows,
the channel keeps an in-flight ledger per campaign (``CampaignChannel``): a worker marks a
recipient *started* immediately before the request to WeChat (atomically, only if nobody else
fenced it), and the outcome of its previous send rides along in the same round trip. A worker
that finds a ``sending`` row whose lease ran out asks the ledger about it (``fence``):

* never started: the dead worker never asked WeChat; the row is fenced for the new worker (the
  old one, if it is only slow, can no longer start it) and sent again: no skip;
* started, no outcome: the request was in flight when the worker died; WeChat may have
  delivered it, so it is recorded ``unknown`` and never sent again (at most once: no duplicate).
  At most ``concurrency`` rows per dead worker can end here;
* an outcome: recorded as the ledger says;
* the ledger itself is gone (Redis lost its data): every such row is ``unknown``, never resent.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from bot.automation import send_batch
from bot.automation.interface import Deps
from bot.automation.models import Campaign
from bot.automation.send_port import CampaignChannel, Outcome
from bot.db import session_scope


@dataclass(eq=False)  # hashed by identity: the set of batches not yet recorded
class _Batch:
    claimed: send_batch.Claimed
    outcomes: dict[int, Outcome] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return len(self.outcomes) == len(self.claimed.rows)


async def run_worker(
    deps: Deps,
    channel: CampaignChannel,
    tenant_id: int,
    campaign_id: int,
    *,
    now: Callable[[], datetime],
    batch: int = 200,
    concurrency: int = 20,
    lease_seconds: int = 60,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Send until no recipient is left to claim; returns how many rows this worker finished.
    Waits (never drops) while quiet hours last.

    Three stages overlap, so that the database is never on the sends' path: a claimer keeps the
    next batch ready (at most two batches ahead), ``concurrency`` lanes send row after row across
    batches, and a recorder writes each batch's outcomes as soon as its last row is answered."""
    async with session_scope(deps.sessions) as session:
        campaign = (await session.execute(select(Campaign).where(Campaign.id == campaign_id))).scalar_one()
        fresh = await send_batch.untouched(session, campaign_id)
    await channel.open(campaign_id, fresh=fresh)
    token = uuid.uuid4().hex  # this worker's fencing token in the ledger
    loop = asyncio.get_running_loop()
    rows: asyncio.Queue[tuple[_Batch, send_batch.Row] | None] = asyncio.Queue(maxsize=2 * batch)
    full: asyncio.Queue[_Batch | None] = asyncio.Queue()
    unrecorded: set[_Batch] = set()
    finished = 0
    pause = asyncio.Event()
    pause.set()

    def progressed(n: int) -> None:
        nonlocal finished
        finished += n
        if on_progress is not None and n:
            on_progress(n)

    async def claimer() -> None:
        # Pending rows by keyset; a dead worker's expired rows looked for every quarter lease and
        # whenever the keyset runs out (then also from the start: rows another worker skipped)
        after = 0
        look_expired_at = 0.0
        try:
            while True:
                at = now()
                if deps.policy.quiet.quiet(at):
                    await asyncio.sleep(min(60.0, (deps.policy.quiet.release(at) - at).total_seconds()))
                    continue
                await pause.wait()
                look_expired = loop.time() >= look_expired_at
                async with session_scope(deps.sessions) as session:
                    claimed = await send_batch.claim(
                        session,
                        channel,
                        tenant_id,
                        campaign,
                        token,
                        at,
                        limit=batch,
                        lease_seconds=lease_seconds,
                        cap=deps.policy.cap,
                        cap_days=deps.policy.cap_days,
                        after=after,
                        look_expired=look_expired,
                    )
                progressed(claimed.settled)
                if look_expired:
                    look_expired_at = loop.time() + lease_seconds / 4
                if claimed.last:
                    after = max(after, claimed.last)
                elif after and not claimed.rows and not claimed.settled:  # the keyset ran out:
                    # once more from the start (rows another worker skipped), expired rows too
                    after, look_expired_at = 0, 0.0
                    continue
                if claimed.rows:
                    b = _Batch(claimed)
                    unrecorded.add(b)
                    for row in claimed.rows:
                        await rows.put((b, row))
                    continue
                if claimed.settled:
                    continue
                if unrecorded:
                    await asyncio.sleep(0.02)  # ours still in flight: they may come back (retry)
                    continue
                async with session_scope(deps.sessions) as session:
                    busy = await send_batch.leased(session, campaign_id)
                if not busy:
                    return
                # rows leased by another worker: finished by it, or ours when its lease runs out
                await asyncio.sleep(min(1.0, lease_seconds / 4))
        finally:
            for _ in range(concurrency):
                await rows.put(None)

    async def lane() -> None:
        done: tuple[int, str] | None = None
        while (item := await rows.get()) is not None:
            b, row = item
            outcome = await channel.send(
                campaign.id, token, row.member_id, row.appid, row.openid, campaign.text, done
            )
            b.outcomes[row.id] = outcome
            if b.complete:  # checked before any await: exactly one lane hands the batch on
                full.put_nowait(b)
            done = (row.member_id, outcome.encode()) if outcome.status != "fenced" else None
            if done is not None and rows.empty():  # about to wait: say how this one went now
                await channel.note(campaign.id, token, done)
                done = None

    async def recorder() -> None:
        while (b := await full.get()) is not None:
            retry = [r for r in b.claimed.rows if b.outcomes[r.id].status == "retry"]
            if retry:
                pause.clear()  # WeChat's quota for the API is spent: hold the claimer
                await channel.forget(campaign_id, [r.member_id for r in retry])
            async with session_scope(deps.sessions) as session:
                progressed(await send_batch.record(session, tenant_id, campaign, b.claimed, b.outcomes))
            unrecorded.discard(b)
            if retry:
                await asyncio.sleep(max(b.outcomes[r.id].retry_after for r in retry) or 1.0)
                pause.set()

    async def senders() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(claimer())
            for _ in range(concurrency):
                group.create_task(lane())
        await full.put(None)

    async with asyncio.TaskGroup() as stages:  # one failing stage cancels the others
        stages.create_task(senders())
        stages.create_task(recorder())
    return finished
