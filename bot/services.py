"""The shared runtime objects handed to handlers and pages, built once by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from jinja2 import Environment
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.flows.storage import FlowStorage
from bot.ports import PushNotifier
from bot.redis import Keys
from bot.tenancy.registry import AppRegistry


@dataclass
class Services:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    keys: Keys
    registry: AppRegistry
    flows: FlowStorage
    notifier: PushNotifier  # late replies and later pushes (bot/wechat/notifier.py in production)
    texts: Environment
    # Filled in by later layers of the composition root (outbound client, core client, ...).
    extras: dict[str, Any] = field(default_factory=dict)
    _fixed_texts: dict[str, str] = field(default_factory=dict, repr=False)

    def text(self, name: str, **values: Any) -> str:
        """Render a user-facing Chinese text from templates/replies/<name>.j2.

        A text without values is rendered once and kept (help, welcome... on the hot path)."""
        if not values:
            cached = self._fixed_texts.get(name)
            if cached is None:
                cached = self._fixed_texts[name] = (
                    self.texts.get_template(f"replies/{name}.j2").render().strip()
                )
            return cached
        return self.texts.get_template(f"replies/{name}.j2").render(**values).strip()
