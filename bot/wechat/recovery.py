"""The recovery of deferred replies whose owner died: a sweep run by ``jiubot worker``.

Every ``deferred_sweep_seconds`` each background process claims pending ``deferred_replies`` rows
whose lease ran out (bot/wechat/deferred.py: one winner per row, on PostgreSQL and SQLite), one at
a time, and runs the message through the dispatcher again, as its owner would have finished it:
the dead owner's member lock is taken over, the interaction and the inbound log entry are
recorded (both idempotent), the reply goes out through the notifier under the owner's delivery
keys, and the row is closed. The re-run rule (why effects are not doubled) is in deferred.py.
"""

from __future__ import annotations

import asyncio
import secrets
import time

import structlog

from bot.dispatch import EventContext, MemberLock
from bot.observability import hash_openid
from bot.wechat.dedupe import DONE, Claim
from bot.wechat.deferred import MAX_RUNS, Claimed
from bot.wechat.pipeline import Pipeline

log = structlog.get_logger(__name__)


class Recovery:
    def __init__(self, pipeline: Pipeline, *, batch: int = 20) -> None:
        self.pipeline = pipeline
        self.batch = batch

    async def sweep(self) -> int:
        """Claim and finish due rows until none is left (at most ``batch``); how many ran."""
        done = 0
        while done < self.batch:
            claimed = await self.pipeline.deferred.claim(secrets.token_hex(8))
            if claimed is None:
                break
            await self.recover(claimed)
            done += 1
        return done

    async def recover(self, claimed: Claimed) -> None:
        pipeline, message = self.pipeline, claimed.message
        log.warning(
            "deferred_reply_recovered",
            appid=message.appid,
            user=hash_openid(message.openid),
            dedupe_key=message.dedupe_key,
            run=claimed.runs,
        )
        app = await pipeline.services.registry.get(message.appid)
        if app is None:  # the app was removed meanwhile: nobody to answer through
            await pipeline.deferred.complete(message.appid, message.dedupe_key, claimed.owner, "no_app")
            return
        if claimed.runs > MAX_RUNS:
            # This message took its process down every time it ran: do not run it again.
            text = pipeline.services.text("error_late")
            await pipeline.deliver(app, message, claimed.member_id, text, kind="error")
            await pipeline.deferred.complete(message.appid, message.dedupe_key, claimed.owner, "abandoned")
            return
        dedupe = pipeline.dedupe
        if (await dedupe.peek(message.appid, message.dedupe_key) or b"").startswith(DONE):
            # Answered in time after all (the row is written ahead of the budget's end), and the
            # process died before closing it: the passive reply went, nothing is owed.
            await pipeline.deferred.complete(message.appid, message.dedupe_key, claimed.owner, "in_time")
            return

        async def acquire(token: str) -> None:
            await dedupe.acquire_lock(message.appid, message.openid, token, take_from=claimed.previous)

        ctx = EventContext(
            message=message,
            app=app,
            services=pipeline.services,
            lock=MemberLock(acquire_fn=acquire, release_fn=None, token=claimed.owner),
            member_id=claimed.member_id,
        )
        # The lease is left as it is (deferred, or expired): an empty expected value never
        # matches it, so the settle only releases the lock and records the interaction and log.
        claim = Claim(status="new", lease=b"", member_id=claimed.member_id, lock_token=claimed.owner)
        task = asyncio.create_task(pipeline.dispatcher.feed(ctx))
        await pipeline.finish_late(app, message, claim, ctx, task, time.monotonic(), status="recovered")
