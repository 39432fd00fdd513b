"""A small, exact tenant for tests: two regions, three warehouses, four products, a few stores."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import update

from reference_core.db import create_engine, session_factory
from reference_core.models import (
    Distributor,
    Inventory,
    PriceList,
    PriceListItem,
    Product,
    Region,
    Store,
    Warehouse,
)
from reference_core.tenants import add_key, ensure_tenant

API_KEY = "test-key-0123456789"
OTHER_KEY = "other-tenant-key-0123"

PRODUCTS = [
    # sku, name, brand, series, category, aroma, abv, ml, bpc, base price, aliases
    (
        "MT-FT-53-500",
        "贵州茅台酒 飞天 53%vol 500ml",
        "茅台",
        "飞天",
        "白酒",
        "酱香",
        53,
        500,
        12,
        189000,
        ["飞天", "普飞"],
    ),
    (
        "WLY-PW-52-500",
        "五粮液 普五 第八代 52%vol 500ml",
        "五粮液",
        "普五",
        "白酒",
        "浓香",
        52,
        500,
        6,
        96000,
        ["普五"],
    ),
    ("ZY-CS-750", "张裕 解百纳 干红 750ml", "张裕", "解百纳", "红酒", None, 12.5, 750, 6, 16800, ["解百纳"]),
    ("GI-IPA-355", "鹅岛 IPA 精酿啤酒 355ml", "鹅岛", "IPA", "精酿", None, 5.9, 355, 24, 1200, ["鹅岛IPA"]),
]

WAREHOUSES = [
    ("WH-SH", "上海仓", "上海", 31.23, 121.47),
    ("WH-HZ", "杭州仓", "杭州", 30.27, 120.15),
    ("WH-GZ", "广州仓", "广州", 23.13, 113.26),
]


@dataclass
class World:
    url: str
    tenant_id: int
    api_key: str = API_KEY
    regions: dict[str, int] = field(default_factory=dict)
    warehouses: dict[str, int] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)
    stores: dict[str, int] = field(default_factory=dict)


async def build_world(
    url: str,
    *,
    stock: dict[tuple[str, str], int] | None = None,
    credit_fen: int = 10**10,
    webhook_url: str = "",
    webhook_secret: str = "whsec-test",
    extra_stores: int = 0,
) -> World:
    """``stock`` maps (warehouse code, sku) -> bottles on hand (default: 100 of everything in 上海仓)."""
    engine = create_engine(url)
    factory = session_factory(engine)
    try:
        async with factory() as session, session.begin():
            tenant = await ensure_tenant(session, "t1", "测试品牌")
            tenant.webhook_url, tenant.webhook_secret = webhook_url, webhook_secret
            await add_key(session, tenant, API_KEY)
            other = await ensure_tenant(session, "t2", "另一个品牌")
            await add_key(session, other, OTHER_KEY)
            world = World(url, tenant.id)
            for code, name in (("EAST", "华东营销中心"), ("SOUTH", "华南营销中心")):
                region = Region(tenant_id=tenant.id, code=code, name=name)
                session.add(region)
                await session.flush()
                world.regions[code] = region.id
            dist = {}
            for code, region in (("D-EAST", "EAST"), ("D-SOUTH", "SOUTH")):
                row = Distributor(
                    tenant_id=tenant.id, region_id=world.regions[region], code=code, name=code, city=""
                )
                session.add(row)
                await session.flush()
                dist[region] = row.id
            for code, name, city, lat, lng in WAREHOUSES:
                row = Warehouse(tenant_id=tenant.id, code=code, name=name, city=city, lat=lat, lng=lng)
                session.add(row)
                await session.flush()
                world.warehouses[code] = row.id
            for sku, name, brand, series, cat, aroma, abv, ml, bpc, price, aliases in PRODUCTS:
                row = Product(
                    tenant_id=tenant.id,
                    sku=sku,
                    name=name,
                    brand=brand,
                    series=series,
                    category=cat,
                    aroma=aroma,
                    abv=abv,
                    ml=ml,
                    bottles_per_case=bpc,
                    aliases=aliases,
                    image_url="",
                    status="active",
                    base_price_fen=price,
                    search_text=" ".join([sku, name, brand, series, *aliases]).lower(),
                )
                session.add(row)
                await session.flush()
                world.products[sku] = row.id
            stores = [
                ("S-SH-1", "上海静安烟酒店", "EAST", "core", "13800000001", 31.22, 121.45, "上海"),
                ("S-GZ-1", "广州天河名酒行", "SOUTH", "strategic", "13800000002", 23.12, 113.32, "广州"),
                ("S-SH-2", "上海徐汇酒行", "EAST", "potential", "13800000001", 31.19, 121.43, "上海"),
            ]
            stores += [
                (f"S-X-{n}", f"门店{n}", "EAST", "core", f"1390000{n:04d}", 31.2, 121.4, "上海")
                for n in range(extra_stores)
            ]
            for code, name, region, tier, phone, lat, lng, city in stores:
                row = Store(
                    tenant_id=tenant.id,
                    code=code,
                    name=name,
                    region_id=world.regions[region],
                    distributor_id=dist[region],
                    owner_name="老板",
                    owner_phone=phone,
                    city=city,
                    address=f"{city}某路1号",
                    lat=lat,
                    lng=lng,
                    tier=tier,
                    credit_limit_fen=credit_fen,
                )
                session.add(row)
                await session.flush()
                world.stores[code] = row.id
            # core-tier stores in the east pay less for 飞天 and must buy 普五 by the half case
            plist = PriceList(
                tenant_id=tenant.id,
                code="EAST-CORE",
                name="华东核心门店价",
                region_id=world.regions["EAST"],
                tier="core",
                priority=0,
            )
            session.add(plist)
            await session.flush()
            session.add_all(
                [
                    PriceListItem(
                        price_list_id=plist.id,
                        product_id=world.products["MT-FT-53-500"],
                        bottle_price_fen=185000,
                        case_price_fen=2200000,
                        min_order_bottles=1,
                    ),
                    PriceListItem(
                        price_list_id=plist.id,
                        product_id=world.products["WLY-PW-52-500"],
                        bottle_price_fen=95000,
                        case_price_fen=560000,
                        min_order_bottles=3,
                    ),
                ]
            )
            levels = stock if stock is not None else {("WH-SH", sku): 100 for sku, *_ in PRODUCTS}
            for (wh, sku), on_hand in levels.items():
                session.add(
                    Inventory(
                        warehouse_id=world.warehouses[wh],
                        product_id=world.products[sku],
                        tenant_id=tenant.id,
                        on_hand=on_hand,
                        reserved=0,
                    )
                )
        return world
    finally:
        await engine.dispose()


async def set_credit(url: str, store_id: int, limit_fen: int) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await session.execute(
                update(Store).where(Store.id == store_id).values(credit_limit_fen=limit_fen)
            )
    finally:
        await engine.dispose()
