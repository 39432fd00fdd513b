"""Share tokens: ``<code>.<mac>``; the code is random (unguessable), the MAC proves we issued it.

Revocation is the share row's ``revoked_at`` (a token that verifies is still looked up). Poster
and beacon tokens are the same construction over another purpose, so one cannot stand for another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_code() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 random bits


def _mac(secret: bytes, purpose: str, body: str) -> str:
    digest = hmac.new(secret, f"jiubot/content/{purpose}/{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode().rstrip("=")


def sign(secret: bytes, body: str, purpose: str = "share") -> str:
    return f"{body}.{_mac(secret, purpose, body)}"


def read(secret: bytes, token: str, purpose: str = "share") -> str | None:
    """The body of a token we issued for ``purpose``, else None (tampered, foreign, garbage)."""
    body, dot, mac = token.rpartition(".")
    if not dot or not body or len(token) > 200:
        return None
    if not hmac.compare_digest(_mac(secret, purpose, body), mac):
        return None
    return body
