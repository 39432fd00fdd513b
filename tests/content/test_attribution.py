"""Attribution rules on the database (SQLite and PostgreSQL): first forwarder wins inside the
window, the next one after it; the forwarder's own purchases and self-views earn nothing;
revoked and forged tokens; a credit and its ledger row exist once even under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.content import attribution, library, tokens, views
from bot.content.attribution import Rewards
from bot.content.models import ContentCredit
from bot.db import session_scope
from bot.membership.ledger_models import PointsLedger
from tests.membership.conftest import engine, new_member, sessions, tenant_id  # noqa: F401 - fixtures

SECRET = b"content-secret-for-tests-0123456789"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
RULES = Rewards()


async def _item(sessions, tenant_id, **kw) -> int:  # noqa: F811
    async with session_scope(sessions) as session:
        item = await library.create(session, tenant_id, kind="article", title="品鉴会", **kw)
        await library.submit(session, tenant_id, item.id)
        await library.approve(session, tenant_id, item.id, by="hq")
        return item.id


async def _view(sessions, tenant_id, item_id, forwarder, viewer, at):  # noqa: F811
    async with session_scope(sessions) as session:
        share = await attribution.share_for(session, tenant_id, item_id, forwarder)
        return await views.record_view(session, share, viewer, now=at)


async def _credit(sessions, tenant_id, kind, subject, viewer, at):  # noqa: F811
    async with session_scope(sessions) as session:
        return await attribution.credit(session, tenant_id, kind, subject, viewer, at, RULES)


def test_tokens_are_signed_per_purpose():
    token = tokens.sign(SECRET, "abcDEF123")
    assert tokens.read(SECRET, token) == "abcDEF123"
    assert tokens.read(SECRET, token, "view") is None  # a share token is not a view token
    assert tokens.read(b"another-secret-xxxxxxxxxxxxxxxxxx", token) is None
    assert tokens.read(SECRET, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert tokens.read(SECRET, "abcDEF124" + token[9:]) is None
    assert tokens.read(SECRET, "no-dot") is None


async def test_first_forwarder_wins_then_the_next_after_his_window(sessions, tenant_id):  # noqa: F811
    item = await _item(sessions, tenant_id)
    first, second, viewer = [await new_member(sessions, tenant_id) for _ in range(3)]
    await _view(sessions, tenant_id, item, first, viewer, T0)
    await _view(sessions, tenant_id, item, second, viewer, T0 + timedelta(days=2))
    won = await _credit(sessions, tenant_id, "order", "o1", viewer, T0 + timedelta(days=3))
    assert won is not None and won.forwarder_id == first
    # day 8: the first window (7 days from the first view) is over; the second's still runs
    later = await _credit(sessions, tenant_id, "order", "o2", viewer, T0 + timedelta(days=8))
    assert later is not None and later.forwarder_id == second
    # day 10: both windows are over
    assert await _credit(sessions, tenant_id, "order", "o3", viewer, T0 + timedelta(days=10)) is None
    # an event before any view is nobody's
    assert await _credit(sessions, tenant_id, "scan", "m-early", viewer, T0 - timedelta(hours=1)) is None


async def test_self_views_and_own_purchases_earn_nothing(sessions, tenant_id):  # noqa: F811
    item = await _item(sessions, tenant_id)
    forwarder = await new_member(sessions, tenant_id)
    seen = await _view(sessions, tenant_id, item, forwarder, forwarder, T0)
    assert not seen.counted and seen.reason == "self"
    assert await _credit(sessions, tenant_id, "order", "o-own", forwarder, T0 + timedelta(hours=1)) is None
    async with session_scope(sessions) as session:
        share = await attribution.share_for(session, tenant_id, item, forwarder)
        assert (
            await attribution.credit(session, tenant_id, "follow", "m-self", forwarder, T0, RULES, via=share)
            is None
        )


async def test_a_revoked_share_stops_counting_and_earning(sessions, tenant_id):  # noqa: F811
    item = await _item(sessions, tenant_id)
    forwarder, viewer = await new_member(sessions, tenant_id), await new_member(sessions, tenant_id)
    await _view(sessions, tenant_id, item, forwarder, viewer, T0)
    async with session_scope(sessions) as session:
        share = await attribution.share_for(session, tenant_id, item, forwarder)
        assert await attribution.revoke(session, share.id, now=T0 + timedelta(days=1))
        token = attribution.share_token(SECRET, share)
        assert (await attribution.share_by_token(session, SECRET, token)).revoked
    # an order before the revocation is still his; one after it is not
    assert (
        await _credit(sessions, tenant_id, "order", "o-before", viewer, T0 + timedelta(hours=5))
    ) is not None
    assert await _credit(sessions, tenant_id, "order", "o-after", viewer, T0 + timedelta(days=2)) is None
    again = await _view(sessions, tenant_id, item, forwarder, viewer, T0 + timedelta(days=2))
    assert not again.counted and again.reason == "revoked"


async def test_one_credit_and_one_ledger_row_under_concurrency(sessions, tenant_id):  # noqa: F811
    item = await _item(sessions, tenant_id)
    forwarder, viewer = await new_member(sessions, tenant_id), await new_member(sessions, tenant_id)
    await _view(sessions, tenant_id, item, forwarder, viewer, T0)

    async def attempt():  # type: ignore[no-untyped-def]
        try:
            return await _credit(sessions, tenant_id, "order", "o-race", viewer, T0 + timedelta(hours=1))
        except Exception as exc:  # SQLite may refuse a concurrent writer: a retry would be fine
            return exc

    results = await asyncio.gather(*(attempt() for _ in range(8)))
    assert sum(1 for r in results if r is not None and not isinstance(r, Exception)) == 1
    async with session_scope(sessions) as session:
        assert (await session.execute(select(func.count()).select_from(ContentCredit))).scalar_one() == 1
        rows = (
            await session.execute(
                select(PointsLedger.delta).where(PointsLedger.source_kind == "content_order")
            )
        ).all()
    assert rows == [(50,)]


async def test_unique_viewers_are_per_share_per_day_in_china_time(sessions, tenant_id):  # noqa: F811
    item = await _item(sessions, tenant_id)
    forwarder, viewer = await new_member(sessions, tenant_id), await new_member(sessions, tenant_id)
    day = datetime(2026, 11, 1, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    assert (await _view(sessions, tenant_id, item, forwarder, viewer, day)).first_today
    assert not (
        await _view(sessions, tenant_id, item, forwarder, viewer, day + timedelta(minutes=20))
    ).first_today
    assert (
        await _view(sessions, tenant_id, item, forwarder, viewer, day + timedelta(minutes=40))
    ).first_today


async def test_impossible_reading_times_are_flagged_and_replays_change_nothing(sessions, tenant_id):  # noqa: F811
    from bot.content.models import ContentView

    item = await _item(sessions, tenant_id)
    forwarder, viewer = await new_member(sessions, tenant_id), await new_member(sessions, tenant_id)
    seen = await _view(sessions, tenant_id, item, forwarder, viewer, T0)
    async with session_scope(sessions) as session:
        assert await views.record_read(session, seen.view_id, viewer, 30, now=T0 + timedelta(seconds=31))
        assert await views.record_read(session, seen.view_id, viewer, 20, now=T0 + timedelta(seconds=40))
        assert not await views.record_read(
            session, seen.view_id, forwarder, 35, now=T0 + timedelta(seconds=40)
        )
    async with session_scope(sessions) as session:
        row = await session.get(ContentView, seen.view_id)
        assert (row.read_seconds, row.read_valid) == (30, True)
        await views.record_read(session, seen.view_id, viewer, 600, now=T0 + timedelta(seconds=60))
    async with session_scope(sessions) as session:
        row = await session.get(ContentView, seen.view_id)
        assert (row.read_seconds, row.read_valid) == (30, False)


@pytest.mark.parametrize("role,region,visible", [("store_owner", "SW", True), ("consumer", "SW", False),
                                                 ("store_owner", "EC", False)])  # fmt: skip
async def test_visibility_by_role_region_and_dates(sessions, tenant_id, role, region, visible):  # noqa: F811
    now = datetime.now(UTC)
    await _item(sessions, tenant_id, roles=["store_owner", "distributor_staff"], regions=["SW"])
    await _item(sessions, tenant_id, publish_at=now + timedelta(days=1))  # scheduled
    await _item(
        sessions, tenant_id, publish_at=now - timedelta(days=3), expire_at=now - timedelta(days=1)
    )  # expired
    async with session_scope(sessions) as session:
        draft = await library.create(session, tenant_id, kind="poster", title="草稿")
        shown = await library.visible(session, tenant_id, role=role, region=region, now=now)
        assert draft.id not in [i.id for i in shown]
    assert (len(shown) == 1) is visible


async def test_leaderboards_per_region_and_per_item(sessions, tenant_id):  # noqa: F811
    from bot.content import stats
    from bot.membership.models import Member

    first, second = await _item(sessions, tenant_id), await _item(sessions, tenant_id)
    west, east, viewer, other = [await new_member(sessions, tenant_id) for _ in range(4)]
    async with session_scope(sessions) as session:
        for member_id, region in ((west, "SW"), (east, "EC")):
            (await session.get(Member, member_id)).region_code = region
    await _view(sessions, tenant_id, first, west, viewer, T0)
    await _view(sessions, tenant_id, first, west, other, T0)
    await _view(sessions, tenant_id, second, east, viewer, T0 + timedelta(days=1))
    await _credit(sessions, tenant_id, "order", "o-board", viewer, T0 + timedelta(days=2))  # west was first
    async with session_scope(sessions) as session:
        board = await stats.leaderboard(session, tenant_id)
        assert [(r["forwarder_id"], r["rewards"], r["unique_viewers"]) for r in board] == [
            (west, 50, 2),
            (east, 0, 1),
        ]
        assert [r["forwarder_id"] for r in await stats.leaderboard(session, tenant_id, region="EC")] == [east]
        on_second = await stats.leaderboard(session, tenant_id, item_id=second)
        assert [(r["forwarder_id"], r["views"]) for r in on_second] == [(east, 1)]
