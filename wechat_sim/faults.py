"""Fault injection for API calls: added latency, -1 (system busy) at a rate or for the next N calls,
optionally limited to some APIs. Plans are per app, with ``"*"`` for every app."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class FaultPlan:
    latency: float = 0.0  # seconds added before answering
    error_rate: float = 0.0  # probability of answering ``errcode``
    fail_next: int = 0  # the next N matching calls answer ``errcode``
    errcode: int = -1
    apis: list[str] = field(default_factory=list)  # API names ("cgi-bin/token"); empty = all

    def matches(self, api: str) -> bool:
        return not self.apis or any(api == a or api.startswith(a.rstrip("/") + "/") for a in self.apis)


class Faults:
    def __init__(self, rng: random.Random | None = None) -> None:
        self.plans: dict[str, FaultPlan] = {}
        self.rng = rng or random.Random()

    def set(self, appid: str = "*", **values: object) -> FaultPlan:
        plan = self.plans.setdefault(appid, FaultPlan())
        for name, value in values.items():
            if not hasattr(plan, name):
                raise ValueError(f"unknown fault setting {name!r}")
            setattr(plan, name, value)
        return plan

    def clear(self, appid: str | None = None) -> None:
        if appid is None:
            self.plans.clear()
        else:
            self.plans.pop(appid, None)

    def decide(self, appid: str | None, api: str) -> tuple[float, int | None]:
        """(latency to add, errcode to answer instead of the real call or None)."""
        latency, errcode = 0.0, None
        for key in (appid, "*"):
            plan = self.plans.get(key) if key else None
            if plan is None or not plan.matches(api):
                continue
            latency = max(latency, plan.latency)
            if errcode is None and plan.fail_next > 0:
                plan.fail_next -= 1
                errcode = plan.errcode
            elif errcode is None and plan.error_rate and self.rng.random() < plan.error_rate:
                errcode = plan.errcode
        return latency, errcode
