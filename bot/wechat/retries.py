"""WeChat's retry of a message another delivery claimed: answer from the lease, or take over.

A retry that finds the message done gets the stored reply; deferred, a bare ack (the reply goes
or went out late, bot/wechat/deferred.py keeps it owed until it did). In flight, it waits: a live
owner settles or defers within its budget; a dead owner's lease expires (``inflight_ttl``) and the
retry takes the message over, the dead owner's member lock with it (bot/wechat/dedupe.py).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from bot.messages import Inbound
from bot.observability import metrics
from bot.tenancy.registry import AppConfig
from bot.wechat.dedupe import DEFERRED, DONE, INFLIGHT, Claim
from bot.wechat.steps import Outcome, RedisUnavailable, ReplayedNonce, within

if TYPE_CHECKING:
    from bot.wechat.pipeline import Pipeline

RETRY_STEP_FLOOR = 0.5  # seconds


def step_deadline(pipeline: Pipeline, started: float) -> float:
    """The deadline of one Redis step of a retry waiting for another delivery's lease: the
    budget's rest, but never under RETRY_STEP_FLOOR, because such a retry keeps waiting past
    its budget for a dead owner's lease to expire (the webhook has acked WeChat by then)."""
    return max(pipeline.left(started), RETRY_STEP_FLOOR)


async def duplicate(
    pipeline: Pipeline,
    app: AppConfig,
    message: Inbound,
    claim: Claim,
    started: float,
    timestamp: str,
    nonce: str,
    fingerprint: str,
) -> Outcome:
    dedupe = pipeline.dedupe
    value: bytes | None = claim.lease
    owner = ""  # the token of the last in-flight lease seen (also its owner's lock token)
    while True:
        if value is None:
            # The first delivery failed and released the lease, or its owner died and the
            # in-flight lease expired: this retry runs it again (taking a dead owner's lock).
            try:
                fresh = await within(
                    step_deadline(pipeline, started),
                    dedupe.begin(
                        app.appid,
                        message.openid,
                        message.dedupe_key,
                        timestamp=timestamp,
                        nonce=nonce,
                        fingerprint=fingerprint,
                        take_lock_from=owner,
                    ),
                )
            except RedisUnavailable as exc:
                return pipeline.unavailable(app, message, exc)
            if fresh.status == "new":
                return await pipeline.run(app, message, fresh, started)
            if fresh.status == "replay":
                raise ReplayedNonce()
            value = fresh.lease
        if value.startswith(DONE):
            metrics.dedupe_hits.labels(state="done").inc()
            return Outcome(value[1:] or None, "duplicate")
        if value.startswith(DEFERRED):
            metrics.dedupe_hits.labels(state="deferred").inc()
            return Outcome(None, "duplicate")
        assert value.startswith(INFLIGHT)
        owner = value[1:].decode()
        # A live owner settles or defers within its budget, which began before ours: past
        # ours, keep waiting for the lease to expire (a dead owner) rather than ack a message
        # nobody will answer. WeChat may have given up on this attempt by then; its next
        # attempt finds the message taken over.
        if time.monotonic() - started >= pipeline.budget + dedupe.inflight_ms / 1000:
            metrics.dedupe_hits.labels(state="inflight_timeout").inc()
            return Outcome(None, "duplicate")
        await asyncio.sleep(0.02)
        try:
            value = await within(step_deadline(pipeline, started), dedupe.peek(app.appid, message.dedupe_key))
        except RedisUnavailable:
            metrics.dedupe_hits.labels(state="inflight_timeout").inc()
            return Outcome(None, "duplicate")
