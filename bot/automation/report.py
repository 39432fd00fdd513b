"""Per-journey counts and the uplift report (treatment vs the journey's control group)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation.holdout import CONTROL, HOLDOUT, TREATMENT
from bot.automation.models import Enrolment, StepRun
from bot.automation.stats import uplift


@dataclass(frozen=True)
class ArmCounts:
    enrolled: int = 0
    converted: int = 0
    revenue_fen: int = 0
    coupon_cost_fen: int = 0


@dataclass(frozen=True)
class JourneyStatus:
    journey: str
    enrolled: int
    active: int
    arms: dict[str, ArmCounts]
    steps: dict[str, dict[str, int]]  # step -> status -> count
    reached: int  # message steps delivered
    unreachable: dict[str, int]  # reason -> count
    suppressed: dict[str, int]
    variants: dict[str, dict[str, int]] = field(default_factory=dict)  # "step:variant" -> counts
    uplift: dict[str, Any] | None = None
    coupons_issued: int = 0
    coupon_face_value_fen: int = 0
    incremental_revenue_fen: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def status(session: AsyncSession, tenant_id: int, journey: str | None = None) -> list[JourneyStatus]:
    q = select(Enrolment).where(Enrolment.tenant_id == tenant_id)
    if journey:
        q = q.where(Enrolment.journey == journey)
    enrolments = list((await session.execute(q)).scalars())
    by_journey: dict[str, list[Enrolment]] = defaultdict(list)
    for e in enrolments:
        by_journey[e.journey].append(e)
    runs_q = (
        select(StepRun, Enrolment.journey, Enrolment.id, Enrolment.converted_at)
        .join(Enrolment, Enrolment.id == StepRun.enrolment_id)
        .where(Enrolment.tenant_id == tenant_id)
    )
    if journey:
        runs_q = runs_q.where(Enrolment.journey == journey)
    runs: dict[str, list[tuple[StepRun, bool]]] = defaultdict(list)
    for run, name, _eid, converted_at in await session.execute(runs_q):
        runs[name].append((run, converted_at is not None))
    out = []
    for name in sorted(by_journey):
        es = by_journey[name]
        arms = {}
        for arm in (TREATMENT, CONTROL, HOLDOUT):
            group = [e for e in es if e.arm == arm]
            arms[arm] = ArmCounts(
                len(group),
                sum(e.converted_at is not None for e in group),
                sum(e.revenue_fen for e in group),
                sum(e.coupon_cost_fen for e in group),
            )
        steps: dict[str, Counter[str]] = defaultdict(Counter)
        unreachable: Counter[str] = Counter()
        suppressed: Counter[str] = Counter()
        variants: dict[str, Counter[str]] = defaultdict(Counter)
        reached = issued = face = 0
        for run, converted in runs[name]:
            steps[run.step][run.status] += 1
            if run.status == "unreachable":
                unreachable[run.reason] += 1
            if run.status == "suppressed":
                suppressed[run.reason] += 1
            if run.kind == "message" and run.status == "done":
                reached += 1
            if run.kind == "coupon" and run.status == "done":
                issued += 1
                face += int(orjson.loads(run.detail).get("value_fen", 0))
            if run.variant:
                v = variants[f"{run.step}:{run.variant}"]
                v["enrolled"] += 1
                v["converted"] += converted
        t, c = arms[TREATMENT], arms[CONTROL]
        lift = uplift(t.converted, t.enrolled, c.converted, c.enrolled)
        incremental = 0
        if t.enrolled and c.enrolled:
            incremental = round((t.revenue_fen / t.enrolled - c.revenue_fen / c.enrolled) * t.enrolled)
        out.append(
            JourneyStatus(
                journey=name,
                enrolled=len(es),
                active=sum(e.state == "active" for e in es),
                arms=arms,
                steps={k: dict(v) for k, v in sorted(steps.items())},
                reached=reached,
                unreachable=dict(unreachable),
                suppressed=dict(suppressed),
                variants={k: dict(v) for k, v in sorted(variants.items())},
                uplift=asdict(lift) | {"significant": lift.significant} if lift else None,
                coupons_issued=issued,
                coupon_face_value_fen=face,
                incremental_revenue_fen=incremental,
            )
        )
    return out
