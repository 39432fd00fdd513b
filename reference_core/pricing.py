"""Store prices: the most specific price list that lists a product wins (region and tier, then region,
then tier, then a list for everyone; ``priority`` breaks ties); without one, the product's base price."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core.models import PriceList, PriceListItem, Product, Store


@dataclass(frozen=True)
class StorePrice:
    product_id: int
    sku: str
    bottle_price_fen: int
    case_price_fen: int
    bottles_per_case: int
    min_order_bottles: int
    price_list: str


def base_price(product: Product) -> StorePrice:
    return StorePrice(
        product_id=product.id,
        sku=product.sku,
        bottle_price_fen=product.base_price_fen,
        case_price_fen=product.base_price_fen * product.bottles_per_case,
        bottles_per_case=product.bottles_per_case,
        min_order_bottles=1,
        price_list="base",
    )


async def prices_for(
    session: AsyncSession, store: Store, products: Iterable[Product]
) -> dict[int, StorePrice]:
    products = list(products)
    if not products:
        return {}
    # every price list that may apply to this store, with its items for these products: one query
    rows = await session.execute(
        select(PriceList, PriceListItem)
        .outerjoin(
            PriceListItem,
            (PriceListItem.price_list_id == PriceList.id)
            & PriceListItem.product_id.in_([p.id for p in products]),
        )
        .where(
            PriceList.tenant_id == store.tenant_id,
            or_(PriceList.region_id.is_(None), PriceList.region_id == store.region_id),
            or_(PriceList.tier.is_(None), PriceList.tier == store.tier),
        )
    )
    lists: dict[int, PriceList] = {}
    by_key: dict[tuple[int, int], PriceListItem] = {}
    for price_list, item in rows:
        lists[price_list.id] = price_list
        if item is not None:
            by_key[(price_list.id, item.product_id)] = item
    ranked = sorted(
        lists.values(),
        key=lambda pl: (pl.region_id is not None, pl.tier is not None, pl.priority, -pl.id),
        reverse=True,
    )
    result = {p.id: base_price(p) for p in products}
    for product in products:
        for price_list in ranked:
            listed = by_key.get((price_list.id, product.id))
            if listed is not None:
                result[product.id] = StorePrice(
                    product_id=product.id,
                    sku=product.sku,
                    bottle_price_fen=listed.bottle_price_fen,
                    case_price_fen=listed.case_price_fen,
                    bottles_per_case=product.bottles_per_case,
                    min_order_bottles=listed.min_order_bottles,
                    price_list=price_list.code,
                )
                break
    return result
    items = (
        await session.scalars(
            select(PriceListItem).where(
                PriceListItem.price_list_id.in_([pl.id for pl in ranked]),
                PriceListItem.product_id.in_([p.id for p in products]),
            )
        )
    ).all()
    by_key = {(i.price_list_id, i.product_id): i for i in items}
    for product in products:
        for price_list in ranked:
            listed = by_key.get((price_list.id, product.id))
            if listed is not None:
                result[product.id] = StorePrice(
                    product_id=product.id,
                    sku=product.sku,
                    bottle_price_fen=listed.bottle_price_fen,
                    case_price_fen=listed.case_price_fen,
                    bottles_per_case=product.bottles_per_case,
                    min_order_bottles=listed.min_order_bottles,
                    price_list=price_list.code,
                )
                break
    return result
