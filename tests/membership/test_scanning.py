"""Scanning: exactly one credit per code, repeat scans told when and where, refusals kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.db import session_scope
from bot.membership import actions, ledger, points, rules
from bot.membership.code_models import CodeRedemption, CodeRepeatScan, ScanRejection
from bot.membership.codes import make, url
from bot.membership.interface import AGE_REQUIRED, CREDITED, INVALID, MINE, REJECTED, REPEAT, ScanRequest
from bot.membership.ledger_models import ORDERING, PointsAccount, PointsLedger
from tests.membership.conftest import adult, make_batch, new_member


def _req(tenant_id, member_id, text, **kw) -> ScanRequest:
    return ScanRequest(
        tenant_id=tenant_id, member_id=member_id, text=text, channel=kw.pop("channel", "mp"), **kw
    )


async def _count(sessions, model, *where) -> int:
    async with session_scope(sessions) as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def test_first_scan_credits_rescan_is_mine_and_others_see_a_repeat(
    sessions, tenant_id, scanner, code_keys
):
    batch = await make_batch(sessions, tenant_id)
    code = make(code_keys, tenant_id, batch.id, 7)
    alice, bob = await adult(sessions, tenant_id), await adult(sessions, tenant_id)
    first = await scanner.scan(_req(tenant_id, alice, url("https://jb.example.cn", code), ip="203.0.113.5"))
    assert (first.outcome, first.points, first.balance, first.first_place) == (CREDITED, 10, 10, "四川省成都")
    assert first.product.name == "黔酒·酱香典藏 53度 500ml"
    again = await scanner.scan(_req(tenant_id, alice, code))
    assert (again.outcome, again.points, again.balance) == (MINE, 10, 10)
    other = await scanner.scan(_req(tenant_id, bob, code.lower(), ip="198.51.100.9"))
    assert (other.outcome, other.points, other.first_place, other.repeat_count) == (
        REPEAT,
        0,
        "四川省成都",
        1,
    )
    assert other.first_scanned_at == first.first_scanned_at
    assert await _count(sessions, CodeRedemption) == 1
    assert await _count(sessions, CodeRepeatScan) == 1
    assert await _count(sessions, PointsLedger) == 1
    async with session_scope(sessions) as session:
        assert (await points.summary(session, bob)).consumption == 0


async def test_one_hundred_concurrent_scanners_of_one_code_give_one_credit(
    sessions, tenant_id, scanner, code_keys
):
    batch = await make_batch(sessions, tenant_id)
    code = make(code_keys, tenant_id, batch.id, 99)
    members = [await adult(sessions, tenant_id) for _ in range(100)]
    await set_velocity_off(sessions, tenant_id, scanner)
    results = await asyncio.gather(*(scanner.scan(_req(tenant_id, m, code)) for m in members))
    outcomes = sorted(r.outcome for r in results)
    assert outcomes.count(CREDITED) == 1 and outcomes.count(REPEAT) == 99
    assert await _count(sessions, CodeRedemption) == 1
    assert await _count(sessions, PointsLedger, PointsLedger.source_kind == "bottle_code") == 1
    async with session_scope(sessions) as session:
        balances = (
            await session.execute(select(PointsAccount.balance).where(PointsAccount.balance > 0))
        ).scalars()
        assert list(balances) == [10]
        assert (await ledger.audit(session))[1] == []


async def set_velocity_off(sessions, tenant_id, scanner):
    from tests.membership.conftest import set_config

    await set_config(
        sessions, tenant_id, scanner, source_velocity=[[60, 100000]], member_velocity=[[60, 100000]]
    )


async def test_forged_truncated_and_tampered_codes_cost_no_sql(
    sessions, tenant_id, scanner, code_keys, count_sql
):
    batch = await make_batch(sessions, tenant_id)
    members = [await adult(sessions, tenant_id) for _ in range(7)]  # one each: 5 bad codes lock a member out
    good = make(code_keys, tenant_id, batch.id, 5)
    await scanner.configs.get(tenant_id)  # the tenant's knobs are cached per process
    tampered = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
    forged = make(type(code_keys)(b"someone-elses-key-0123456789abcdef"), tenant_id, batch.id, 5)
    other_tenant = make(code_keys, tenant_id + 1, batch.id, 5)
    texts = [
        good[:20],
        good + "7",
        tampered,
        forged,
        other_tenant,
        "https://jb.example.cn/c/" + "Z" * 32,
        "你好",
    ]
    with count_sql() as counter:
        results = [
            await scanner.scan(_req(tenant_id, members[i], t, ip=f"192.0.2.{i}")) for i, t in enumerate(texts)
        ]
    assert [r.outcome for r in results] == [INVALID] * len(texts)
    assert counter.statements == []
    reviews = await scanner.guard.recent_reviews(tenant_id)
    assert len(reviews) == len(texts)
    assert {r["reason"] for r in reviews} == {"invalid_format", "invalid_signature", "invalid_version"}


async def test_voided_and_unshipped_codes_are_refused_and_kept_for_review(
    sessions, tenant_id, scanner, code_keys
):
    from bot.membership import batches

    shipped = await make_batch(sessions, tenant_id)
    unshipped = await make_batch(sessions, tenant_id, activate=False)
    async with session_scope(sessions) as session:
        await batches.mark_range(session, tenant_id, shipped.id, 10, 20, "void")
    member = await adult(sessions, tenant_id)
    voided = await scanner.scan(_req(tenant_id, member, make(code_keys, tenant_id, shipped.id, 15)))
    fresh = await scanner.scan(_req(tenant_id, member, make(code_keys, tenant_id, unshipped.id, 1)))
    assert (voided.outcome, voided.reason) == (REJECTED, "voided")
    assert (fresh.outcome, fresh.reason) == (REJECTED, "not_activated")
    async with session_scope(sessions) as session:
        reasons = (await session.execute(select(ScanRejection.reason).order_by(ScanRejection.id))).scalars()
        assert list(reasons) == ["voided", "not_activated"]
    assert await _count(sessions, CodeRedemption) == 0


async def test_age_must_be_confirmed_before_points(sessions, tenant_id, scanner, code_keys):
    batch = await make_batch(sessions, tenant_id)
    member = await new_member(sessions, tenant_id)
    code = make(code_keys, tenant_id, batch.id, 1)
    assert (await scanner.scan(_req(tenant_id, member, code))).outcome == AGE_REQUIRED
    assert await _count(sessions, CodeRedemption) == 0
    async with session_scope(sessions) as session:
        await actions.confirm_age(session, member)
    assert (await scanner.scan(_req(tenant_id, member, code))).outcome == CREDITED


async def test_store_reward_campaign_multiplier_and_tier_upgrade(sessions, tenant_id, scanner, code_keys):
    from tests.membership.conftest import set_config

    await set_config(
        sessions, tenant_id, scanner, tiers=[["basic", "普通会员", 0], ["silver", "银卡会员", 40]]
    )
    batch = await make_batch(sessions, tenant_id, store="S-77", sku="JX-1L")
    now = datetime.now(UTC)
    async with session_scope(sessions) as session:
        await rules.set_rule(session, tenant_id, "JX-1L", scan_points=25, store_reward=3)
        await rules.add_campaign(
            session,
            tenant_id,
            "中秋双倍",
            multiplier_pct=200,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=1),
        )
    member = await adult(sessions, tenant_id)
    result = await scanner.scan(_req(tenant_id, member, make(code_keys, tenant_id, batch.id, 3)))
    assert (result.points, result.campaign, result.store_reward) == (50, "中秋双倍", 3)
    assert (result.tier, result.tier_name, result.tier_upgraded) == ("silver", "银卡会员", True)
    async with session_scope(sessions) as session:
        store = (
            await session.execute(select(PointsAccount).where(PointsAccount.kind == ORDERING))
        ).scalar_one()
        assert store.balance == 3
        assert (await ledger.audit(session))[1] == []


async def test_a_closed_account_refuses_the_credit_and_leaves_the_code_unclaimed(
    sessions, tenant_id, scanner, code_keys
):
    """If the posting fails (the account closed under us), nothing of the claim is kept: on
    PostgreSQL the one-statement claim commits by itself, so the function undoes its own rows."""
    import pytest
    from sqlalchemy import update

    from bot.membership.errors import AccountClosed

    batch = await make_batch(sessions, tenant_id)
    member = await adult(sessions, tenant_id)
    assert (
        await scanner.scan(_req(tenant_id, member, make(code_keys, tenant_id, batch.id, 1)))
    ).outcome == CREDITED
    async with session_scope(sessions) as session:
        await session.execute(update(PointsAccount).values(status="closed"))
    with pytest.raises(AccountClosed):
        await scanner.scan(_req(tenant_id, member, make(code_keys, tenant_id, batch.id, 2)))
    assert await _count(sessions, CodeRedemption, CodeRedemption.serial == 2) == 0
    assert await _count(sessions, PointsLedger) == 1
