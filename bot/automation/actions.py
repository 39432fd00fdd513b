"""The journey engine: ``tick(deps, tenant, now)`` enrols, exits on goals and runs every due
step as of ``now``. The scheduler calls it every minute with the real time; ``jiubot journeys
tick --at`` and the tests call it with any time. Any number of processes may tick at once: due
enrolments are leased in batches (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and each step runs
under its insert-first row."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import structlog
from sqlalchemy import select, update

from bot.automation import definitions, enrolling
from bot.automation import repository as repo
from bot.automation import steps as step_runner
from bot.automation.definitions import Journey
from bot.automation.interface import Deps, TickReport
from bot.automation.models import Enrolment, JourneyVersion, OrderFact, StepRun
from bot.db import rowcount, session_scope
from bot.membership.code_models import CodeRedemption

log = structlog.get_logger(__name__)


async def _versions(deps: Deps, tenant_id: int) -> dict[tuple[str, int], Journey]:
    """Every version of every enabled journey (an enrolment finishes on the version it entered);
    a paused journey's enrolments are left where they are until it is enabled again."""
    async with session_scope(deps.sessions) as session:
        rows = (
            await session.execute(
                select(JourneyVersion).where(
                    JourneyVersion.tenant_id == tenant_id, JourneyVersion.active.is_(True)
                )
            )
        ).scalars()
        out = {}
        for row in rows:
            parsed = definitions.parse(row.definition)
            out[(row.name, row.version)] = Journey(**{**parsed.__dict__, "version": row.version})
        return out


async def goals(deps: Deps, tenant_id: int, journey: Journey, now: datetime) -> int:
    """Exit every active enrolment whose subject reached the journey's goal (treatment, control
    and holdout alike, so their conversion is comparable); returns how many."""
    exited = 0
    async with session_scope(deps.sessions) as session:
        active = list(
            (
                await session.execute(
                    select(Enrolment).where(
                        Enrolment.tenant_id == tenant_id,
                        Enrolment.journey == journey.name,
                        Enrolment.state == "active",
                    )
                )
            ).scalars()
        )
        if not active:
            return 0
        since = min(e.entered_at for e in active)
        hits: dict[str, list[tuple[datetime, int, int]]] = {}
        if journey.goal == "ordered":
            rows = await session.execute(
                select(
                    OrderFact.store_code,
                    OrderFact.ordered_at,
                    OrderFact.total_fen,
                    OrderFact.coupon_discount_fen,
                )
                .where(
                    OrderFact.tenant_id == tenant_id,
                    OrderFact.store_code.in_(
                        sorted({e.subject.split(":", 1)[1] for e in active if e.subject.startswith("store:")})
                    ),
                    OrderFact.status != "cancelled",
                    OrderFact.ordered_at > since,
                    OrderFact.ordered_at <= now,
                )
                .order_by(OrderFact.ordered_at)
            )
            for code, at, total, discount in rows:
                hits.setdefault(f"store:{code}", []).append((at, total, discount))
        else:
            scans = await session.execute(
                select(CodeRedemption.member_id, CodeRedemption.scanned_at)
                .where(
                    CodeRedemption.tenant_id == tenant_id,
                    CodeRedemption.member_id.in_(sorted({e.member_id for e in active if e.member_id})),
                    CodeRedemption.scanned_at > since,
                    CodeRedemption.scanned_at <= now,
                )
                .order_by(CodeRedemption.scanned_at)
            )
            for member_id, at in scans:
                hits.setdefault(f"member:{member_id}", []).append((at, 0, 0))
        for e in active:
            first = next((h for h in hits.get(e.subject, ()) if e.entered_at < h[0] <= e.goal_until), None)
            if first is None:
                continue
            result = await session.execute(
                update(Enrolment)
                .where(Enrolment.id == e.id, Enrolment.state == "active")
                .values(
                    state="exited",
                    exit_reason="goal",
                    ended_at=now,
                    converted_at=first[0],
                    revenue_fen=first[1],
                    coupon_cost_fen=first[2],
                    step="",
                )
            )
            exited += rowcount(result)
    return exited


async def _finish(deps: Deps, e: Enrolment, now: datetime) -> str:
    """No step left: the enrolment waits out its goal window, then completes."""
    async with session_scope(deps.sessions) as session:
        if now >= e.goal_until:
            await session.execute(
                update(Enrolment)
                .where(Enrolment.id == e.id, Enrolment.state == "active")
                .values(state="completed", ended_at=now, exit_reason="window", lease_until=None)
            )
            return "completed"
        await session.execute(
            update(Enrolment).where(Enrolment.id == e.id).values(due_at=e.goal_until, lease_until=None)
        )
    return "waiting"


