"""The chat-ordering objects a running app shares (built by ``bot.wiring.core``, read by
flows, handlers and the mini-program API as ``services.ordering``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.ordering.binding import PhoneCodes
from bot.ordering.binding_cache import BindingCache
from bot.ordering.cart import CartStore
from bot.ordering.catalog_source import CatalogSource
from bot.ordering.interface import Catalog, ParseLimits
from bot.ordering.parser import OrderParser
from bot.ordering.placing import OrderPlacer
from bot.ordering.sms import SmsSender
from bot.tenancy.cores import CoreDirectory

if TYPE_CHECKING:
    from backend_client import CoreClient


@dataclass
class OrderingRuntime:
    """Shared by every tenant; what depends on the tenant's core (the client, the catalog and
    the parser over it) is asked for by tenant id."""

    cores: CoreDirectory
    make_catalogs: Callable[[CoreClient], CatalogSource]  # a cached catalog over one core
    carts: CartStore
    placer: OrderPlacer
    codes: PhoneCodes
    sms: SmsSender
    bindings: BindingCache
    limits: ParseLimits = field(default_factory=ParseLimits)
    confirm_budget: float = 3.0
    staff_invite_days: int = 7
    bind_qr_days: int = 30
    order_link: str = ""  # an H5 URL for one order ({order_id}, {number}); "" = none
    _catalogs: dict[CoreClient, CatalogSource] = field(default_factory=dict)
    _parsers: dict[CoreClient, tuple[Catalog, OrderParser]] = field(default_factory=dict)

    async def core(self, tenant_id: int) -> CoreClient:
        """The tenant's core client (``CoreNotConfigured``, a ``BackendUnavailable``, if none)."""
        return await self.cores.require(tenant_id)

    async def catalog(self, tenant_id: int) -> Catalog:
        client = await self.core(tenant_id)
        source = self._catalogs.get(client)
        if source is None:
            source = self._catalogs[client] = self.make_catalogs(client)
        return await source.load()

    async def parser(self, tenant_id: int) -> OrderParser:
        """A parser over the tenant's current catalog; its index is built once per catalog."""
        catalog = await self.catalog(tenant_id)
        client = await self.core(tenant_id)
        cached = self._parsers.get(client)
        if cached is None or cached[0] is not catalog:
            cached = self._parsers[client] = (catalog, OrderParser(catalog, self.limits))
        return cached[1]
