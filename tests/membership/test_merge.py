"""Identity linking and member merges: every point survives, even with scans running meanwhile."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import select

from bot.db import session_scope
from bot.membership import actions, ledger, points
from bot.membership.ledger import EARN
from bot.membership.ledger_models import CONSUMPTION, PointsAccount
from bot.membership.merge import merge_members
from bot.membership.models import Member, MemberIdentity, MemberMerge
from tests.membership.conftest import new_member


async def _credit(sessions, tenant_id, member_id, amount, source) -> int:
    async with session_scope(sessions) as session:
        live, _ = await points.credit_member(
            session,
            tenant_id,
            member_id,
            kind=CONSUMPTION,
            delta=amount,
            category=EARN,
            source_kind="test",
            source_id=source,
        )
        return live


async def _balance(sessions, member_id) -> int:
    async with session_scope(sessions) as session:
        return (await points.summary(session, member_id)).consumption


async def test_unionid_links_oa_and_mini_program_into_one_member(sessions, tenant_id):
    oa = await new_member(sessions, tenant_id, appid="wxoa")
    async with session_scope(sessions) as session:
        mp = await actions.ensure_member(session, tenant_id, "wxmp", "mp-openid")
    await _credit(sessions, tenant_id, oa, 30, "a")
    await _credit(sessions, tenant_id, mp, 12, "b")
    async with session_scope(sessions) as session:
        assert await actions.link_unionid(session, tenant_id, "wxmp", "mp-openid", "U1") == mp
        oa_openid = (
            await session.execute(select(MemberIdentity.openid).where(MemberIdentity.member_id == oa))
        ).scalar_one()
    async with session_scope(sessions) as session:
        survivor = await actions.link_unionid(session, tenant_id, "wxoa", oa_openid, "U1")
    assert survivor == min(oa, mp)
    merged = max(oa, mp)
    assert await _balance(sessions, survivor) == 42
    async with session_scope(sessions) as session:
        loser = await session.get(Member, merged)
        assert loser.status == "merged" and loser.merged_into_id == survivor and loser.unionid is None
        assert (await session.get(Member, survivor)).unionid == "U1"
        owners = (await session.execute(select(MemberIdentity.member_id))).scalars().all()
        assert set(owners) == {survivor}
        audit = (await session.execute(select(MemberMerge))).scalar_one()
        assert (audit.survivor_id, audit.merged_id, audit.reason) == (survivor, merged, "unionid")
        assert json.loads(audit.detail)["balances"] == {"consumption": 42}
        closed = (
            await session.execute(select(PointsAccount).where(PointsAccount.member_id == merged))
        ).scalar_one()
        assert (closed.status, closed.balance) == ("merged", 0)
        checked, bad = await ledger.audit(session)
        assert checked == 2 and bad == []


async def test_verified_phone_links_two_members(sessions, tenant_id):
    a = await new_member(sessions, tenant_id)
    b = await new_member(sessions, tenant_id)
    await _credit(sessions, tenant_id, b, 8, "x")
    async with session_scope(sessions) as session:
        assert await actions.link_phone(session, tenant_id, a, "13800000000") == a
    async with session_scope(sessions) as session:
        assert await actions.link_phone(session, tenant_id, b, "13800000000") == a
    assert await _balance(sessions, a) == 8
    assert await _balance(sessions, b) == 8  # the merged id answers for the survivor


async def test_credits_racing_merges_lose_nothing(sessions, tenant_id):
    members = [await new_member(sessions, tenant_id) for _ in range(6)]
    for i, m in enumerate(members):
        await _credit(sessions, tenant_id, m, 10, f"seed{i}")

    async def scans(member: int, tag: str) -> None:
        for j in range(8):
            await _credit(sessions, tenant_id, member, 1, f"{tag}-{j}")

    async def merge(survivor: int, merged: int) -> None:
        async with session_scope(sessions) as session:
            await merge_members(session, survivor, merged, reason="test")

    await asyncio.gather(
        *(scans(m, f"m{m}") for m in members),
        merge(members[0], members[1]),
        merge(members[2], members[3]),
        merge(members[4], members[5]),
    )
    # merge the survivors too, while more scans of already merged ids arrive
    await asyncio.gather(
        merge(members[0], members[2]),
        scans(members[1], "late1"),
        scans(members[3], "late3"),
    )
    total = 6 * 10 + 6 * 8 + 2 * 8
    assert await _balance(sessions, members[0]) + await _balance(sessions, members[4]) == total
    async with session_scope(sessions) as session:
        _, bad = await ledger.audit(session)
        assert bad == []
        open_balances = (
            await session.execute(select(PointsAccount.balance).where(PointsAccount.status == "open"))
        ).scalars()
        assert sum(open_balances) == total


async def test_roles_need_their_store_or_distributor(sessions, tenant_id):
    member = await new_member(sessions, tenant_id)
    async with session_scope(sessions) as session:
        store = await actions.ensure_store(session, tenant_id, "S001", name="老王烟酒店")
        assert await actions.ensure_store(session, tenant_id, "S001") == store
        await actions.assign_role(session, member, "store_owner", store_id=store)
    async with session_scope(sessions) as session:
        row = await session.get(Member, member)
        assert (row.role, row.store_id) == ("store_owner", store)
    import pytest

    from bot.membership.errors import BadRole

    for role, kwargs in (("store_staff", {}), ("distributor_staff", {}), ("boss", {})):
        with pytest.raises(BadRole):
            async with session_scope(sessions) as session:
                await actions.assign_role(session, member, role, **kwargs)


async def test_concurrent_first_contacts_make_one_member(sessions, tenant_id):
    """Regression: psycopg reports rowcount -1 for INSERT ... ON CONFLICT, so the loser of the
    race kept an orphan member; RETURNING tells the winner apart."""

    async def contact() -> int:
        async with session_scope(sessions) as session:
            return await actions.ensure_member(session, tenant_id, "wxoa", "same-openid")

    ids = await asyncio.gather(*(contact() for _ in range(15)))
    assert len(set(ids)) == 1
    async with session_scope(sessions) as session:
        assert len((await session.execute(select(Member.id))).scalars().all()) == 1
