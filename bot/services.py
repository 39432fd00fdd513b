"""The shared runtime objects handlers, pages and jobs see, built once by ``bot.wiring``.

Every object is a typed attribute. Those of a feature that is not wired (no core configured, a
test that composes only what it exercises) are ``None``; a caller checks before use. Types from
layers above this one (the WeChat boundary) are imported for the type checker only: the objects
themselves are made by the composition root, which may import everything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from jinja2 import Environment
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.analytics.runtime import AnalyticsRuntime
from bot.config import Settings
from bot.content.runtime import ContentRuntime
from bot.flows.storage import FlowStorage
from bot.hooks import Hooks
from bot.membership.runtime import MembershipRuntime
from bot.messages import Inbound
from bot.messaging.interface import Receipt
from bot.ordering.runtime import OrderingRuntime
from bot.ports import PushNotifier
from bot.redis import Keys
from bot.tenancy.cores import CoreDirectory
from bot.tenancy.registry import AppConfig, AppRegistry

if TYPE_CHECKING:
    from backend_client import CoreClient
    from bot.wechat.outbound import WeChatClient
    from bot.wechat.ratelimit import RateLimiter
    from bot.wechat.reach import ReachBudget

# Called with every batch of delivery receipts (TEMPLATESENDJOBFINISH, subscribe_msg_sent_event).
ReceiptHook = Callable[[AppConfig, Inbound, list[Receipt]], Awaitable[None]]


@dataclass(eq=False)
class Services:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    keys: Keys
    registry: AppRegistry
    flows: FlowStorage
    notifier: PushNotifier  # late replies and later pushes (bot/wechat/notifier.py in production)
    texts: Environment
    # Each tenant's core client: ``await cores.client(tenant_id)`` (its own core or the default).
    cores: CoreDirectory
    # WeChat's API (bot/wechat): the client, the reach budget, the shared rate limiter.
    wechat: WeChatClient | None = None
    reach: ReachBudget | None = None
    limiter: RateLimiter | None = None
    # The process-wide default core's client (JIUBOT_CORE_URL), when configured. What serves a
    # tenant is ``cores.client(tenant_id)``: this one only for tenants without a core of their own.
    core: CoreClient | None = None
    # Domain runtimes.
    ordering: OrderingRuntime | None = None
    membership: MembershipRuntime | None = None
    analytics: AnalyticsRuntime | None = None
    content: ContentRuntime | None = None
    receipt_hooks: list[ReceiptHook] = field(default_factory=list)
    # follows, credited scans, claimed coupons, placed orders: emitted where they happen
    hooks: Hooks = field(default_factory=Hooks)
    _fixed_texts: dict[str, str] = field(default_factory=dict, repr=False)

    def text(self, name: str, **values: Any) -> str:  # Any: template values are free-form
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
