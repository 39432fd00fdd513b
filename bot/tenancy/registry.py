"""The configured WeChat apps, kept in memory and refreshed from the database.

A callback for an appid that is not in memory triggers one reload (at most once per
``miss_interval`` seconds) so that ``jiubot app add`` takes effect in every process without a
restart, and unknown appids cannot make each request hit the database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AppConfig:
    tenant_id: int
    appid: str
    kind: str  # "oa" | "mp"
    token: str
    mode: str  # "plain" | "compat" | "safe"
    secret: str = ""
    aes_key: str = ""
    prev_aes_key: str = ""
    original_id: str = ""
    name: str = ""

    @property
    def aes_keys(self) -> list[str]:
        return [k for k in (self.aes_key, self.prev_aes_key) if k]


Loader = Callable[[], Awaitable[list[AppConfig]]]


@dataclass
class AppRegistry:
    loader: Loader
    miss_interval: float = 5.0
    _apps: dict[str, AppConfig] = field(default_factory=dict)
    _last_load: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def reload(self) -> None:
        async with self._lock:
            apps = await self.loader()
            self._apps = {a.appid: a for a in apps}
            self._last_load = time.monotonic()

    async def get(self, appid: str) -> AppConfig | None:
        app = self._apps.get(appid)
        if app is None and time.monotonic() - self._last_load >= self.miss_interval:
            await self.reload()
            app = self._apps.get(appid)
        return app

    def all(self) -> list[AppConfig]:
        return list(self._apps.values())
