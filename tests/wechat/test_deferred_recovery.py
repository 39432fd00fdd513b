"""A deferred reply outlives the process that owed it (bot/wechat/deferred.py, recovery.py).

Each "process" here is a whole jiubot runtime of its own (engine, Redis connections, pipeline,
dispatcher) on the one database and Redis: the owner serves the callback over HTTP; sweepers are
``jiubot worker``-like runtimes without a socket. A killed owner is simulated by dropping its
late finish at the ack (the handler task cancelled, nothing settled, closed or released: what
SIGKILL leaves). ``Wire`` stands for WeChat's customer-service API behind the notifier's keyed
dedupe: every call is counted, a key already sent is not sent again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from sqlalchemy import func, select, update

from bot import keys
from bot.app import create_app, default_routers
from bot.db import session_scope
from bot.dispatch import Router
from bot.membership import ledger
from bot.membership.ledger_models import CONSUMPTION, PointsLedger
from bot.messages import Inbound, Reply, TextReply
from bot.ports import Delivery, Recipient
from bot.tenancy.registry import AppConfig
from bot.wechat.deferred import MAX_RUNS
from bot.wechat.models import DeferredReply
from bot.wechat.pipeline import Pipeline
from bot.wechat.recovery import Recovery
from tests.conftest import OA_APPID, OA_TOKEN
from tests.wechat_client import WeChatPoster, next_msg_id, text_xml

LEASE = 3  # seconds: deferred_lease_seconds (its minimum)


@dataclass
class Wire:
    calls: list[str] = field(default_factory=list)
    sent: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (openid, text)

    async def deliver_late_reply(self, recipient: Recipient, reply: Reply, *, source_key: str) -> Delivery:
        self.calls.append(source_key)
        if source_key in self.sent:
            return Delivery(delivered=False, channel="none", reason="duplicate")
        assert isinstance(reply, TextReply)
        self.sent[source_key] = (recipient.openid, reply.content)
        return Delivery(delivered=True, channel="recorded")

    def texts(self, openid: str) -> list[str]:
        return [text for who, text in self.sent.values() if who == openid]


@dataclass
class Handlers:
    starts: list[str] = field(default_factory=list)  # openid per handler run (counted at its start)
    fail: bool = False
    extra: float = 0.0  # seconds every slow run sleeps on top of its text's
    router: Router = field(default_factory=lambda: Router("deferred-probe"))

    def __post_init__(self) -> None:
        r = self.router

        @r.text(regex=r"^slow (\d+(?:\.\d+)?)$")
        async def slow(message: Inbound, match) -> Reply:  # type: ignore[no-untyped-def]
            self.starts.append(message.openid)
            await asyncio.sleep(float(match.group(1)) + self.extra)
            if self.fail:
                raise RuntimeError("handler exploded")
            return TextReply(f"slept {match.group(1)}")

        @r.text(equals="instant")
        async def instant(message: Inbound) -> Reply:  # done in its task's first step
            self.starts.append(message.openid)
            return TextReply("instant")

        @r.text(regex=r"^credit (\d+(?:\.\d+)?)$")
        async def credit(message: Inbound, match, app: AppConfig, member_id: int, services) -> Reply:  # type: ignore[no-untyped-def]
            # The effect first, keyed by what caused it (the message), then the slow part.
            self.starts.append(message.openid)
            async with session_scope(services.sessions) as session:
                account = await ledger.account_for(session, app.tenant_id, CONSUMPTION, member_id=member_id)
                posting = ledger.Posting(account, 10, "bonus", "wechat_message", message.dedupe_key)
                fresh = await ledger.post(session, app.tenant_id, posting)
            await asyncio.sleep(float(match.group(1)))
            return TextReply("积分 +10" if fresh else "积分已到账")

    def runs(self, openid: str) -> int:
        return self.starts.count(openid)


@dataclass
class Cluster:
    make_settings: Callable[..., object]
    wire: Wire
    handlers: Handlers
    runners: list[web.AppRunner] = field(default_factory=list)

    def app(self) -> web.Application:
        settings = self.make_settings(
            oa_mode="plain",
            callback_budget_seconds=1.0,
            deferred_lease_seconds=LEASE,
            dedupe_inflight_ttl_seconds=5,
        )
        return create_app(
            settings,  # type: ignore[arg-type]
            notifier=self.wire,  # type: ignore[arg-type]
            routers=[self.handlers.router, *default_routers()],
            background=False,
        )

    async def sweeper(self) -> Recovery:
        """Another process: a runtime of its own, no socket (as ``jiubot worker`` runs it)."""
        runner = web.AppRunner(self.app())
        await runner.setup()
        self.runners.append(runner)
        return Recovery(runner.app[keys.PIPELINE])


@pytest.fixture
async def cluster(make_settings) -> AsyncIterator[Cluster]:
    c = Cluster(make_settings, Wire(), Handlers())
    yield c
    for runner in c.runners:
        await runner.cleanup()


@pytest.fixture
async def owner(aiohttp_client, cluster: Cluster) -> tuple[WeChatPoster, Pipeline]:
    client = await aiohttp_client(cluster.app())
    return WeChatPoster(client, OA_APPID, OA_TOKEN, mode="plain"), client.server.app[keys.PIPELINE]


def kill_after_ack(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """The owner is SIGKILLed right after WeChat's ack: its handler stops and nothing it would
    have done afterwards happens (no settle, no delivery, no lock release, no close)."""

    async def killed(app, message, claim, ctx, task: asyncio.Task[Reply], started, **_: object) -> None:  # type: ignore[no-untyped-def]
        task.cancel()

    monkeypatch.setattr(pipeline, "finish_late", killed)


async def rows(pipeline: Pipeline) -> list[DeferredReply]:
    async with session_scope(pipeline.services.sessions) as session:
        return list((await session.execute(select(DeferredReply).order_by(DeferredReply.id))).scalars())


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_dead_owners_reply_is_recovered_once_by_another_process(owner, cluster, monkeypatch):
    poster, pipeline = owner
    kill_after_ack(pipeline, monkeypatch)
    xml = text_xml("openid-dead-late", "slow 1.5", msg_id=next_msg_id())
    started = time.monotonic()
    first = await poster.post(xml)
    assert first.is_ack and time.monotonic() - started < 1.5  # acked at the budget
    [row] = await rows(pipeline)
    assert (row.status, row.runs, row.openid) == ("pending", 1, "openid-dead-late")

    sweeper = await cluster.sweeper()
    assert await sweeper.sweep() == 0  # the owner's lease has not run out: it may be alive
    assert (await poster.post(xml)).is_ack  # WeChat's retry: deferred, not run again
    assert cluster.handlers.runs("openid-dead-late") == 1

    await asyncio.sleep(started + 1.0 + LEASE + 0.3 - time.monotonic())  # the lease began at the ack
    assert await sweeper.sweep() == 1
    assert cluster.wire.texts("openid-dead-late") == ["slept 1.5"]
    assert cluster.handlers.runs("openid-dead-late") == 2  # the killed run, then the recovery
    [row] = await rows(pipeline)
    assert (row.status, row.outcome, row.runs) == ("done", "replied", 2)
    # nothing is left to do: later sweeps and WeChat's retries run nothing and send nothing
    await asyncio.sleep(LEASE + 0.2)
    assert await sweeper.sweep() == 0
    assert (await poster.post(xml)).is_ack
    assert cluster.handlers.runs("openid-dead-late") == 2
    assert cluster.wire.calls == [f"{OA_APPID}:{row.dedupe_key}:late0"]


async def test_a_live_owners_row_is_not_stolen_and_a_done_row_never_reruns(owner, cluster):
    poster, pipeline = owner
    started = time.monotonic()
    # the handler runs past the owner's first lease (3 s): the owner renews it meanwhile
    assert (await poster.post(text_xml("openid-alive", "slow 4.5", msg_id=next_msg_id()))).is_ack
    sweeper = await cluster.sweeper()
    while not cluster.wire.sent:
        assert await sweeper.sweep() == 0
        assert time.monotonic() - started < 10
        await asyncio.sleep(0.25)
    assert time.monotonic() - started > LEASE + 1  # the sweeps above ran past the first lease
    assert cluster.wire.texts("openid-alive") == ["slept 4.5"]
    await eventually(lambda: _status(pipeline, "done"), 5)
    # a done row is never taken, even with its lease long gone
    async with session_scope(pipeline.services.sessions) as session:
        await session.execute(update(DeferredReply).values(lease_until=DeferredReply.created_at))
    assert await sweeper.sweep() == 0
    assert cluster.handlers.runs("openid-alive") == 1
    assert len(cluster.wire.calls) == 1


async def _status(pipeline: Pipeline, status: str) -> bool:
    return all(r.status == status for r in await rows(pipeline))


async def test_two_sweepers_racing_deliver_each_reply_once(owner, cluster, monkeypatch):
    poster, pipeline = owner
    kill_after_ack(pipeline, monkeypatch)
    people = [f"openid-race-{i}" for i in range(6)]
    replies = await asyncio.gather(
        *(poster.post(text_xml(p, "slow 1.1", msg_id=next_msg_id())) for p in people[:3]),
        *(poster.post(text_xml(p, "slow 1.6", msg_id=next_msg_id())) for p in people[3:]),
    )
    assert all(r.is_ack for r in replies)
    assert len(await rows(pipeline)) == 6
    first, second = await cluster.sweeper(), await cluster.sweeper()
    await asyncio.sleep(LEASE + 0.3)
    counts = await asyncio.gather(first.sweep(), second.sweep())
    assert sum(counts) == 6, counts
    assert len(cluster.wire.calls) == 6  # one delivery call per message, across both sweepers
    for person in people:
        assert len(cluster.wire.texts(person)) == 1
        assert cluster.handlers.runs(person) == 2
    assert await _status(pipeline, "done")
    assert await first.sweep() == 0 and await second.sweep() == 0


async def test_effects_done_before_the_death_are_not_doubled(owner, cluster, monkeypatch):
    """The rule of bot/wechat/deferred.py: a handler's effects carry the message's key, so the
    recovery's re-run finds the credit made and answers from it."""
    poster, pipeline = owner
    kill_after_ack(pipeline, monkeypatch)
    assert (await poster.post(text_xml("openid-credit", "credit 1.5", msg_id=next_msg_id()))).is_ack
    sweeper = await cluster.sweeper()
    await asyncio.sleep(LEASE + 0.3)
    assert await sweeper.sweep() == 1
    assert cluster.handlers.runs("openid-credit") == 2
    assert cluster.wire.texts("openid-credit") == ["积分已到账"]
    async with session_scope(pipeline.services.sessions) as session:
        credits = await session.execute(
            select(func.count(), func.sum(PointsLedger.delta)).where(
                PointsLedger.source_kind == "wechat_message"
            )
        )
        assert credits.one() == (1, 10)


