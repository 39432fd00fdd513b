"""Turning what the mini-program sent into events, and emitting them."""

from __future__ import annotations

from typing import Any

from bot.analytics.errors import EventTooOld
from bot.analytics.interface import Accepted, Event
from bot.analytics.runtime import AnalyticsRuntime
from bot.analytics.schema import validate_batch

MAX_AGE_MS = 7 * 24 * 3600 * 1000  # a phone may batch offline events for a while, not forever
MAX_AHEAD_MS = 10 * 60 * 1000  # clock skew of a phone


def mp_events(body: object, *, tenant_id: int, member_id: int, now_ms: int) -> list[Event]:
    """Validate a batch (raises ``BadEvents`` naming the field) and stamp it with the member."""
    raw = validate_batch(body)
    events = []
    for index, item in enumerate(raw):
        ts = int(item["ts"])
        if not now_ms - MAX_AGE_MS <= ts <= now_ms + MAX_AHEAD_MS:
            raise EventTooOld(f"events[{index}].ts", "outside the last 7 days")
        props: dict[str, Any] = {k: item[k] for k in ("page", "content_id", "target") if k in item}
        events.append(
            Event(
                tenant_id=tenant_id,
                event_id=f"mp:{member_id}:{item['id']}",
                name=item["name"],
                occurred_at=ts,
                source="mp",
                member_id=member_id,
                store_id=item.get("store_id"),
                sku=item.get("sku", ""),
                quantity=item.get("quantity", 0),
                amount_fen=item.get("amount_fen", 0),
                dwell_ms=item.get("dwell_ms", 0),
                props=props,
            )
        )
    return events


async def accept_mp_batch(
    runtime: AnalyticsRuntime, body: object, *, tenant_id: int, member_id: int
) -> Accepted:
    now_ms = int(runtime.clock() * 1000)
    events = mp_events(body, tenant_id=tenant_id, member_id=member_id, now_ms=now_ms)
    await runtime.stream.emit(*events)
    return Accepted(len(events), now_ms)
