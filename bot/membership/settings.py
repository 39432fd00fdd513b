"""Deployment settings of the membership layer (``JIUBOT_`` environment variables).

They live here rather than in ``bot.config.Settings`` so the membership package owns them; the
per-tenant business knobs (caps, points, tiers) are rows, see ``loyalty_config``.
"""

from __future__ import annotations

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class MembershipSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="JIUBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Master key of bottle codes. Printed codes live for years, so this is NOT the rotating
    # secret_key: each tenant's code key is derived from it (HMAC), and it must never change
    # once codes are printed. Empty: derived from secret_key (fine for demos, say so loudly).
    code_key: str = ""
    # Host printed on bottle caps: https://<host>/c/<code>. Empty: public_base_url.
    code_base_url: str = ""
    # snsapi_base authorize page; point it at wechat_sim in tests and the demo.
    oauth_authorize_url: str = "https://open.weixin.qq.com/connect/oauth2/authorize"
    # CSV of "cidr,province,city" used to place scans with no GPS; empty = the demo table.
    ip_city_table: str = ""
    # (The client IP behind a reverse proxy: JIUBOT_TRUSTED_PROXIES, bot/clientip.py; the old
    # JIUBOT_TRUST_FORWARDED_FOR believed any X-Forwarded-For and is gone.)
    # How long the H5 member cookie lasts.
    h5_session_days: int = Field(default=30, ge=1, le=365)
    # Seconds a cached tenant loyalty config is trusted before re-reading it.
    config_cache_seconds: float = Field(default=30.0, ge=0, le=3600)

    @field_validator("code_key")
    @classmethod
    def _key(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters (it protects every printed bottle code)")
        return value

    @field_validator("code_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


def load_membership_settings(**overrides: object) -> MembershipSettings:
    try:
        return MembershipSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = [f"JIUBOT_{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()]
        raise ValueError("; ".join(lines)) from None


def code_master_key(membership: MembershipSettings, secret_key: str) -> tuple[bytes, bool]:
    """(master key of bottle codes, derived?). Derived from secret_key only when no code key is
    configured: fine for a demo, wrong for print runs (rotating secret_key would orphan them)."""
    if membership.code_key:
        return membership.code_key.encode(), False
    import hashlib
    import hmac

    return hmac.digest(secret_key.encode(), b"jiubot/code-master-key", hashlib.sha256), True


def referral_secret(secret_key: str) -> bytes:
    """Key of share links and store coupon QRs (derived: rotating secret_key invalidates them)."""
    import hashlib
    import hmac

    return hmac.digest(secret_key.encode(), b"jiubot/referral", hashlib.sha256)