async def advance(
    deps: Deps, journeys: dict[tuple[str, int], Journey], enrolment_id: int, now: datetime
) -> tuple[int, str]:
    """Run the enrolment's due steps; returns (steps recorded, what happened to the enrolment)."""
    async with session_scope(deps.sessions) as session:
        e = (await session.execute(select(Enrolment).where(Enrolment.id == enrolment_id))).scalar_one()
    journey = journeys.get((e.journey, e.version))
    if e.state != "active" or journey is None:
        async with session_scope(deps.sessions) as session:
            await repo.release(session, e.id)
        return 0, "skipped"
    done = 0
    for _ in range(len(journey.steps) + 1):
        if not e.step:
            return done, await _finish(deps, e, now)
        step = journey.step(e.step)
        if step is None:  # a definition without this step: end the journey for this subject
            e.step = ""
            continue
        async with session_scope(deps.sessions) as session:
            run = await repo.start_step(session, e.id, step.id, step.kind, now)
        if run.status in step_runner.FINAL:  # recorded before a crash; only the cursor was lost
            outcome = step_runner.Outcome(
                run.status, journey.after(step.id) if step.kind != "condition" else None
            )
            if outcome.next is None:
                detail = orjson.loads(run.detail)
                outcome = step_runner.Outcome(
                    run.status, journey.target(step.id, step.then if detail.get("result") else step.otherwise)
                )
        else:
            try:
                outcome = await step_runner.run(deps, journey, e, step, run, now)
            except Exception:
                log.exception("journey_step_failed", journey=e.journey, enrolment=e.id, step=step.id)
                outcome = step_runner.Outcome("retry", reason="error")
        async with session_scope(deps.sessions) as session:
            if outcome.status in ("held", "waiting", "retry"):
                due = outcome.due or now + step_runner.RETRY_AFTER
                await session.execute(
                    update(StepRun)
                    .where(StepRun.id == run.id, StepRun.status.in_(("started", "held")))
                    .values(status="held" if outcome.status == "held" else "started", reason=outcome.reason)
                )
                await session.execute(
                    update(Enrolment).where(Enrolment.id == e.id).values(due_at=due, lease_until=None)
                )
                return done, outcome.status
            if run.status not in step_runner.FINAL:
                await session.execute(
                    update(StepRun)
                    .where(StepRun.id == run.id)
                    .values(
                        status=outcome.status,
                        reason=outcome.reason,
                        variant=outcome.variant,
                        detail=orjson.dumps(outcome.detail).decode(),
                        finished_at=now,
                    )
                )
                done += 1
            values: dict[str, object] = {"step": outcome.next or "", "due_at": now}
            if outcome.exit:
                values.update(state="exited", exit_reason=outcome.exit, ended_at=now, lease_until=None)
            moved = await session.execute(
                update(Enrolment)
                .where(Enrolment.id == e.id, Enrolment.state == "active", Enrolment.step == step.id)
                .values(**values)
            )
        if outcome.exit or not rowcount(moved):
            return done, outcome.exit or "moved"
        e.step = outcome.next or ""
    async with session_scope(deps.sessions) as session:
        await repo.release(session, e.id)
    return done, "loop"


async def tick(deps: Deps, tenant_id: int, now: datetime) -> TickReport:
    async with session_scope(deps.sessions) as session:
        active = await repo.journeys(session, tenant_id)
    enrolled = exited = completed = ran = 0
    for journey in active:
        async with session_scope(deps.sessions) as session:
            enrolled += await enrolling.enrol(session, tenant_id, journey, now, deps.policy)
        exited += await goals(deps, tenant_id, journey, now)
    versions = await _versions(deps, tenant_id)
    seen: set[int] = set()
    while True:
        async with session_scope(deps.sessions) as session:
            batch = await repo.claim_due(
                session,
                tenant_id,
                now,
                limit=deps.policy.batch,
                lease_seconds=deps.policy.lease_seconds,
                journeys=sorted({name for name, _ in versions}),  # a paused journey's wait
            )
        fresh = [i for i in batch if i not in seen]
        if not fresh:  # nothing due, or only what this tick already saw: let the next tick have them
            async with session_scope(deps.sessions) as session:
                for enrolment_id in batch:
                    await repo.release(session, enrolment_id)
            break
        seen.update(fresh)
        for enrolment_id in fresh:
            n, what = await advance(deps, versions, enrolment_id, now)
            ran += n
            completed += what == "completed"
    return TickReport(now.isoformat(), enrolled, exited, completed, ran)


async def replay(
    deps: Deps, tenant_id: int, start: datetime, end: datetime, every: timedelta
) -> list[TickReport]:
    """Tick from ``start`` to ``end`` (inclusive) every ``every``: a story in seconds."""
    out = []
    at = start
    while at <= end:
        out.append(await tick(deps, tenant_id, at))
        at += every
    return out
