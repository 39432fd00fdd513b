"""``CoreCatalogSource``: the parser's catalog from the core's catalog API.

The core is the truth about what is sold (SKUs, names, aliases, case sizes, active or not). The
parser also wants what the core does not say: the display order (flagships first, so an ambiguous
"茅台" lists 飞天 first), brand aliases, and the size of a 提. Those come from a **lexicon** catalog
(the brand's catalog file, by default the demo ``catalog.yaml``) and apply to the SKUs it knows;
products only the core knows go after them, grouped by brand, dearest first.

The catalog is cached per source for ``ttl`` seconds; concurrent loads share one fetch, and when
the core is down a stale catalog keeps the chat working.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from bot.ordering.catalog_source import DEFAULT_BOTTLES_PER_PACK, FALLBACK_BOTTLES_PER_PACK
from bot.ordering.interface import Brand, Catalog, CatalogEntry

log = structlog.get_logger(__name__)

PAGE = 100
MAX_PAGES = 200


class CatalogApi(Protocol):
    """The part of ``backend_client``'s catalog area this source uses."""

    async def search(
        self, q: str | None = None, *, status: str = "active", cursor: str | None = None, limit: int = 20
    ) -> Any: ...


def entry_from_product(product: Any, hint: CatalogEntry | None) -> CatalogEntry:
    aliases = tuple(dict.fromkeys([*product.aliases, *(hint.aliases if hint else ())]))
    per_pack = (
        hint.bottles_per_pack
        if hint
        else DEFAULT_BOTTLES_PER_PACK.get(product.category, FALLBACK_BOTTLES_PER_PACK)
    )
    return CatalogEntry(
        sku=product.sku,
        name=product.name,
        brand=product.brand,
        series=product.series or (hint.series if hint else product.name),
        category=product.category,
        bottles_per_case=max(int(product.bottles_per_case), 1),
        bottles_per_pack=per_pack,
        ml=int(product.ml),
        abv=float(product.abv) if product.abv else (hint.abv if hint else None),
        aliases=aliases,
        aroma=product.aroma,
        status="active" if product.status == "active" else "inactive",
        base_price_fen=int(product.base_price_fen),
        image=product.image_url or None,
    )


def build_catalog(products: list[Any], lexicon: Catalog | None) -> Catalog:
    hints = {e.sku: e for e in lexicon.entries} if lexicon else {}
    order = {sku: n for n, sku in enumerate(hints)}
    brand_rank = {b.name: n for n, b in enumerate(lexicon.brands)} if lexicon else {}

    def rank(p: Any) -> tuple:
        if p.sku in order:
            return (0, order[p.sku], 0, "")
        return (1, brand_rank.get(p.brand, len(brand_rank)), -int(p.base_price_fen), p.sku)

    entries = tuple(entry_from_product(p, hints.get(p.sku)) for p in sorted(products, key=rank))
    brands = list(lexicon.brands) if lexicon else []
    known = {b.name for b in brands}
    brands += [Brand(name) for name in dict.fromkeys(e.brand for e in entries) if name and name not in known]
    return Catalog(entries, tuple(brands))


class CoreCatalogSource:
    def __init__(
        self,
        api: CatalogApi,
        *,
        lexicon: Catalog | None = None,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.lexicon = lexicon
        self.ttl = ttl
        self.clock = clock
        self._cached: tuple[float, Catalog] | None = None
        self._loading: asyncio.Task[Catalog] | None = None

    async def load(self, store_id: str | None = None) -> Catalog:
        """The catalog (one for every store: the core prices per store, it does not hide products)."""
        now = self.clock()
        if self._cached and now - self._cached[0] < self.ttl:
            return self._cached[1]
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._fetch())
        task = self._loading
        try:
            catalog = await asyncio.shield(task)
        except Exception:
            if self._cached is not None:
                log.warning("core_catalog_stale", age=round(now - self._cached[0]))
                return self._cached[1]
            raise
        finally:
            if self._loading is task and task.done():
                self._loading = None
        self._cached = (self.clock(), catalog)
        return catalog

    async def _fetch(self) -> Catalog:
        products: list[Any] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await self.api.search(status="all", cursor=cursor, limit=PAGE)
            products.extend(page.items)
            cursor = page.next_cursor
            if not cursor:
                break
        return build_catalog(products, self.lexicon)
