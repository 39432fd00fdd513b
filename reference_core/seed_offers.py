"""The demo tenant's promotions (one of each kind) and coupon campaigns."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from reference_core.models import CouponCampaign, Product, Promotion


def _pick(
    products: dict[str, Product], category: str, *, aroma: str | None = None, cheap: bool = False
) -> Product:
    options = [
        p
        for p in products.values()
        if p.status == "active" and p.category == category and (aroma is None or p.aroma == aroma)
    ]
    options.sort(key=lambda p: (p.base_price_fen if cheap else -p.base_price_fen, p.sku))
    return options[0]


async def add_promotions(
    session: AsyncSession,
    tenant_id: int,
    products: dict[str, Product],
    warehouses: dict[str, int],
    now: datetime,
) -> None:
    day = timedelta(days=1)
    feitian = products.get("MT-FT-53-500") or _pick(products, "白酒", aroma="酱香")
    wine = _pick(products, "红酒", cheap=True)
    nong = _pick(products, "白酒", aroma="浓香")
    beer = _pick(products, "精酿", cheap=True)

    def promo(kind, name, starts, ends, rules, **extra):
        return Promotion(
            tenant_id=tenant_id,
            kind=kind,
            name=name,
            status="active",
            starts_at=starts,
            ends_at=ends,
            rules=rules,
            scope=extra.pop("scope", {"skus": [], "categories": []}),
            audience=extra.pop("audience", {"region_ids": [], "tiers": []}),
            outcome="",
            created_at=now,
            **extra,
        )

    session.add_all(
        [
            promo(
                "full_reduction",
                "白酒满5000减200，满10000减500",
                now - day,
                now + 30 * day,
                {
                    "tiers": [
                        {"threshold_fen": 500_000, "off_fen": 20_000},
                        {"threshold_fen": 1_000_000, "off_fen": 50_000},
                    ]
                },
                scope={"skus": [], "categories": ["白酒"]},
                description="白酒类商品满额立减",
            ),
            promo(
                "full_gift",
                f"满3000元赠{wine.name}",
                now - day,
                now + 30 * day,
                {"tiers": [{"threshold_fen": 300_000, "gift_sku": wine.sku, "gift_bottles": 1}]},
                description="订货满3000元赠红酒一瓶",
            ),
            promo(
                "discount",
                "红酒限时88折",
                now - day,
                now + 14 * day,
                {"percent_off": 12},
                scope={"skus": [], "categories": ["红酒"]},
                description="限时折扣",
            ),
            promo(
                "flash_sale",
                f"{feitian.name} 秒杀",
                now,
                now + 7 * day,
                {"sku": feitian.sku, "price_fen": int(feitian.base_price_fen * 0.95)},
                stock_total=60,
                stock_remaining=60,
                per_store_limit=6,
                description="每店限购6瓶",
            ),
            promo(
                "group_buy",
                f"{nong.name} 拼单",
                now - day,
                now + 3 * day,
                {
                    "sku": nong.sku,
                    "min_group_size": 5,
                    "max_bottles_per_store": 60,
                    "tiers": [
                        {"min_stores": 5, "price_fen": int(nong.base_price_fen * 0.92)},
                        {"min_stores": 10, "price_fen": int(nong.base_price_fen * 0.88)},
                    ],
                },
                description="5家成团92折，10家88折",
            ),
            promo(
                "auction",
                f"{beer.name} 临期拍卖",
                now - timedelta(hours=1),
                now + 2 * day,
                {
                    "sku": beer.sku,
                    "warehouse_id": warehouses["WH-SH"],
                    "start_price_fen": beer.base_price_fen,
                    "floor_price_fen": beer.base_price_fen // 2,
                    "step_fen": max(1, beer.base_price_fen // 50),
                    "step_seconds": 600,
                },
                stock_total=600,
                stock_remaining=600,
                description="临期精酿，每10分钟降价2%",
            ),
        ]
    )


def add_campaigns(session: AsyncSession, tenant_id: int, now: datetime) -> None:
    day = timedelta(days=1)
    session.add_all(
        [
            CouponCampaign(
                tenant_id=tenant_id,
                name="门店订货满2000减100",
                kind="amount_off",
                amount_off_fen=10_000,
                threshold_fen=200_000,
                audience="stores",
                audience_filter={},
                scope={},
                claim_starts_at=now - day,
                claim_ends_at=now + 30 * day,
                valid_days=30,
                valid_until=now + 60 * day,
                total_stock=500,
                remaining=500,
                per_holder_limit=1,
                status="active",
                created_at=now,
            ),
            CouponCampaign(
                tenant_id=tenant_id,
                name="老客回归 9折券（最高减50元）",
                kind="percent_off",
                percent_off=10,
                max_discount_fen=5_000,
                threshold_fen=0,
                audience="consumers",
                audience_filter={},
                scope={},
                claim_starts_at=now - day,
                claim_ends_at=now + 30 * day,
                valid_days=14,
                valid_until=now + 60 * day,
                total_stock=10_000,
                remaining=10_000,
                per_holder_limit=2,
                status="active",
                created_at=now,
            ),
        ]
    )