async def test_an_owner_that_sent_the_reply_then_died_does_not_get_it_sent_twice(owner, cluster, monkeypatch):
    poster, pipeline = owner

    async def killed_before_close(appid: str, dedupe_key: str, owner: str, outcome: str) -> None:
        return None  # the reply went out; the process died before the row was closed

    monkeypatch.setattr(pipeline.deferred, "complete", killed_before_close)
    assert (await poster.post(text_xml("openid-sent", "slow 1.3", msg_id=next_msg_id()))).is_ack
    await eventually(lambda: _sent(cluster.wire), 5)
    sweeper = await cluster.sweeper()
    await asyncio.sleep(LEASE + 0.3)
    assert await sweeper.sweep() == 1  # pending: the recovery cannot know the reply went
    assert cluster.handlers.runs("openid-sent") == 2
    assert len(cluster.wire.calls) == 2  # the re-run's delivery, under the owner's key...
    assert cluster.wire.texts("openid-sent") == ["slept 1.3"]  # ...was not sent again
    assert await _status(pipeline, "done")


async def _sent(wire: Wire) -> bool:
    return bool(wire.sent)


async def test_a_failing_rerun_tells_the_user_and_a_poison_message_is_abandoned(owner, cluster, monkeypatch):
    poster, pipeline = owner
    kill_after_ack(pipeline, monkeypatch)
    cluster.handlers.fail = True
    assert (await poster.post(text_xml("openid-fails", "slow 1.2", msg_id=next_msg_id()))).is_ack
    assert (await poster.post(text_xml("openid-poison", "slow 1.2", msg_id=next_msg_id()))).is_ack
    async with session_scope(pipeline.services.sessions) as session:
        await session.execute(
            update(DeferredReply).where(DeferredReply.openid == "openid-poison").values(runs=MAX_RUNS)
        )
    sweeper = await cluster.sweeper()
    await asyncio.sleep(LEASE + 0.3)
    assert await sweeper.sweep() == 2
    error_text = pipeline.services.text("error_late")
    assert cluster.wire.texts("openid-fails") == [error_text]
    assert cluster.wire.texts("openid-poison") == [error_text]
    assert cluster.handlers.runs("openid-fails") == 2
    assert cluster.handlers.runs("openid-poison") == 1  # not run again after MAX_RUNS
    outcomes = {r.openid: (r.status, r.outcome) for r in await rows(pipeline)}
    assert outcomes == {"openid-fails": ("done", "failed"), "openid-poison": ("done", "abandoned")}


