"""From a verified, parsed push to a reply: dedupe, dispatch under the deadline, late delivery.

ARCHITECTURE.md mechanisms 1 and 2. The handler runs in its own task raced against the budget
(4.5 s by default, counted from the request's arrival). If it finishes in time its reply is the
HTTP answer and is stored in the lease for WeChat's retries. If not, WeChat gets ``success`` at
once and the reply goes out through the ``Notifier`` (customer-service API) when it is ready; it
is owed durably meanwhile (a ``deferred_replies`` row, bot/wechat/deferred.py), so a process that
dies after the ack leaves the message to ``jiubot worker``'s recovery (bot/wechat/recovery.py).
Retries of a claimed message: bot/wechat/retries.py.

Every Redis step is inside the same budget: the dedupe claim (``begin``) gets what is left of
it, the finishing round trip (settle, log, reach) what is left plus ``SETTLE_GRACE``. When Redis
is down or silent at the claim, nothing has happened yet: the handler does not run, nothing is
marked handled, and WeChat gets a static "busy, please send again" reply (messages) or a bare
ack (events) in time (outcome ``unavailable``). When the claim worked but the finishing round
trip cannot be written, the user still gets the reply (the handler's effects are committed); the
in-flight lease then expires on its own (``dedupe_inflight_ttl_seconds``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from redis.exceptions import NoScriptError

from bot.dispatch import Dispatcher, EventContext, MemberLock
from bot.messages import Inbound, NoReply, Replies, Reply, TextReply
from bot.observability import hash_openid, metrics
from bot.ports import Recipient
from bot.redis_mux import Command, CommandArg
from bot.services import Services
from bot.tenancy.registry import AppConfig
from bot.wechat.dedupe import DEFERRED, DONE, Claim, Dedupe
from bot.wechat.deferred import OWE_FROM, DeferredReplies
from bot.wechat.inbound_log import InboundLog, LogEntry
from bot.wechat.retries import duplicate
from bot.wechat.steps import SETTLE_GRACE, Outcome, RedisUnavailable, ReplayedNonce, within
from bot.wechat.xml import render_reply

log = structlog.get_logger(__name__)

KNOWN_TYPES = frozenset(
    {"text", "image", "voice", "video", "shortvideo", "location", "link", "file", "miniprogrampage", "event"}
)


class CommandBatch:
    """Commands queued for the finishing round trip; recorders add theirs with ``eval``."""

    __slots__ = ("commands",)

    def __init__(self) -> None:
        self.commands: list[Command] = []

    def eval(self, script: str, numkeys: int, *args: CommandArg) -> None:
        self.commands.append(("EVAL", script, numkeys, *args))

    def execute_command(self, *args: CommandArg) -> None:
        self.commands.append(args)


# Extension point: adds Redis commands to the finishing round trip of each interaction (the
# reach budget registers one); called with (batch, message, member_id).
InteractionRecorder = Callable[[CommandBatch, Inbound, "int | None"], None]


class Pipeline:
    def __init__(
        self,
        services: Services,
        dispatcher: Dispatcher,
        dedupe: Dedupe,
        inbound_log: InboundLog,
        deferred: DeferredReplies,
        *,
        budget: float,
    ) -> None:
        self.services = services
        self.dispatcher = dispatcher
        self.dedupe = dedupe
        self.inbound_log = inbound_log
        self.deferred = deferred
        self.budget = budget
        self.recorders: list[InteractionRecorder] = []
        self._background: set[asyncio.Task[object]] = set()

    # public -------------------------------------------------------------------------------
    async def handle(
        self,
        app: AppConfig,
        message: Inbound,
        *,
        started: float,
        timestamp: str,
        nonce: str,
        fingerprint: str,
    ) -> Outcome:
        if message.msg_type not in KNOWN_TYPES:
            metrics.unknown_types.labels(msg_type=message.msg_type[:32]).inc()
            log.info("unknown_message_type", appid=app.appid, msg_type=message.msg_type[:32])
            try:
                await within(
                    self.left(started) + SETTLE_GRACE,
                    self.inbound_log.append(self._entry(app, message, None, "unknown_type", started)),
                )
            except RedisUnavailable as exc:
                log.warning("callback_log_unavailable", appid=app.appid, error=str(exc))
            return Outcome(None, "unknown_type")

        try:
            claim = await within(
                self.left(started),
                self.dedupe.begin(
                    app.appid,
                    message.openid,
                    message.dedupe_key,
                    timestamp=timestamp,
                    nonce=nonce,
                    fingerprint=fingerprint,
                ),
            )
        except RedisUnavailable as exc:
            return self.unavailable(app, message, exc)
        if claim.status == "replay":
            raise ReplayedNonce()
        if claim.status == "dup":
            return await duplicate(self, app, message, claim, started, timestamp, nonce, fingerprint)
        return await self.run(app, message, claim, started)

    def left(self, started: float) -> float:
        return self.budget - (time.monotonic() - started)

    def unavailable(self, app: AppConfig, message: Inbound, exc: Exception) -> Outcome:
        """Redis could not take the claim: nothing ran and nothing is marked. A message gets the
        static busy text (the user knows to send it again), an event a bare ack."""
        metrics.deadline_overruns.inc()
        log.error(
            "callback_redis_unavailable",
            appid=app.appid,
            user=hash_openid(message.openid),
            msg_type=message.msg_type,
            error=str(exc)[:200],
        )
        if message.msg_type == "event":
            return Outcome(None, "unavailable")
        return Outcome(render_reply(TextReply(self.services.text("service_busy")), message), "unavailable")

    def adopt(self, task: asyncio.Task[Outcome]) -> None:
        """Keep a callback the HTTP layer stopped waiting for alive until it ends (drained on
        shutdown), and log how it ended."""
        self._background.add(task)

        def done(t: asyncio.Task[Outcome]) -> None:
            self._background.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("callback_after_cap_failed", error=repr(t.exception())[:200])

        task.add_done_callback(done)

    async def drain(self, grace: float = 30.0) -> None:
        """Wait for late replies still in flight (called on shutdown)."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=grace)

    # the first delivery -------------------------------------------------------------------
    async def run(self, app: AppConfig, message: Inbound, claim: Claim, started: float) -> Outcome:
        ctx = EventContext(
            message=message,
            app=app,
            services=self.services,
            lock=MemberLock(
                acquire_fn=lambda token: self.dedupe.acquire_lock(message.appid, message.openid, token),
                release_fn=None,  # released by the finishing pipeline, together with the lease
                token=claim.lock_token,
                held=claim.locked,
            ),
            member_id=claim.member_id,
        )
        if claim.locked:
            ctx.prefetch_flow(claim.flow_state)
        task = asyncio.create_task(self.dispatcher.feed(ctx))
        # A retry that took over after its budget (the webhook acked WeChat at its cap) replies
        # late even when the handler is instant: nobody is waiting for a passive reply.
        ahead = self.budget * (1 - OWE_FROM)
        if self.left(started) > 0 and await finished_within(task, self.left(started) - ahead):
            return await self._finish_in_time(app, message, claim, ctx, task, started)
        # Still running at half the budget: start owing the reply durably now (a row a `jiubot
        # worker` re-runs if this process dies), so that it is written when WeChat must be acked.
        owed = asyncio.create_task(self.deferred.owe(app.tenant_id, message, ctx.member_id, claim.lock_token))
        if self.left(started) > 0 and await finished_within(task, self.left(started)):
            self._spawn(self._close_after(owed, app, message, claim, "in_time"))
            return await self._finish_in_time(app, message, claim, ctx, task, started)
        # Budget spent: ack now, reply later; the lease tells retries only once the row is written
        # (if it is late, the lease stays in flight: were this process to die, a retry takes over).
        metrics.deadline_overruns.inc()
        grace_end = time.monotonic() + SETTLE_GRACE
        if await finished_within(owed, SETTLE_GRACE) and owed.result():
            try:
                await within(
                    grace_end - time.monotonic(),
                    self.dedupe.defer(app.appid, message.dedupe_key, claim.lease),
                )
            except RedisUnavailable as exc:
                # Retries see the in-flight lease and get an ack; the reply still goes out late.
                log.warning("callback_defer_unavailable", appid=app.appid, error=str(exc)[:200])
        else:
            log.error("deferred_record_late", appid=app.appid, user=hash_openid(message.openid))
        self._spawn(self.finish_late(app, message, claim, ctx, task, started, owed=owed))
        return Outcome(None, "deferred")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _finish_in_time(
        self,
        app: AppConfig,
        message: Inbound,
        claim: Claim,
        ctx: EventContext,
        task: asyncio.Task[Reply],
        started: float,
    ) -> Outcome:
        exc = task.exception()
        if exc is not None:
            await self._fail(app, message, claim, ctx, started)
            return Outcome(None, "failed")
        reply = task.result()
        now_reply, later = _split(reply)
        xml = render_reply(now_reply, message) if now_reply is not None else None
        stored = DONE + (xml or b"")
        status = "replied" if xml else "acked"
        await self._settle_within(
            self.left(started) + SETTLE_GRACE, app, message, claim, ctx, stored, status, started
        )
        if later:
            self._spawn_later(app, message, ctx, later)
        return Outcome(xml, status)

    async def finish_late(
        self,
        app: AppConfig,
        message: Inbound,
        claim: Claim,
        ctx: EventContext,
        task: asyncio.Task[Reply],
        started: float,
        *,
        status: str = "deferred",
        owed: asyncio.Task[bool] | None = None,
    ) -> None:
        """The handler's result after WeChat was answered: settle, send it through the notifier,
        then close the deferred-reply row (renewed by ``claim.lock_token`` meanwhile). Also the
        end of a re-run by the recovery (bot/wechat/recovery.py), with ``status`` "recovered"."""
        deferred, key = self.deferred, message.dedupe_key
        try:
            reply = await deferred.keep_alive(app.appid, key, claim.lock_token, task)
        except Exception:
            # The handler failed after WeChat was answered; it will not retry, so tell the user.
            await self._settle_within(self.budget, app, message, claim, ctx, None, "failed", started)
            await self.deliver(app, message, ctx.member_id, self.services.text("error_late"), kind="error")
            await self._close_after(owed, app, message, claim, "failed")
            return
        await self._settle_within(self.budget, app, message, claim, ctx, DEFERRED, status, started)
        items = list(reply.items) if isinstance(reply, Replies) else [reply]
        for index, item in enumerate(i for i in items if not isinstance(i, NoReply)):
            await self.deliver(app, message, ctx.member_id, item, kind=f"late{index}")
        await self._close_after(owed, app, message, claim, "replied")

    async def _close_after(
        self, owed: asyncio.Task[bool] | None, app: AppConfig, message: Inbound, claim: Claim, outcome: str
    ) -> None:
        """Close the deferred-reply row once its write (``owed``, when still running) ended."""
        if owed is not None and not await owed:
            return
        try:
            await self.deferred.complete(app.appid, message.dedupe_key, claim.lock_token, outcome)
        except Exception as exc:  # a sweeper re-runs it; deliveries are keyed
            log.error("deferred_complete_failed", appid=app.appid, error=repr(exc)[:200])

    async def _fail(
        self, app: AppConfig, message: Inbound, claim: Claim, ctx: EventContext, started: float
    ) -> None:
        # Release the lease (not "done"): WeChat's retry of this message runs the handler again.
        await self._settle_within(
            self.left(started) + SETTLE_GRACE, app, message, claim, ctx, None, "failed", started
        )

    async def _settle_within(self, seconds: float, *args) -> None:  # type: ignore[no-untyped-def]
        """``_settle`` under a deadline; when Redis cannot take it, log and go on: the lease stays
        in flight until its TTL (never marked done), the answer is not held back."""
        try:
            await within(seconds, self._settle(*args))
        except RedisUnavailable as exc:
            log.error("callback_settle_unavailable", status=args[5], error=str(exc)[:200])

    async def _settle(
        self,
        app: AppConfig,
        message: Inbound,
        claim: Claim,
        ctx: EventContext,
        value: bytes | None,
        status: str,
        started: float,
    ) -> None:
        batch = CommandBatch()
        settle = self.dedupe.settle_command(
            app.appid,
            message.openid,
            message.dedupe_key,
            lease=claim.lease,
            new_value=value,
            lock_token=ctx.lock.token if ctx.lock.held else None,
        )
        batch.commands.append(settle)
        ctx.lock.held = False
        if status != "failed":
            for record in self.recorders:
                record(batch, message, ctx.member_id)
        batch.commands.append(
            self.inbound_log.command(self._entry(app, message, ctx.member_id, status, started))
        )
        results = await self.dedupe.mux.execute_many(batch.commands)
        if isinstance(results[0], NoScriptError):
            await self.dedupe.run_settle(settle)  # Redis restarted and lost its scripts
        for result in results:
            if isinstance(result, Exception) and not isinstance(result, NoScriptError):
                raise result

    # later replies ------------------------------------------------------------------------
    def _spawn_later(self, app: AppConfig, message: Inbound, ctx: EventContext, items: list[Reply]) -> None:
        async def send_all() -> None:
            for index, item in enumerate(items):
                await self.deliver(app, message, ctx.member_id, item, kind=f"followup{index}")

        self._spawn(send_all())

    async def deliver(
        self, app: AppConfig, message: Inbound, member_id: int | None, reply: Reply | str, *, kind: str
    ) -> None:
        item = TextReply(reply) if isinstance(reply, str) else reply
        recipient = Recipient(app.appid, message.openid, member_id)
        try:
            delivery = await self.services.notifier.deliver_late_reply(
                recipient, item, source_key=f"{app.appid}:{message.dedupe_key}:{kind}"
            )
            metrics.late_replies.labels(
                result="sent" if delivery.delivered else delivery.reason or "undelivered"
            ).inc()
        except Exception:
            metrics.late_replies.labels(result="error").inc()
            log.exception("late_reply_failed", appid=app.appid, user=hash_openid(message.openid), kind=kind)

    # log ----------------------------------------------------------------------------------
    def _entry(
        self, app: AppConfig, message: Inbound, member_id: int | None, outcome: str, started: float
    ) -> LogEntry:
        return LogEntry(
            tenant_id=app.tenant_id,
            appid=app.appid,
            openid=message.openid,
            member_id=member_id,
            dedupe_key=message.dedupe_key,
            msg_type=message.msg_type,
            event=message.event,
            event_key=message.event_key,
            summary=(message.content or message.event_key or "")[:200],
            trigger=message.trigger if outcome != "failed" else None,
            outcome=outcome,
            latency_ms=int((time.monotonic() - started) * 1000),
            received_at=int(time.time()),
        )


async def finished_within(task: asyncio.Task[object], seconds: float) -> bool:
    """Wait for ``task`` at most ``seconds`` without cancelling it (a leaner asyncio.wait)."""
    if task.done():
        return True
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()

    def wake(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    timer = loop.call_later(max(seconds, 0.0), wake)
    task.add_done_callback(wake)
    try:
        await waiter
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
    return task.done()


def _split(reply: Reply) -> tuple[Reply | None, list[Reply]]:
    """The part that can answer passively now, and what must go through the Notifier."""
    items = list(reply.items) if isinstance(reply, Replies) else [reply]
    now: Reply | None = None
    later: list[Reply] = []
    for item in items:
        if isinstance(item, NoReply):
            continue
        if now is None and item.passive:
            now = item
        else:
            later.append(item)
    return now, later
