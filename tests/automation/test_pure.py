"""Pure parts: RFM scoring, lifecycle, tiers, holdout hashing, quiet hours, the uplift interval,
journey definitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.automation import definitions, holdout
from bot.automation.clock import SHANGHAI, parse_at
from bot.automation.errors import InvalidDefinition
from bot.automation.profiles import (
    ACTIVE,
    DORMANT,
    LAPSING,
    NEW,
    NONE,
    WON_BACK,
    Purchase,
    SkuInfo,
    facts,
    lifecycle,
    rfm_cells,
)
from bot.automation.quiet import QuietHours
from bot.automation.stats import uplift, wilson
from bot.automation.tiers import DEFAULT, TierRules

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def test_lifecycle_stages():
    assert lifecycle([], NOW) == NONE
    assert lifecycle([days_ago(5)], NOW) == NEW
    assert lifecycle([days_ago(100), days_ago(80), days_ago(70), days_ago(65), days_ago(3)], NOW) == WON_BACK
    assert (
        lifecycle([days_ago(100), days_ago(90), days_ago(75), days_ago(50), days_ago(25), days_ago(3)], NOW)
        == ACTIVE
    )
    assert lifecycle([days_ago(100), days_ago(40)], NOW) == LAPSING
    assert lifecycle([days_ago(100), days_ago(61)], NOW) == DORMANT
    # the future does not count (replays ask about the past)
    assert lifecycle([days_ago(100), NOW + timedelta(days=1)], NOW) == DORMANT


def test_facts_and_affinity_shares():
    catalog = {"FT": SkuInfo("茅台", "酱香"), "WLY": SkuInfo("五粮液", "浓香")}
    f = facts(
        [
            Purchase(days_ago(10), 30000, (("FT", 30000),)),
            Purchase(days_ago(40), 10000, (("WLY", 10000),)),
            Purchase(days_ago(400), 99999, (("WLY", 99999),)),  # outside the 365-day window
        ],
        NOW,
        catalog,
    )
    assert (f.recency_days, f.frequency, f.monetary_fen) == (10, 2, 40000)
    assert f.aroma == {"酱香": 0.75, "浓香": 0.25}
    assert f.top_aroma == "酱香" and f.top_brand == "茅台"


def test_rfm_quintiles_rank_peers():
    subjects = {
        f"s{i}": facts([Purchase(days_ago(i + 1), 1000 * (i + 1))] * (i % 5 + 1), NOW) for i in range(10)
    }
    subjects["never"] = facts([], NOW)
    cells = rfm_cells(subjects)
    assert cells["never"] == "111"
    assert cells["s0"][0] == "5"  # most recent
    assert cells["s9"][0] == "1"  # least recent
    assert cells["s9"][2] == "5" and cells["s0"][2] == "1"  # most / least spend
    assert all(len(c) == 3 and set(c) <= set("12345") for c in cells.values())


def test_tiers_first_matching_rule_and_preference():
    big = facts([Purchase(days_ago(i * 20 + 1), 500000) for i in range(13)], NOW)
    mid = facts([Purchase(days_ago(i * 30 + 1), 300000) for i in range(5)], NOW)
    small = facts([Purchase(days_ago(3), 1000)], NOW)
    assert DEFAULT.assign(big)[0] == "战略"
    assert DEFAULT.assign(mid)[0] == "核心"
    assert DEFAULT.assign(small)[0] == "潜力"
    rules = TierRules.parse(
        "tiers:\n  - {name: 核心, min_frequency: 1, aroma: {酱香: 0.5}}\n  - {name: 潜力}\n"
    )
    catalog = {"FT": SkuInfo("茅台", "酱香"), "WLY": SkuInfo("五粮液", "浓香")}
    jx = facts([Purchase(days_ago(3), 100, (("FT", 100),))], NOW, catalog)
    ny = facts([Purchase(days_ago(3), 100, (("WLY", 100),))], NOW, catalog)
    assert rules.assign(jx)[0] == "核心" and rules.assign(ny)[0] == "潜力"
    with pytest.raises(InvalidDefinition):
        TierRules.parse("tiers:\n  - {name: 核心, min_spend: 1}\n")
    with pytest.raises(InvalidDefinition):
        TierRules.parse("tiers: []")


def test_holdout_is_deterministic_and_near_its_share():
    subjects = [f"store:S{i:05d}" for i in range(20000)]
    held = [s for s in subjects if holdout.in_global_holdout(7, s, 0.05)]
    assert 0.045 < len(held) / len(subjects) < 0.055
    assert held == [s for s in subjects if holdout.in_global_holdout(7, s, 0.05)]  # stable
    # another tenant holds out other people
    other = {s for s in subjects if holdout.in_global_holdout(8, s, 0.05)}
    assert len(other & set(held)) < len(held) * 0.2
    arms = [holdout.arm(7, "win-back", s, holdout=0.05, control=0.10) for s in subjects]
    control = arms.count(holdout.CONTROL) / len(arms)
    assert 0.085 < control < 0.105  # 10% of the 95% not held out
    assert all(a == holdout.HOLDOUT for s, a in zip(subjects, arms, strict=True) if s in set(held))
    # the journey control is independent of the journey
    a1 = {s for s in subjects if holdout.arm(7, "a", s, holdout=0, control=0.1) == holdout.CONTROL}
    a2 = {s for s in subjects if holdout.arm(7, "b", s, holdout=0, control=0.1) == holdout.CONTROL}
    assert len(a1 & a2) < len(a1) * 0.2
    variants = [holdout.variant(7, "j", "m", s, [("a", 1), ("b", 3)]) for s in subjects]
    assert 0.22 < variants.count("a") / len(variants) < 0.28


def test_quiet_hours_hold_until_the_window_ends():
    quiet = QuietHours()
    at = lambda h, m=0, d=1: datetime(2026, 12, d, h, m, tzinfo=SHANGHAI)  # noqa: E731
    assert not quiet.quiet(at(21, 29)) and quiet.quiet(at(21, 30))
    assert quiet.quiet(at(3)) and quiet.quiet(at(8, 29)) and not quiet.quiet(at(8, 30))
    assert quiet.release(at(22)) == at(8, 30, 2)
    assert quiet.release(at(2)) == at(8, 30, 1)
    assert quiet.release(at(12)) == at(12)
    assert not QuietHours.parse("").quiet(at(3))
    day = QuietHours.parse("12:00-13:00")
    assert day.quiet(at(12, 30)) and not day.quiet(at(13))
    assert parse_at("2026-12-31T10:00") == datetime(2026, 12, 31, 10, tzinfo=SHANGHAI)
    assert parse_at("2026-12-31T10:00+08:00").utcoffset() == timedelta(hours=8)


def test_wilson_and_newcombe_interval():
    low, high = wilson(0, 10)
    assert low == 0 and 0.27 < high < 0.28  # the textbook 0.2775
    lo, hi = wilson(81, 263)  # Newcombe 1998, example: 0.2553 .. 0.3662
    assert abs(lo - 0.2553) < 5e-4 and abs(hi - 0.3662) < 5e-4
    # Newcombe 1998 table II example (56/70 vs 48/80): difference 0.2, interval 0.0524 .. 0.3339
    u = uplift(56, 70, 48, 80)
    assert u is not None
    assert abs(u.difference - 0.2) < 1e-9
    assert abs(u.low - 0.0524) < 5e-4 and abs(u.high - 0.3339) < 5e-4 and u.significant
    even = uplift(10, 100, 10, 100)
    assert even is not None and even.low < 0 < even.high and not even.significant
    assert uplift(1, 10, 0, 0) is None


WINBACK = """
name: win-back
subject: store
trigger: {lapsed_days: 30}
steps:
  - {id: coupon, action: coupon, campaign: 3}
  - id: message
    action: message
    variants: [{name: a, template: winback}, {name: b, weight: 2, template: winback_b}]
  - {id: wait, wait: {days: 7}}
  - {id: check, condition: {ordered: true}, then: end, else: remind}
  - {id: remind, action: message, template: winback}
