"""What the content feature builds once: storage, the token key, reward rules, the live template.

Deployment knobs (``Settings``, environment ``JIUBOT_CONTENT_*``; documented in docs/content.md):
``JIUBOT_CONTENT_DIR`` (media folder, default ``<database folder>/content``),
``JIUBOT_CONTENT_WINDOW_DAYS`` (attribution window, default 7),
``JIUBOT_CONTENT_REWARDS`` (JSON ``{"follow": 20, "scan": 10, "coupon": 5, "order": 50}``, or
per tenant ``{"<tenant id>": {...}}``), ``JIUBOT_CONTENT_LIVE_TEMPLATE_ID`` (the 开播提醒
subscribe template; empty: reminders only inside the customer-service window),
``JIUBOT_CONTENT_S3_ENDPOINT`` (+ ``_BUCKET``, ``_REGION``, ``_ACCESS_KEY``, ``_SECRET_KEY``): media
in an S3-compatible bucket instead of the folder.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.content.attribution import Rewards
from bot.content.storage import LocalStorage, Storage

if TYPE_CHECKING:
    from bot.content.view_stream import ViewStream


def content_secret(secret_key: str) -> bytes:
    return hmac.digest(secret_key.encode(), b"jiubot/content", hashlib.sha256)


@dataclass(eq=False)
class ContentRuntime:
    storage: Storage
    secret: bytes
    live_template_id: str = ""
    window: timedelta = timedelta(days=7)
    rewards_by_tenant: dict[int, dict[str, int]] = field(default_factory=dict)
    default_rewards: dict[str, int] = field(default_factory=lambda: dict(Rewards().points))
    views: ViewStream | None = None  # the share page's view stream (set where Redis is wired)

    def rewards(self, tenant_id: int) -> Rewards:
        return Rewards(self.rewards_by_tenant.get(tenant_id, self.default_rewards), self.window)

    @classmethod
    def from_settings(cls, settings: Settings) -> ContentRuntime:
        folder = settings.content_dir
        if not folder:
            database = settings.database_url.split("///", 1)[-1] if "sqlite" in settings.database_url else ""
            base = Path(database).parent if database and database != ":memory:" else Path("var")
            folder = str(base / "content")
        storage: Storage = LocalStorage(Path(folder))
        if settings.content_s3_endpoint:
            from bot.content.storage_s3 import S3Config, S3Storage

            storage = S3Storage(
                S3Config(
                    settings.content_s3_endpoint,
                    settings.content_s3_bucket,
                    settings.content_s3_region,
                    settings.content_s3_access_key,
                    settings.content_s3_secret_key,
                )
            )
        runtime = cls(storage, content_secret(settings.secret_key))
        runtime.live_template_id = settings.content_live_template_id
        runtime.window = timedelta(days=settings.content_window_days)
        raw = settings.content_rewards
        if raw and all(k.isdigit() for k in raw):
            runtime.rewards_by_tenant = {
                int(k): {**runtime.default_rewards, **v} for k, v in raw.items() if isinstance(v, dict)
            }
        elif raw:
            flat = {k: int(v) for k, v in raw.items() if isinstance(v, int)}
            runtime.default_rewards = {**runtime.default_rewards, **flat}
        return runtime
