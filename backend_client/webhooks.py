"""Verifying the core's webhooks.

The core signs ``"<X-Core-Timestamp>." + raw body`` with HMAC-SHA256 under the tenant's webhook
secret and sends ``X-Core-Signature: sha256=<hex>``. Verify against the raw bytes (before any JSON
parsing), in constant time, and refuse timestamps outside the tolerance to stop replays; then
dedupe on the event id, because delivery is at least once.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import datetime

import orjson

from backend_client import models as m
from backend_client.decode import decode
from backend_client.errors import InvalidWebhook, ProtocolError

HEADER_EVENT_ID = "X-Core-Event-Id"
HEADER_EVENT_TYPE = "X-Core-Event-Type"
HEADER_TIMESTAMP = "X-Core-Timestamp"
HEADER_SIGNATURE = "X-Core-Signature"

_DATA = {"order.status_changed": m.OrderStatusChanged, "coupon.redeemed": m.CouponRedeemed}


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-Core-Signature value for ``body`` signed at ``timestamp`` (for tests and senders)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:  # plain dicts are case-sensitive; HTTP headers are not
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    if not value:
        raise InvalidWebhook("missing_header", f"{name} is missing")
    return value


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: float = 300,
    now: float | None = None,
) -> m.WebhookEvent:
    """Check the signature and freshness of a webhook and return the typed event; raises InvalidWebhook."""
    if not secret:
        raise InvalidWebhook("no_secret", "no webhook secret is configured")
    timestamp = _header(headers, HEADER_TIMESTAMP)
    sent = _header(headers, HEADER_SIGNATURE)
    if not hmac.compare_digest(signature(secret, timestamp, body).encode(), sent.encode()):
        raise InvalidWebhook("bad_signature", "the signature does not match")
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        raise InvalidWebhook("malformed", "X-Core-Timestamp is not a Unix timestamp") from None
    if age > tolerance_seconds:
        raise InvalidWebhook("stale", f"signed {age:.0f}s away from now")
    try:
        payload = orjson.loads(body)
        kind = _DATA.get(payload.get("type"))
        data = decode(kind, payload.get("data")) if kind else dict(payload.get("data") or {})
        return m.WebhookEvent(
            id=str(payload["id"]),
            type=str(payload["type"]),
            created_at=decode(datetime, payload["created_at"]),
            data=data,
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ProtocolError) as exc:
        raise InvalidWebhook("malformed", f"the body is not a core event: {exc}") from None
