"""Opaque page cursors (an integer position, base64url-encoded so clients do not build them)."""

from __future__ import annotations

import base64
import binascii

from reference_core.errors import validation


def encode(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def decode(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("p"):
            raise ValueError(raw)
        value = int(raw[1:])
        if value < 0 or value > 2**63:
            raise ValueError(raw)
        return value
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise validation({"query.cursor": "not a cursor this API returned"}) from None
