"""The JSON schema of a batch of mini-program events, and its validation.

The schema is the contract with the mini-program (also in ``bot/miniapp/openapi.yaml``); a batch
that breaks it is refused whole, naming the first field at fault (``events[3].dwell_ms``), so
nothing of a bad batch is stored.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs

from bot.analytics.errors import BadEvents

MP_EVENTS = (
    "page_view",
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "price_check",
    "quote",
    "checkout_start",
    "share",
    "content_view",
)
MAX_BATCH = 200

_SKU = {"type": "string", "minLength": 1, "maxLength": 64}
_QTY = {"type": "integer", "minimum": 1, "maximum": 100000}
_FEN = {"type": "integer", "minimum": 0, "maximum": 10**11}

# What each event name requires beyond the common fields.
_REQUIRED: dict[str, list[str]] = {
    "page_view": ["page"],
    "product_view": ["sku", "dwell_ms"],
    "add_to_cart": ["sku", "quantity"],
    "remove_from_cart": ["sku", "quantity"],
    "price_check": ["sku"],
    "quote": ["amount_fen"],
    "checkout_start": [],
    "share": [],
    "content_view": ["content_id"],
}

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "ts"],
    "properties": {
        "id": {"type": "string", "minLength": 8, "maxLength": 64, "pattern": "^[A-Za-z0-9_.:-]+$"},
        "name": {"enum": list(MP_EVENTS)},
        "ts": {"type": "integer", "minimum": 1_500_000_000_000, "description": "epoch milliseconds"},
        "page": {"type": "string", "maxLength": 128},
        "sku": _SKU,
        "quantity": _QTY,
        "amount_fen": _FEN,
        "dwell_ms": {"type": "integer", "minimum": 0, "maximum": 86_400_000},
        "content_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "target": {"enum": ["friend", "moments", "group", "poster"]},
        "store_id": {"type": "integer", "minimum": 1, "maximum": 2**53},
    },
    "allOf": [
        {"if": {"properties": {"name": {"const": name}}}, "then": {"required": required}}
        for name, required in _REQUIRED.items()
        if required
    ],
}

BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["events"],
    "properties": {
        "events": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": EVENT_SCHEMA},
        "appid": {"type": "string", "maxLength": 32},
    },
}

_validator = jsonschema_rs.validator_for(BATCH_SCHEMA)


def _field(path: list[str | int], error: jsonschema_rs.ValidationError) -> str:
    kind = error.kind
    extra = getattr(kind, "property", None)
    unexpected = getattr(kind, "unexpected", None)
    if extra is None and isinstance(unexpected, list) and unexpected:
        extra = unexpected[0]
    parts = [*path, *([extra] if isinstance(extra, str) else [])]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def validate_batch(body: object) -> list[dict[str, Any]]:
    """The batch's events, or ``BadEvents`` naming the first field at fault."""
    errors = sorted(
        _validator.iter_errors(body),
        key=lambda e: [(0, p) if isinstance(p, int) else (1, str(p)) for p in e.instance_path],
    )
    if errors:
        first = errors[0]
        raise BadEvents(_field(list(first.instance_path), first), first.message[:200])
    assert isinstance(body, dict)
    return list(body["events"])
