"""Journey definitions: YAML in, frozen dataclasses out (validated; errors say what is wrong).

::

    name: win-back
    subject: store                   # store | consumer (who is enrolled)
    trigger: {lapsed_days: 30}       # or {aroma: 酱香} | {event: first_scan} | {event: new_follower}
                                     # | {replenish: true} (predicted reorder due tomorrow)
    goal: ordered                    # ordered | scanned: reaching it exits the journey
    goal_days: 30                    # conversion window after entry (control arms wait it out)
    control: 0.10                    # deterministic per-journey control group
    reentry: never                   # or {after_days: 90}
    steps:
      - {id: coupon, action: coupon, campaign: 3}
      - id: message
        action: message
        variants:                    # A/B: each subject gets one, deterministically by weight
          - {name: a, weight: 1, template: winback_a}
          - {name: b, weight: 1, template: winback_b}
      - {id: wait, wait: {days: 7}}
      - {id: check, condition: {ordered: true}, then: end, else: remind}
      - {id: remind, action: message, template: winback_reminder}
      - {id: tell, action: notify_distributor, template: winback_distributor}
      - {id: tag, action: tag, tag: winback}

Message templates live in ``bot/templates/pushes/automation/<template>.j2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import yaml

from bot.automation.errors import InvalidDefinition

SUBJECTS = ("store", "consumer")
GOALS = ("ordered", "scanned")
EVENTS = ("first_scan", "new_follower")
ACTIONS = ("coupon", "message", "tag", "notify_distributor")
END = "end"
NEXT = "next"


@dataclass(frozen=True)
class Variant:
    name: str
    weight: float
    template: str = ""
    campaign: int | None = None


@dataclass(frozen=True)
class Step:
    id: str
    kind: str  # wait | condition | coupon | message | tag | notify_distributor
    wait: timedelta | None = None
    condition: tuple[tuple[str, Any], ...] = ()
    then: str = NEXT
    otherwise: str = NEXT
    template: str = ""
    campaign: int | None = None
    tag: str = ""
    variants: tuple[Variant, ...] = ()

    @property
    def is_message(self) -> bool:
        return self.kind == "message"


@dataclass(frozen=True)
class Trigger:
    lapsed_days: int | None = None
    within_days: int = 30  # a lapsed store enters while its idle time is in [lapsed, lapsed+within)
    aroma: str | None = None
    event: str | None = None
    replenish: bool = False  # a store whose predicted reorder of a SKU is a day away


@dataclass(frozen=True)
class Journey:
    name: str
    subject: str
    trigger: Trigger
    steps: tuple[Step, ...]
    goal: str = "ordered"
    goal_days: int = 30
    control: float = 0.10
    reentry_days: int | None = None  # None: never re-enter
    version: int = 0
    source: str = field(default="", compare=False)

    def step(self, step_id: str) -> Step | None:
        for step in self.steps:
            if step.id == step_id:
                return step
        return None

    def after(self, step_id: str) -> str:
        """The id of the step after ``step_id`` ("" at the end)."""
        ids = [s.id for s in self.steps]
        i = ids.index(step_id)
        return ids[i + 1] if i + 1 < len(ids) else ""

    def target(self, step_id: str, where: str) -> str:
        if where == NEXT:
            return self.after(step_id)
        return "" if where == END else where

    @property
    def first(self) -> str:
        return self.steps[0].id if self.steps else ""


def _duration(raw: Any, where: str) -> timedelta:  # ``where``: the step's id
    if not isinstance(raw, dict) or not raw or set(raw) - {"days", "hours", "minutes"}:
        raise InvalidDefinition(
            f"step {where}: wait needs days/hours/minutes", code="wait_duration", step=where
        )
    return timedelta(**{k: float(v) for k, v in raw.items()})


def _step(raw: Any, index: int) -> Step:
    if not isinstance(raw, dict):
        raise InvalidDefinition(
            f"step {index + 1} is not a mapping", code="step_not_mapping", step=str(index + 1)
        )
    sid = str(raw.get("id") or f"step{index + 1}")
    if "wait" in raw:
        return Step(sid, "wait", wait=_duration(raw["wait"], sid))
    if "condition" in raw:
        cond = raw["condition"]
        if not isinstance(cond, dict) or not cond or set(cond) - {"ordered", "scanned", "reached", "tag"}:
            raise InvalidDefinition(
                f"step {sid}: condition needs ordered / scanned / reached / tag",
                code="condition_keys",
                step=sid,
            )
        return Step(
            sid,
            "condition",
            condition=tuple(sorted(cond.items())),
            then=str(raw.get("then", NEXT)),
            otherwise=str(raw.get("else", NEXT)),
        )
    action = raw.get("action")
    if action not in ACTIONS:
        raise InvalidDefinition(
            f"step {sid}: action must be one of {', '.join(ACTIONS)}", code="unknown_action", step=sid
        )
    variants = tuple(
        Variant(
            str(v.get("name")),
            float(v.get("weight", 1)),
            str(v.get("template", raw.get("template", ""))),
            int(v["campaign"]) if v.get("campaign") is not None else None,
        )
        for v in raw.get("variants") or ()
    )
    step = Step(
        sid,
        action,
        template=str(raw.get("template", "")),
        campaign=int(raw["campaign"]) if raw.get("campaign") is not None else None,
        tag=str(raw.get("tag", "")),
        variants=variants,
    )
    # a message without a template and without variants was accepted (all() of nothing is True)
    if action in ("message", "notify_distributor") and not (
        step.template or (variants and all(v.template for v in variants))
    ):
        raise InvalidDefinition(f"step {sid}: a message needs a template", code="message_template", step=sid)
    if action == "message" and variants and not all(v.template for v in variants):
        raise InvalidDefinition(
            f"step {sid}: every variant needs a template", code="variant_template", step=sid
        )
    if action == "coupon" and step.campaign is None and not (variants and all(v.campaign for v in variants)):
        raise InvalidDefinition(
            f"step {sid}: a coupon needs a campaign (the core's campaign id)",
            code="coupon_campaign",
            step=sid,
        )
    if action == "tag" and not step.tag:
        raise InvalidDefinition(f"step {sid}: tag needs a tag", code="tag_missing", step=sid)
    if any(v.weight <= 0 for v in variants) or len({v.name for v in variants}) != len(variants):
        raise InvalidDefinition(
            f"step {sid}: variants need distinct names and positive weights", code="variant_weights", step=sid
        )
    return step


def parse(text: str) -> Journey:
    """The journey of a YAML text, or ``InvalidDefinition`` with a code (and the step) saying why."""
    try:
        return _parse(text)
    except (ValueError, TypeError) as exc:  # a number that is not one (days: "x", weight: [])
        raise InvalidDefinition(f"a number is not a number: {exc}", code="bad_number") from exc


def _parse(text: str) -> Journey:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidDefinition(f"not YAML: {exc}", code="not_yaml") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise InvalidDefinition("a journey needs a name", code="name_missing")
    name = raw["name"].strip()
    if len(name) > 64:
        raise InvalidDefinition("the name is longer than 64 characters", code="name_long")
    subject = raw.get("subject", "store")
    if subject not in SUBJECTS:
        raise InvalidDefinition(f"subject must be one of {', '.join(SUBJECTS)}", code="subject")
    trig = raw.get("trigger")
    if not isinstance(trig, dict) or len(set(trig) - {"within_days"}) != 1:
        raise InvalidDefinition(
            "trigger needs exactly one of lapsed_days, aroma, event, replenish", code="trigger_one"
        )
    trigger = Trigger(
        lapsed_days=int(trig["lapsed_days"]) if "lapsed_days" in trig else None,
        within_days=int(trig.get("within_days", 30)),
        aroma=str(trig["aroma"]) if "aroma" in trig else None,
        event=str(trig["event"]) if "event" in trig else None,
        replenish=bool(trig.get("replenish", False)),
    )
    if "replenish" in trig and not trigger.replenish:
        raise InvalidDefinition("replenish is a trigger only as 'replenish: true'", code="replenish_true")
    if trigger.replenish and subject != "store":
        raise InvalidDefinition("replenish is a store trigger", code="replenish_store")
    if trigger.event is not None and trigger.event not in EVENTS:
        raise InvalidDefinition(f"event must be one of {', '.join(EVENTS)}", code="event_unknown")
    if trigger.lapsed_days is not None and subject != "store":
        raise InvalidDefinition("lapsed_days is a store trigger", code="lapsed_store")
    if trigger.event is not None and subject != "consumer":
        raise InvalidDefinition("events (first_scan, new_follower) enrol consumers", code="event_consumer")
    goal = raw.get("goal", "ordered" if subject == "store" else "scanned")
    if goal not in GOALS:
        raise InvalidDefinition(f"goal must be one of {', '.join(GOALS)}", code="goal")
    control = float(raw.get("control", 0.10))
    if not 0 <= control < 1:
        raise InvalidDefinition("control must be a share in [0, 1)", code="control")
    reentry = raw.get("reentry", "never")
    if reentry == "never":
        reentry_days = None
    elif isinstance(reentry, dict) and set(reentry) == {"after_days"}:
        reentry_days = int(reentry["after_days"])
    else:
        raise InvalidDefinition("reentry is 'never' or {after_days: N}", code="reentry")
    steps_raw = raw.get("steps") or []
    if not isinstance(steps_raw, list) or not steps_raw:
        raise InvalidDefinition("a journey needs steps", code="steps_missing")
    steps = tuple(_step(s, i) for i, s in enumerate(steps_raw))
    ids = [s.id for s in steps]
    if len(set(ids)) != len(ids) or any(i in (END, NEXT, "") for i in ids):
        raise InvalidDefinition("step ids must be distinct and not 'end' or 'next'", code="step_ids")
    for i, s in enumerate(steps):
        for where in (s.then, s.otherwise):
            if where not in (END, NEXT) and where not in ids:
                raise InvalidDefinition(
                    f"step {s.id}: no step {where!r} to go to", code="goto_unknown", step=s.id
                )
            if where in ids and ids.index(where) <= i:
                # every step runs at most once per enrolment, so a journey only moves forward
                raise InvalidDefinition(
                    f"step {s.id}: may only go forward (to a later step)", code="goto_backward", step=s.id
                )
    return Journey(
        name=name,
        subject=subject,
        trigger=trigger,
        steps=steps,
        goal=goal,
        goal_days=int(raw.get("goal_days", 30)),
        control=control,
        reentry_days=reentry_days,
        source=text,
    )
