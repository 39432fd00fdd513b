"""The chat-ordering objects a running app shares (built by ``bot.wiring.core``, read by
flows, handlers and the mini-program API as ``services.ordering``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.ordering.binding import PhoneCodes
from bot.ordering.binding_cache import BindingCache
from bot.ordering.cart import CartStore
from bot.ordering.catalog_source import CatalogSource
from bot.ordering.interface import Catalog, ParseLimits
from bot.ordering.parser import OrderParser
from bot.ordering.placing import OrderPlacer
from bot.ordering.sms import SmsSender


@dataclass
class OrderingRuntime:
    core: Any  # backend_client.CoreClient: org, catalog, orders, coupons ...
    catalogs: CatalogSource
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
    _parser: tuple[Catalog, OrderParser] | None = None

    async def parser(self) -> OrderParser:
        """A parser over the current catalog; its index is built once per catalog."""
        catalog = await self.catalogs.load()
        cached = self._parser
        if cached is None or cached[0] is not catalog:
            cached = (catalog, OrderParser(catalog, self.limits))
            self._parser = cached
        return cached[1]
