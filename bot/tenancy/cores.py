"""``CoreDirectory``: which core ordering system serves a tenant, and its client.

A tenant with its own core (``jiubot tenant core``: URL, API key, webhook secret in ``tenants``)
gets a client of its own; a tenant without one gets the process-wide ``JIUBOT_CORE_*`` core, so a
single-brand deployment behaves as before. Clients are cached by configuration (two tenants on the
same core share one client, breaker and all) and all share the one core ``ClientSession``. A
tenant's configuration is re-read at most every ``ttl`` seconds, so a change made by the CLI in
another process takes effect here within that time; ``invalidate`` makes it immediate in this one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backend_client import BackendUnavailable

if TYPE_CHECKING:
    from backend_client import CoreClient


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """Where a tenant's core is and how to talk to it. The secrets never appear in a repr."""

    url: str
    api_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    own: bool = True  # the tenant's own core (False: the process-wide default)


class CoreNotConfigured(BackendUnavailable):
    """The tenant has no core of its own and the process has no default core."""

    code = "core_not_configured"

    def __init__(self, tenant_id: int) -> None:
        super().__init__(f"no core is configured for tenant {tenant_id}")
        self.tenant_id = tenant_id


Loader = Callable[[int], Awaitable["CoreConfig | None"]]  # the tenant's own core, None = none
Maker = Callable[[CoreConfig], "CoreClient"]


@dataclass(slots=True)
class _Entry:
    config: CoreConfig | None
    loaded_at: float


@dataclass(eq=False)
class CoreDirectory:
    loader: Loader
    default: CoreConfig | None
    make: Maker
    ttl: float = 10.0
    _entries: dict[int, _Entry] = field(default_factory=dict)
    _clients: dict[CoreConfig, CoreClient] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def config(self, tenant_id: int) -> CoreConfig | None:
        """The tenant's own core, else the process default, else None."""
        entry = self._entries.get(tenant_id)
        if entry is None or time.monotonic() - entry.loaded_at >= self.ttl:
            async with self._lock:  # one read per tenant and period, however many callers wait
                entry = self._entries.get(tenant_id)
                if entry is None or time.monotonic() - entry.loaded_at >= self.ttl:
                    entry = _Entry(await self.loader(tenant_id), time.monotonic())
                    self._entries[tenant_id] = entry
                    self._prune()
        return entry.config or self.default

    async def client(self, tenant_id: int) -> CoreClient | None:
        config = await self.config(tenant_id)
        return self.client_for(config) if config is not None else None

    async def require(self, tenant_id: int) -> CoreClient:
        client = await self.client(tenant_id)
        if client is None:
            raise CoreNotConfigured(tenant_id)
        return client

    def client_for(self, config: CoreConfig) -> CoreClient:
        client = self._clients.get(config)
        if client is None:
            client = self._clients[config] = self.make(config)
        return client

    def invalidate(self, tenant_id: int | None = None) -> None:
        """Forget a tenant's (or every tenant's) configuration: the next call re-reads it."""
        if tenant_id is None:
            self._entries.clear()
        else:
            self._entries.pop(tenant_id, None)
        self._prune()

    def _prune(self) -> None:
        live = {e.config for e in self._entries.values() if e.config is not None}
        for config in [c for c in self._clients if c.own and c not in live]:
            del self._clients[config]  # an old key or URL: its client is not used again

    @property
    def configured(self) -> bool:
        """A default core exists, or some tenant loaded so far has its own."""
        return self.default is not None or any(e.config for e in self._entries.values())
