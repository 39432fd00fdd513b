"""Webhooks to the tenant (jiubot): a transactional outbox delivered at least once.

Events are rows written in the same transaction as the change they announce, so a committed change
always gets its event and a rolled-back one never does. The dispatcher leases due rows with a
conditional update (several processes may run it), POSTs them signed, and retries with exponential
backoff and full jitter until the receiver answers 2xx. Receivers dedupe on the event id.

Signature: ``X-Core-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`` with the
Unix timestamp in ``X-Core-Timestamp``; see docs/core-api.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import uuid
from datetime import datetime, timedelta

import aiohttp
import orjson
from pydantic import BaseModel
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core.config import WebhookConfig
from reference_core.db import rowcount
from reference_core.models import Tenant, WebhookEvent
from reference_core.runtime import Core

log = logging.getLogger(__name__)

HEADER_EVENT_ID = "X-Core-Event-Id"
HEADER_EVENT_TYPE = "X-Core-Event-Type"
HEADER_TIMESTAMP = "X-Core-Timestamp"
HEADER_SIGNATURE = "X-Core-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


async def enqueue(session: AsyncSession, tenant_id: int, type_: str, data: BaseModel, now: datetime) -> None:
    """Record an event for delivery (only for tenants with a webhook URL)."""
    url = await session.scalar(select(Tenant.webhook_url).where(Tenant.id == tenant_id))
    if not url:
        return
    event_id = "evt_" + uuid.uuid4().hex
    envelope = {
        "id": event_id,
        "type": type_,
        "created_at": now.isoformat().replace("+00:00", "Z"),
        "data": orjson.loads(data.__pydantic_serializer__.to_json(data)),
    }
    session.add(
        WebhookEvent(
            tenant_id=tenant_id,
            event_id=event_id,
            type=type_,
            payload=orjson.dumps(envelope).decode(),
            created_at=now,
            next_attempt_at=now,
        )
    )


def backoff(attempts: int, config: WebhookConfig) -> float:
    """Full jitter: uniform in [0, min(max, base * 2^(attempts-1))], never below a tenth of base."""
    ceiling = min(config.backoff_max_seconds, config.backoff_base_seconds * 2 ** max(0, attempts - 1))
    return max(config.backoff_base_seconds / 10, random.uniform(0, ceiling))


class Dispatcher:
    def __init__(self, core: Core, http: aiohttp.ClientSession) -> None:
        self.core = core
        self.http = http
        self.config = core.config.webhooks

    async def run(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook dispatch round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.core.webhook_wakeup.wait(), self.config.poll_seconds)
            self.core.webhook_wakeup.clear()

    async def deliver_due(self) -> int:
        """One round: lease what is due and deliver it; returns how many were attempted."""
        now = self.core.clock.now()
        async with self.core.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        WebhookEvent.id,
                        WebhookEvent.event_id,
                        WebhookEvent.type,
                        WebhookEvent.payload,
                        WebhookEvent.attempts,
                        Tenant.webhook_url,
                        Tenant.webhook_secret,
                    )
                    .join(Tenant, Tenant.id == WebhookEvent.tenant_id)
                    .where(
                        WebhookEvent.delivered_at.is_(None),
                        WebhookEvent.next_attempt_at <= now,
                        or_(WebhookEvent.locked_until.is_(None), WebhookEvent.locked_until < now),
                        Tenant.webhook_url != "",
                    )
                    .order_by(WebhookEvent.id)
                    .limit(self.config.batch_size)
                )
            ).all()
        leased = [row for row in rows if await self._lease(row.id, now)]
        await asyncio.gather(*(self._deliver(row) for row in leased))
        return len(leased)

    async def _lease(self, row_id: int, now: datetime) -> bool:
        until = now + timedelta(seconds=self.config.lease_seconds)
        async with self.core.sessions() as session, session.begin():
            result = await session.execute(
                update(WebhookEvent)
                .where(
                    WebhookEvent.id == row_id,
                    WebhookEvent.delivered_at.is_(None),
                    or_(WebhookEvent.locked_until.is_(None), WebhookEvent.locked_until < now),
                )
                .values(locked_until=until)
            )
            return rowcount(result) == 1

    async def _deliver(self, row) -> None:
        body = row.payload.encode()
        timestamp = int(self.core.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            HEADER_EVENT_ID: row.event_id,
            HEADER_EVENT_TYPE: row.type,
            HEADER_TIMESTAMP: str(timestamp),
            HEADER_SIGNATURE: sign(row.webhook_secret, timestamp, body),
            "User-Agent": "jiubot-reference-core/1",
        }
        status: int | None = None
        error = ""
        try:
            timeout = aiohttp.ClientTimeout(total=self.config.timeout_seconds)
            async with self.http.post(row.webhook_url, data=body, headers=headers, timeout=timeout) as resp:
                status = resp.status
                await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        ok = status is not None and 200 <= status < 300
        now = self.core.clock.now()
        values: dict = {"attempts": WebhookEvent.attempts + 1, "last_status": status, "locked_until": None}
        if ok:
            values.update(delivered_at=now, last_error="")
        else:
            values.update(
                last_error=error or f"HTTP {status}",
                next_attempt_at=now + timedelta(seconds=backoff(row.attempts + 1, self.config)),
            )
        async with self.core.sessions() as session, session.begin():
            await session.execute(update(WebhookEvent).where(WebhookEvent.id == row.id).values(**values))
        if not ok:
            log.warning(
                "webhook %s to %s failed (%s); will retry",
                row.event_id,
                row.webhook_url,
                values["last_error"],
            )