"""


def test_definitions_parse_and_refuse():
    j = definitions.parse(WINBACK)
    assert [s.id for s in j.steps] == ["coupon", "message", "wait", "check", "remind"]
    assert j.control == 0.10 and j.reentry_days is None and j.goal == "ordered"
    assert j.step("wait").wait == timedelta(days=7)
    assert j.target("check", "end") == "" and j.target("check", "remind") == "remind"
    assert [v.weight for v in j.step("message").variants] == [1.0, 2.0]
    bad = {
        "no name": "subject: store",
        "two triggers": WINBACK.replace("{lapsed_days: 30}", "{lapsed_days: 30, aroma: 酱香}"),
        "backward": WINBACK.replace("else: remind", "else: coupon"),
        "unknown target": WINBACK.replace("else: remind", "else: nowhere"),
        "coupon without campaign": WINBACK.replace(", campaign: 3", ""),
        "consumer lapsed": WINBACK.replace("subject: store", "subject: consumer"),
        "bad action": WINBACK.replace("action: coupon", "action: template"),
        "control": WINBACK + "control: 1.5\n",
        "message without a template": WINBACK.replace(
            "action: message, template: winback}", "action: message}"
        ),
        "a number that is not one": WINBACK.replace("{days: 7}", "{days: soon}"),
    }
    for why, text in bad.items():
        with pytest.raises(InvalidDefinition):
            definitions.parse(text)
            pytest.fail(why)
    # each refusal carries a code (and the step) for the console's Chinese sentence
    with pytest.raises(InvalidDefinition) as refused:
        definitions.parse(bad["message without a template"])
    assert (refused.value.code, refused.value.step) == ("message_template", "remind")
    with pytest.raises(InvalidDefinition) as refused:
        definitions.parse(bad["a number that is not one"])
    assert refused.value.code == "bad_number"


def test_quiet_hours_setting_is_checked_at_start_up():
    from bot.config import ConfigError, load_settings

    assert load_settings(_env_file=None, automation_quiet_hours="22:00-07:00").automation_quiet_hours
    assert load_settings(_env_file=None, automation_quiet_hours="").automation_quiet_hours == ""
    with pytest.raises(ConfigError) as refused:
        load_settings(_env_file=None, automation_quiet_hours="21.30-8")
    assert any("automation_quiet_hours" in line.lower() for line in refused.value.lines)