async def test_a_handler_finishing_just_in_time_closes_the_row_written_ahead(owner, cluster, monkeypatch):
    """The row's write starts at half the budget (1 s here): a handler finishing after that
    answers passively and closes its row; had the process died before closing it, the
    recovery finds the message answered (the lease says done) and re-runs nothing."""
    poster, pipeline = owner
    reply = await poster.post(text_xml("openid-just", "slow 0.85", msg_id=next_msg_id()))
    assert reply.text == "slept 0.85"
    await eventually(lambda: _status(pipeline, "done"), 5)
    assert [(r.openid, r.outcome) for r in await rows(pipeline)] == [("openid-just", "in_time")]

    async def died_before_closing(*_: object) -> None:
        return None

    monkeypatch.setattr(pipeline, "_close_after", died_before_closing)
    reply = await poster.post(text_xml("openid-just-died", "slow 0.85", msg_id=next_msg_id()))
    assert reply.text == "slept 0.85"
    sweeper = await cluster.sweeper()
    await asyncio.sleep(LEASE + 0.3)
    assert await sweeper.sweep() == 1
    assert cluster.handlers.runs("openid-just-died") == 1  # not re-run
    assert cluster.wire.calls == []  # and nothing sent: the passive reply was the answer
    outcomes = {r.openid: (r.status, r.outcome) for r in await rows(pipeline)}
    assert outcomes["openid-just-died"] == ("done", "in_time")


