"""Fraud control: caps, velocity windows, lockouts, pattern flags and anti-diversion alerts."""

from __future__ import annotations

from sqlalchemy import select

from bot.db import session_scope
from bot.membership import actions
from bot.membership.code_models import CodeRedemption, DiversionAlert, FraudFlag, ScanRejection
from bot.membership.codes import make
from bot.membership.interface import CREDITED, INVALID, REJECTED, ScanRequest
from bot.membership.models import MemberIdentity
from tests.membership.conftest import adult, make_batch, set_config


def _req(tenant_id, member_id, text, **kw) -> ScanRequest:
    return ScanRequest(
        tenant_id=tenant_id, member_id=member_id, text=text, channel=kw.pop("channel", "mp"), **kw
    )


async def test_daily_cap_refuses_the_next_code_and_keeps_it(sessions, tenant_id, scanner, code_keys):
    await set_config(sessions, tenant_id, scanner, daily_scan_cap=2)
    batch = await make_batch(sessions, tenant_id)
    member = await adult(sessions, tenant_id)
    results = [
        await scanner.scan(_req(tenant_id, member, make(code_keys, tenant_id, batch.id, s)))
        for s in (1, 2, 3)
    ]
    assert [(r.outcome, r.reason) for r in results] == [
        (CREDITED, None),
        (CREDITED, None),
        (REJECTED, "daily_cap"),
    ]
    async with session_scope(sessions) as session:
        rejection = (await session.execute(select(ScanRejection))).scalar_one()
        assert (rejection.reason, rejection.serial, rejection.member_id) == ("daily_cap", 3, member)
    # the refused code is still redeemable by someone else
    other = await adult(sessions, tenant_id)
    assert (
        await scanner.scan(_req(tenant_id, other, make(code_keys, tenant_id, batch.id, 3)))
    ).outcome == CREDITED


async def test_monthly_cap(sessions, tenant_id, scanner, code_keys):
    await set_config(sessions, tenant_id, scanner, monthly_scan_cap=1)
    batch = await make_batch(sessions, tenant_id)
    member = await adult(sessions, tenant_id)
    outcomes = [
        (await scanner.scan(_req(tenant_id, member, make(code_keys, tenant_id, batch.id, s)))).reason
        for s in (1, 2)
    ]
    assert outcomes == [None, "monthly_cap"]


async def test_member_and_device_velocity_windows_never_the_shared_address(
    sessions, tenant_id, scanner, code_keys
):
    """Policy (docs/membership.md, "Fraud windows"): a signed-in scan counts against its member
    and its device, not against an IP address that many people may share."""
    await set_config(sessions, tenant_id, scanner, member_velocity=[[60, 3]], source_velocity=[[60, 4]])
    batch = await make_batch(sessions, tenant_id)
    member = await adult(sessions, tenant_id)
    first = [
        await scanner.scan(_req(tenant_id, member, make(code_keys, tenant_id, batch.id, s)))
        for s in range(1, 5)
    ]
    assert [r.reason for r in first] == [None, None, None, "velocity"]
    # one phone with five accounts: the device window (4 per minute) fills up
    phone_users = [await adult(sessions, tenant_id) for _ in range(5)]
    results = [
        await scanner.scan(
            _req(tenant_id, m, make(code_keys, tenant_id, batch.id, 100 + i), device="dev-farm-1")
        )
        for i, m in enumerate(phone_users)
    ]
    assert [r.reason for r in results] == [None, None, None, None, "velocity"]
    # twenty consumers behind one address within the minute, each on his own phone: all credited
    neighbours = [await adult(sessions, tenant_id) for _ in range(20)]
    crowd = [
        await scanner.scan(
            _req(tenant_id, m, make(code_keys, tenant_id, batch.id, 200 + i), ip="192.0.2.50", device=f"d{i}")
        )
        for i, m in enumerate(neighbours)
    ]
    assert [r.outcome for r in crowd] == [CREDITED] * 20
    async with session_scope(sessions) as session:
        assert len((await session.execute(select(CodeRedemption))).scalars().all()) == 3 + 4 + 20


