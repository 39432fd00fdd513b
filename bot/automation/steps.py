"""One step of one enrolment. Each runs under its insert-first ``auto_step_runs`` row and sends
with a key derived from (tenant, enrolment, step), so a retry after a crash repeats nothing:
the core answers the same Idempotency-Key with the same coupon, the notifier refuses a key it
has seen."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation import facts as facts_repo
from bot.automation import holdout
from bot.automation import repository as repo
from bot.automation.definitions import Journey, Step
from bot.automation.interface import CouponRefused, CouponRetry, Deps
from bot.automation.models import Enrolment, OrderFact, SkuFact, StepRun, SubjectTag
from bot.db import insert_ignore, session_scope
from bot.membership.code_models import CodeRedemption
from bot.membership.models import Member, Store
from bot.ports import Purpose, Recipient

log = structlog.get_logger(__name__)

FINAL = ("done", "unreachable", "suppressed", "failed")
RETRY_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Outcome:
    status: str  # done | unreachable | suppressed | failed | held | waiting | retry
    next: str | None = None  # the next step ("" = none left); None = stay on this step
    due: datetime | None = None
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    exit: str = ""  # leave the journey with this reason
    variant: str = ""


def step_key(e: Enrolment, step: Step) -> str:
    return f"auto:{e.tenant_id}:{e.journey}:{e.id}:{step.id}"


def store_code(e: Enrolment) -> str | None:
    return e.subject.split(":", 1)[1] if e.subject.startswith("store:") else None


async def _goal_reached(deps: Deps, e: Enrolment, goal: str, now: datetime) -> bool:
    async with session_scope(deps.sessions) as session:
        code = store_code(e)
        if goal == "ordered" and code is not None:
            stmt = select(OrderFact.id).where(
                OrderFact.tenant_id == e.tenant_id,
                OrderFact.store_code == code,
                OrderFact.status != "cancelled",
                OrderFact.ordered_at > e.entered_at,
                OrderFact.ordered_at <= now,
            )
        elif goal == "scanned" and e.member_id is not None:
            stmt = select(CodeRedemption.id).where(
                CodeRedemption.member_id == e.member_id,
                CodeRedemption.scanned_at > e.entered_at,
                CodeRedemption.scanned_at <= now,
            )
        else:
            return False
        return (await session.execute(stmt.limit(1))).first() is not None


async def _condition(deps: Deps, journey: Journey, e: Enrolment, step: Step, now: datetime) -> Outcome:
    ok = True
    for name, want in step.condition:
        if name in ("ordered", "scanned"):
            ok = ok and (await _goal_reached(deps, e, name, now)) == bool(want)
        elif name == "reached":
            async with session_scope(deps.sessions) as session:
                runs = await repo.runs_of(session, e.id)
            ok = ok and str(want) in runs and runs[str(want)].status == "done"
        elif name == "tag":
            async with session_scope(deps.sessions) as session:
                found = (
                    await session.execute(
                        select(SubjectTag.id).where(
                            SubjectTag.tenant_id == e.tenant_id,
                            SubjectTag.subject == e.subject,
                            SubjectTag.tag == str(want),
                        )
                    )
                ).first()
            ok = ok and found is not None
    where = step.then if ok else step.otherwise
    return Outcome("done", journey.target(step.id, where), detail={"result": ok})


def _variant(journey: Journey, e: Enrolment, step: Step) -> tuple[str, str, int | None]:
    """(variant name, template, campaign) of this subject for this step."""
    if not step.variants:
        return "", step.template, step.campaign
    name = holdout.variant(
        e.tenant_id, journey.name, step.id, e.subject, [(v.name, v.weight) for v in step.variants]
    )
    chosen = next(v for v in step.variants if v.name == name)
    return name, chosen.template or step.template, chosen.campaign or step.campaign


async def _opted_out(deps: Deps, e: Enrolment) -> bool:
    if e.member_id is None:
        return False
    async with session_scope(deps.sessions) as session:
        state = await repo.member_state(session, e.member_id)
    return state is None or state[0] or state[1] != "active"


async def _coupon(deps: Deps, journey: Journey, e: Enrolment, step: Step, run: StepRun) -> Outcome:
    variant, _, campaign = _variant(journey, e, step)
    if deps.coupons is None or campaign is None:
        return Outcome("failed", journey.after(step.id), reason="no_core", variant=variant)
    code = store_code(e)
    if code is not None:
        async with session_scope(deps.sessions) as session:
            core_store = (
                await session.execute(
                    select(OrderFact.core_store_id)
                    .where(OrderFact.tenant_id == e.tenant_id, OrderFact.store_code == code)
                    .order_by(OrderFact.ordered_at.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
        if core_store is None:
            return Outcome("failed", journey.after(step.id), reason="store_unknown_to_core", variant=variant)
        holder = ("store", str(core_store))
    elif e.member_id is not None:
        holder = ("consumer", str(e.member_id))
    else:
        return Outcome("unreachable", journey.after(step.id), reason="no_member", variant=variant)
    try:
        coupon = await deps.coupons.issue(campaign, holder[0], holder[1], idempotency_key=step_key(e, step))
    except CouponRefused as exc:
        return Outcome(
            "failed", journey.after(step.id), reason=f"refused:{exc.reason}"[:200], variant=variant
        )
    except CouponRetry as exc:
        return Outcome("retry", reason=str(exc)[:200], variant=variant)
    detail = {
        "claim_id": coupon.claim_id,
        "name": coupon.name,
        "value_fen": coupon.value_fen,
        "campaign": campaign,
    }
    return Outcome("done", journey.after(step.id), detail=detail, variant=variant)


async def _last_items(session: AsyncSession, e: Enrolment, code: str) -> str:
    """The store's last order as "飞天53度6瓶、五粮液普五12瓶" (for "上次的...该补了")."""
    last = (
        await session.execute(
            select(OrderFact)
            .where(
                OrderFact.tenant_id == e.tenant_id,
                OrderFact.store_code == code,
                OrderFact.status != "cancelled",
                OrderFact.ordered_at <= e.due_at,
            )
            .order_by(OrderFact.ordered_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if last is None:
        return ""
    names = dict(
        (
            await session.execute(select(SkuFact.sku, SkuFact.name).where(SkuFact.tenant_id == e.tenant_id))
        ).all()
    )
    return "、".join(
        f"{names.get(ln.sku) or ln.sku}{ln.quantity}瓶" for ln in facts_repo.lines_of(last) if ln.quantity
    )


async def _context(deps: Deps, e: Enrolment) -> dict[str, Any]:
    values: dict[str, Any] = {"coupon": None, "store_name": "", "last_items": ""}
    async with session_scope(deps.sessions) as session:
        code = store_code(e)
        if code is not None:
            values["store_name"] = (
                await session.execute(
                    select(Store.name).where(Store.tenant_id == e.tenant_id, Store.code == code)
                )
            ).scalar_one_or_none() or code
            values["last_items"] = await _last_items(session, e, code)
        for run in (await repo.runs_of(session, e.id)).values():
            if run.kind == "coupon" and run.status == "done":
                values["coupon"] = orjson.loads(run.detail)
    return values


def _render(deps: Deps, template: str, values: dict[str, Any]) -> str:
    return deps.texts.get_template(f"pushes/automation/{template}.j2").render(**values).strip()


async def _message(deps: Deps, journey: Journey, e: Enrolment, step: Step, now: datetime) -> Outcome:
    variant, template, _ = _variant(journey, e, step)
    after = journey.after(step.id)
    if e.member_id is None:
        return Outcome("unreachable", after, reason="no_member", variant=variant)
    async with session_scope(deps.sessions) as session:
        identity = await repo.oa_identity(session, e.member_id, deps.oa_appids())
    if identity is None:
        return Outcome("unreachable", after, reason="not_following", variant=variant)
    if deps.notifier is None:
        return Outcome("unreachable", after, reason="no_notifier", variant=variant)
    key = step_key(e, step)
    policy = deps.policy
    async with session_scope(deps.sessions) as session:
        allowed = await repo.take_cap(
            session,
            e.tenant_id,
            e.member_id,
            key,
            f"journey:{journey.name}",
            now,
            cap=policy.cap,
            days=policy.cap_days,
        )
    if not allowed:
        return Outcome("suppressed", after, reason="frequency_cap", variant=variant)
    text = _render(deps, template, {**(await _context(deps, e)), "variant": variant})
    delivery = await deps.notifier.notify(
        Recipient(identity[0], identity[1], e.member_id), Purpose.MARKETING, key=key, text=text
    )
    if delivery.delivered or delivery.reason == "duplicate":
        return Outcome("done", after, detail={"channel": delivery.channel}, variant=variant)
    async with session_scope(deps.sessions) as session:
        await repo.give_back_cap(session, e.tenant_id, key)
    return Outcome("unreachable", after, reason=(delivery.reason or "undeliverable")[:200], variant=variant)


async def _notify_distributor(deps: Deps, journey: Journey, e: Enrolment, step: Step) -> Outcome:
    after = journey.after(step.id)
    code = store_code(e)
    if deps.notifier is None or code is None:
        return Outcome("unreachable", after, reason="no_distributor")
    appids = deps.oa_appids()
    async with session_scope(deps.sessions) as session:
        distributor = (
            await session.execute(
                select(Store.distributor_code).where(Store.tenant_id == e.tenant_id, Store.code == code)
            )
        ).scalar_one_or_none()
        staff = []
        if distributor:
            staff = list(
                (
                    await session.execute(
                        select(Member.id).where(
                            Member.tenant_id == e.tenant_id,
                            Member.role == "distributor_staff",
                            Member.distributor_code == distributor,
                            Member.status == "active",
                        )
                    )
                ).scalars()
            )
        people = [(m, await repo.oa_identity(session, m, appids)) for m in staff]
    values = await _context(deps, e)
    text = _render(deps, step.template, values)
    sent = 0
    reasons = []
    for member_id, identity in people:
        if identity is None:
            reasons.append("not_following")
            continue
        delivery = await deps.notifier.notify(
            Recipient(identity[0], identity[1], member_id),
            Purpose.SERVICE,
            key=f"{step_key(e, step)}:{member_id}",
            text=text,
        )
        if delivery.delivered or delivery.reason == "duplicate":
            sent += 1
        else:
            reasons.append(delivery.reason)
    if sent:
        return Outcome("done", after, detail={"sent": sent})
    return Outcome("unreachable", after, reason=(";".join(sorted(set(reasons))) or "no_distributor")[:200])


async def _tag(deps: Deps, journey: Journey, e: Enrolment, step: Step, now: datetime) -> Outcome:
    async with session_scope(deps.sessions) as session:
        await session.execute(
            insert_ignore(
                session,
                SubjectTag.__table__,
                [{"tenant_id": e.tenant_id, "subject": e.subject, "tag": step.tag, "created_at": now}],
                index_elements=["tenant_id", "subject", "tag"],
            )
        )
    return Outcome("done", journey.after(step.id))


async def run(
    deps: Deps, journey: Journey, e: Enrolment, step: Step, run_row: StepRun, now: datetime
) -> Outcome:
    """What the step does now (the caller has inserted ``run_row`` and records the outcome)."""
    if step.kind == "wait":
        assert step.wait is not None
        until = run_row.started_at + step.wait
        if now >= until:
            return Outcome("done", journey.after(step.id))
        return Outcome("waiting", due=until)
    if step.kind == "condition":
        return await _condition(deps, journey, e, step, now)
    if step.kind == "tag":
        return await _tag(deps, journey, e, step, now)
    if step.kind in ("coupon", "message") and await _opted_out(deps, e):
        return Outcome("suppressed", "", reason="opted_out", exit="opted_out")
    if step.kind == "coupon":
        return await _coupon(deps, journey, e, step, run_row)
    if deps.policy.quiet.quiet(now):
        return Outcome("held", due=deps.policy.quiet.release(now), reason="quiet_hours")
    if step.kind == "message":
        return await _message(deps, journey, e, step, now)
    return await _notify_distributor(deps, journey, e, step)
