"""Keys of the membership layer, derived from the deployment ``Settings``.

Its deployment knobs (code key, code base URL, OAuth page, IP table, H5 cookie days) are part of
``bot.config.Settings``; the per-tenant business knobs (caps, points, tiers) are rows, see
``loyalty_config``.
"""

from __future__ import annotations

import hashlib
import hmac

from bot.config import Settings


def code_master_key(settings: Settings) -> tuple[bytes, bool]:
    """(master key of bottle codes, derived?). Derived from secret_key only when no code key is
    configured: fine for a demo, wrong for print runs (rotating secret_key would orphan them)."""
    if settings.code_key:
        return settings.code_key.encode(), False
    return hmac.digest(settings.secret_key.encode(), b"jiubot/code-master-key", hashlib.sha256), True


def code_base_url(settings: Settings) -> str:
    """Where printed codes and share links point."""
    return settings.code_base_url or settings.public_base_url


def referral_secret(secret_key: str) -> bytes:
    """Key of share links and store coupon QRs (derived: rotating secret_key invalidates them)."""
    return hmac.digest(secret_key.encode(), b"jiubot/referral", hashlib.sha256)