async def test_anonymous_invalid_codes_lock_only_anonymous_requests_from_that_address(
    sessions, tenant_id, scanner, code_keys
):
    await set_config(sessions, tenant_id, scanner, invalid_lockout_count=5)
    batch = await make_batch(sessions, tenant_id)
    garbage = [await scanner.scan(_req(tenant_id, None, f"garbage{i}", ip="192.0.2.77")) for i in range(6)]
    assert [r.reason for r in garbage][4:] == ["locked_now", "locked"]
    # another anonymous address is not affected
    assert (await scanner.scan(_req(tenant_id, None, "garbage", ip="192.0.2.78"))).reason != "locked"
    # a signed-in member behind the locked address scans normally, and his invalid code is his own
    member = await adult(sessions, tenant_id)
    ok = await scanner.scan(_req(tenant_id, member, make(code_keys, tenant_id, batch.id, 1), ip="192.0.2.77"))
    assert ok.outcome == CREDITED
    typo = await scanner.scan(_req(tenant_id, member, "0" * 32, ip="192.0.2.77"))
    assert (typo.outcome, typo.reason) != (REJECTED, "locked")


async def test_repeated_invalid_codes_lock_the_member_out(sessions, tenant_id, scanner, code_keys):
    await set_config(sessions, tenant_id, scanner, invalid_lockout_count=3)
    batch = await make_batch(sessions, tenant_id)
    member = await adult(sessions, tenant_id)
    bad = [await scanner.scan(_req(tenant_id, member, "0" * 31 + str(i))) for i in range(3)]
    assert [r.outcome for r in bad] == [INVALID] * 3 and bad[-1].reason == "locked_now"
    good = await scanner.scan(_req(tenant_id, member, make(code_keys, tenant_id, batch.id, 1)))
    assert (good.outcome, good.reason) == (REJECTED, "locked")
    await scanner.guard.unlock(tenant_id, "m", str(member))
    assert (
        await scanner.scan(_req(tenant_id, member, make(code_keys, tenant_id, batch.id, 1)))
    ).outcome == CREDITED


async def test_caps_from_many_batches_raise_a_pattern_flag_once(sessions, tenant_id, scanner, code_keys):
    await set_config(sessions, tenant_id, scanner, pattern_max_batches=2, flags_block_scans=True)
    member = await adult(sessions, tenant_id)
    lots = [await make_batch(sessions, tenant_id) for _ in range(4)]
    results = [await scanner.scan(_req(tenant_id, member, make(code_keys, tenant_id, b.id, 1))) for b in lots]
    # the third batch crosses the line (credited, flagged); with flags blocking, the 4th is refused
    assert [r.reason for r in results] == [None, None, None, "flagged"]
    async with session_scope(sessions) as session:
        flags = (await session.execute(select(FraudFlag))).scalars().all()
    assert [(f.member_id, f.kind) for f in flags] == [(member, "many_batches")]


async def test_out_of_region_scan_raises_a_diversion_alert(sessions, tenant_id, scanner, code_keys):
    batch = await make_batch(sessions, tenant_id)  # shipped to 西南: 四川, 贵州, 重庆
    inside, outside, by_ip, by_oa = [await adult(sessions, tenant_id) for _ in range(4)]
    ok = await scanner.scan(
        _req(tenant_id, inside, make(code_keys, tenant_id, batch.id, 1), latitude=29.56, longitude=106.55)
    )
    beijing = await scanner.scan(
        _req(tenant_id, outside, make(code_keys, tenant_id, batch.id, 2), latitude=39.95, longitude=116.30)
    )
    canton = await scanner.scan(
        _req(tenant_id, by_ip, make(code_keys, tenant_id, batch.id, 3), ip="198.51.100.23")
    )
    async with session_scope(sessions) as session:  # the OA's LOCATION event, stored on the identity
        openid = (
            await session.execute(select(MemberIdentity.openid).where(MemberIdentity.member_id == by_oa))
        ).scalar_one()
        await actions.record_location(
            session, "wxoa", openid, latitude=31.23, longitude=121.47, precision=30.0
        )
    shanghai = await scanner.scan(
        _req(tenant_id, by_oa, make(code_keys, tenant_id, batch.id, 4), channel="h5")
    )
    assert (ok.diverted, beijing.diverted, canton.diverted, shanghai.diverted) == (False, True, True, True)
    assert beijing.outcome == CREDITED  # the consumer keeps the points; the brand gets the alert
    async with session_scope(sessions) as session:
        alerts = (await session.execute(select(DiversionAlert).order_by(DiversionAlert.id))).scalars().all()
    assert [
        (a.region_code, a.distributor_code, a.found_province, a.found_city, a.place_source) for a in alerts
    ] == [
        ("SW", "D-CD-01", "北京市", "北京", "mp"),
        ("SW", "D-CD-01", "广东省", "广州", "ip"),
        ("SW", "D-CD-01", "上海市", "上海", "gps"),
    ]
    assert {a.batch_id for a in alerts} == {batch.id}
