"""The listener behind the hooks on both databases: an order told only by its id (the core's
webhook) is credited to the buyer's forwarder, once, whoever tells it again (the placer, the
sweep); a coupon is credited at the member's first claimed coupon; nobody reached, nothing
credited; a failing listener never fails the emitter and the next listener still runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.content import attribution, crediting, library, views
from bot.content.attribution import Rewards
from bot.content.models import ContentCredit
from bot.db import session_scope
from bot.hooks import Happened, Hooks
from bot.membership.reward_models import CouponClaim
from bot.ordering.models import OrderIntent
from tests.membership.conftest import engine, new_member, sessions, tenant_id  # noqa: F401 - fixtures

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
RULES = Rewards()


async def _reached(sessions, tenant_id) -> tuple[int, int, int]:  # noqa: F811
    """(forwarder, a reader his share reached at T0, a member nobody reached)."""
    forwarder, reader, stranger = [await new_member(sessions, tenant_id) for _ in range(3)]
    async with session_scope(sessions) as session:
        item = await library.create(session, tenant_id, kind="article", title="品鉴会")
        await library.submit(session, tenant_id, item.id)
        await library.approve(session, tenant_id, item.id, by="hq")
        share = await attribution.share_for(session, tenant_id, item.id, forwarder)
        await views.record_view(session, share, reader, now=T0)
    return forwarder, reader, stranger


async def _hooks(sessions) -> Hooks:  # noqa: F811
    """The listener as bot/wiring/content.py registers it."""
    hooks = Hooks()

    async def credit_at_once(happened: Happened) -> None:
        async with session_scope(sessions) as session:
            await crediting.on_happened(session, happened, RULES)

    hooks.listen(credit_at_once)
    return hooks


async def _credits(sessions) -> list[tuple[str, str, int]]:  # noqa: F811
    async with session_scope(sessions) as session:
        rows = await session.execute(
            select(ContentCredit.kind, ContentCredit.subject, ContentCredit.forwarder_id).order_by(
                ContentCredit.id
            )
        )
        return [tuple(r) for r in rows.all()]


async def test_an_order_told_by_its_id_is_credited_once(sessions, tenant_id):  # noqa: F811
    forwarder, reader, stranger = await _reached(sessions, tenant_id)
    async with session_scope(sessions) as session:
        for buyer, order_id in ((reader, 9001), (stranger, 9002)):
            session.add(
                OrderIntent(
                    tenant_id=tenant_id, member_id=buyer, channel="chat", core_store_id=1,
                    idempotency_key=f"k{order_id}", body="{}", status="placed", order_id=order_id,
                    created_at=T0 + timedelta(days=1),
                )
            )  # fmt: skip
    hooks = await _hooks(sessions)
    now = T0 + timedelta(days=1)
    await hooks.emit(Happened(tenant_id, "order", now, order_id="9001"))  # the webhook
    assert await _credits(sessions) == [("order", "o9001", forwarder)]
    await hooks.emit(Happened(tenant_id, "order", now, member_id=reader, order_id="9001"))  # the placer
    await hooks.emit(Happened(tenant_id, "order", now, order_id="9002"))  # nobody reached the buyer
    await hooks.emit(Happened(tenant_id, "order", now, order_id="x9"))  # not an order id
    async with session_scope(sessions) as session:
        assert await crediting.sweep(session, tenant_id, RULES, now=now) == []
    assert await _credits(sessions) == [("order", "o9001", forwarder)]


async def test_a_coupon_is_credited_at_the_first_claimed_coupon(sessions, tenant_id):  # noqa: F811
    forwarder, reader, stranger = await _reached(sessions, tenant_id)
    async with session_scope(sessions) as session:
        for member, at, status in (
            (reader, T0 - timedelta(days=1), "failed"),  # a failed claim before the view: not his first
            (reader, T0 + timedelta(hours=2), "claimed"),
            (stranger, T0 + timedelta(hours=2), "claimed"),
        ):
            session.add(
                CouponClaim(
                    tenant_id=tenant_id, member_id=member, campaign="7", source="menu",
                    idempotency_key=f"c{member}{status}", status=status, claimed_at=at,
                )
            )  # fmt: skip
    hooks = await _hooks(sessions)
    for member in (reader, stranger):
        await hooks.emit(Happened(tenant_id, "coupon", T0 + timedelta(hours=2), member_id=member))
    assert await _credits(sessions) == [("coupon", f"m{reader}", forwarder)]


async def test_a_failing_listener_never_fails_the_emitter(sessions, tenant_id):  # noqa: F811
    heard: list[str] = []
    hooks = Hooks()

    async def broken(happened: Happened) -> None:
        raise RuntimeError("listener down")

    async def fine(happened: Happened) -> None:
        heard.append(happened.kind)

    hooks.listen(broken)
    hooks.listen(fine)
    await hooks.emit(Happened(tenant_id, "follow", T0, member_id=1))
    assert heard == ["follow"]


async def test_soon_runs_the_listeners_off_the_emitter_and_settled_waits_for_them(tenant_id):  # noqa: F811
    """The scan path's emit: the emitter goes on at once, the listener still runs, and a
    failing one is logged, not raised, by ``settled``."""
    import asyncio

    hooks = Hooks()
    gate = asyncio.Event()
    seen: list[str] = []

    async def slow(happened: Happened) -> None:
        await gate.wait()
        seen.append(happened.kind)

    async def broken(happened: Happened) -> None:
        raise RuntimeError("listener down")

    hooks.listen(slow)
    hooks.listen(broken)
    hooks.soon(Happened(tenant_id, "scan", T0, member_id=1))
    await asyncio.sleep(0)
    assert seen == []  # the emitter did not wait for the listener
    gate.set()
    await hooks.settled()
    assert seen == ["scan"]
