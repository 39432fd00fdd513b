"""Referral: both rewarded at the invitee's first genuine scan; self and loops refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db import session_scope
from bot.membership import points, referral
from bot.membership.codes import make
from bot.membership.errors import ReferralRefused
from bot.membership.interface import ScanRequest
from bot.membership.merge import merge_members
from bot.membership.reward_models import Referral
from tests.membership.conftest import adult, make_batch

SECRET = b"referral-secret-0123456789"


async def _bind(sessions, tenant_id, inviter, invitee):
    async with session_scope(sessions) as session:
        return await referral.bind(session, tenant_id, inviter, invitee)


async def _balance(sessions, member):
    async with session_scope(sessions) as session:
        return (await points.summary(session, member)).consumption


def test_share_tokens_are_unforgeable():
    token = referral.share_token(SECRET, 1, 42)
    assert referral.read_token(SECRET, token) == (1, 42)
    assert referral.read_token(SECRET, token.replace("42", "43", 1)) is None
    assert referral.read_token(b"another-secret-0123456789", token) is None
    assert referral.read_token(SECRET, "garbage") is None


async def test_both_are_rewarded_once_at_the_first_genuine_scan(sessions, tenant_id, scanner, code_keys):
    batch = await make_batch(sessions, tenant_id)
    inviter, invitee = await adult(sessions, tenant_id), await adult(sessions, tenant_id)
    await _bind(sessions, tenant_id, inviter, invitee)
    assert await _bind(sessions, tenant_id, inviter, invitee)  # the same link again is fine
    for serial in (1, 2):
        await scanner.scan(
            ScanRequest(tenant_id, invitee, make(code_keys, tenant_id, batch.id, serial), channel="mp")
        )
    assert await _balance(sessions, invitee) == 10 + 10 + 20
    assert await _balance(sessions, inviter) == 50
    async with session_scope(sessions) as session:
        row = (await session.execute(select(Referral))).scalar_one()
        assert row.status == "rewarded"


async def test_self_loops_second_inviters_and_old_members_are_refused(
    sessions, tenant_id, scanner, code_keys
):
    a, b, c, d = [await adult(sessions, tenant_id) for _ in range(4)]
    with pytest.raises(ReferralRefused, match="self"):
        await _bind(sessions, tenant_id, a, a)
    await _bind(sessions, tenant_id, a, b)
    await _bind(sessions, tenant_id, b, c)
    with pytest.raises(ReferralRefused, match="loop"):
        await _bind(sessions, tenant_id, c, a)  # a -> b -> c -> a
    with pytest.raises(ReferralRefused, match="already"):
        await _bind(sessions, tenant_id, d, c)
    batch = await make_batch(sessions, tenant_id)
    await scanner.scan(ScanRequest(tenant_id, d, make(code_keys, tenant_id, batch.id, 9), channel="mp"))
    with pytest.raises(ReferralRefused, match="not_new"):
        await _bind(sessions, tenant_id, a, d)


async def test_a_referral_between_two_identities_of_one_person_pays_nothing(
    sessions, tenant_id, scanner, code_keys
):
    batch = await make_batch(sessions, tenant_id)
    oa_self, mp_self = await adult(sessions, tenant_id), await adult(sessions, tenant_id)
    await _bind(sessions, tenant_id, oa_self, mp_self)
    async with session_scope(sessions) as session:
        await merge_members(session, oa_self, mp_self, reason="unionid")
    await scanner.scan(ScanRequest(tenant_id, mp_self, make(code_keys, tenant_id, batch.id, 1), channel="mp"))
    assert await _balance(sessions, oa_self) == 10  # the scan only
    async with session_scope(sessions) as session:
        assert (await session.execute(select(Referral.status))).scalar_one() == "refused"