async def test_a_retry_taking_over_after_its_budget_replies_late_even_with_an_instant_handler(owner, cluster):
    """WeChat's retry waits for a dead owner's lease past its budget (acked at the cap) and then
    runs the message: nobody waits for a passive reply any more, so even a handler that is done
    at once (a known member, a fixed text) answers through the notifier, owed like any late one."""
    poster, pipeline = owner
    assert (await poster.post(text_xml("openid-instant", "instant", msg_id=next_msg_id()))).text == "instant"
    msg_id = next_msg_id()
    dead = await pipeline.dedupe.begin(
        OA_APPID, "openid-instant", f"m:{msg_id}", timestamp=str(int(time.time())), nonce="1", fingerprint="x"
    )
    assert dead.status == "new" and dead.locked
    assert (await poster.post(text_xml("openid-instant", "instant", msg_id=msg_id))).is_ack
    await eventually(lambda: _sent(cluster.wire), 10)
    assert cluster.wire.texts("openid-instant") == ["instant"]
    assert cluster.handlers.runs("openid-instant") == 2
    await eventually(lambda: _status(pipeline, "done"), 5)
    assert [(r.dedupe_key, r.outcome) for r in await rows(pipeline)] == [(f"m:{msg_id}", "replied")]


async def test_a_message_owed_again_after_an_in_time_failure_is_recovered(owner, cluster, monkeypatch):
    """A run that failed in time had its row written (past half the budget) and closed; WeChat's
    retry overruns: the same row is owed again, by the retry's owner, and recovered when it dies."""
    poster, pipeline = owner
    xml = text_xml("openid-again", "slow 0.8", msg_id=next_msg_id())
    cluster.handlers.fail = True
    assert (await poster.post(xml)).status == 500  # failed in time: WeChat retries
    await eventually(lambda: _status(pipeline, "done"), 5)
    cluster.handlers.fail, cluster.handlers.extra = False, 0.5
    kill_after_ack(pipeline, monkeypatch)
    assert (await poster.post(xml)).is_ack
    [row] = await rows(pipeline)
    assert (row.status, row.runs) == ("pending", 2)
    sweeper = await cluster.sweeper()
    await asyncio.sleep(LEASE + 0.3)
    assert await sweeper.sweep() == 1
    assert cluster.wire.texts("openid-again") == ["slept 0.8"]
    [row] = await rows(pipeline)
    assert (row.status, row.outcome, row.runs) == ("done", "replied", 3)
