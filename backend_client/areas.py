"""The API areas mounted on CoreClient (wechatpy style: small classes sharing the client's _request)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from backend_client import models as m
from backend_client.decode import decode_as

if TYPE_CHECKING:
    from backend_client.client import CoreClient

T = TypeVar("T")


def _params(**values: Any) -> list[tuple[str, str]]:
    """Query parameters without the unset ones; sequences repeat the name (``sku=a&sku=b``)."""
    out: list[tuple[str, str]] = []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            out.extend((name, str(v)) for v in value)
        elif isinstance(value, bool):
            out.append((name, "true" if value else "false"))
        else:
            out.append((name, str(value)))
    return out


class _Area:
    def __init__(self, client: CoreClient) -> None:
        self._client = client

    async def _get(self, cls: type[T], path: str, **params: Any) -> T:
        return decode_as(cls, await self._client._request("GET", path, params=_params(**params)))

    async def _post(self, cls: type[T], path: str, body: Any, **options: Any) -> T:
        return decode_as(cls, await self._client._request("POST", path, json=body, **options))


class Org(_Area):
    async def regions(self) -> tuple[m.Region, ...]:
        return (await self._get(m.RegionList, "/v1/regions")).items

    async def distributors(self, region_id: int | None = None) -> tuple[m.Distributor, ...]:
        return (await self._get(m.DistributorList, "/v1/distributors", region_id=region_id)).items

    async def stores(
        self,
        *,
        owner_phone: str | None = None,
        region_id: int | None = None,
        distributor_id: int | None = None,
        q: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> m.StorePage:
        return await self._get(
            m.StorePage,
            "/v1/stores",
            owner_phone=owner_phone,
            region_id=region_id,
            distributor_id=distributor_id,
            q=q,
            cursor=cursor,
            limit=limit,
        )

    async def find_stores_by_phone(self, phone: str) -> tuple[m.Store, ...]:
        """The stores whose owner has this phone number (binding a store in chat)."""
        return (await self.stores(owner_phone=phone, limit=100)).items

    async def store(self, store_id: int) -> m.Store:
        return await self._get(m.Store, f"/v1/stores/{int(store_id)}")


class Catalog(_Area):
    async def search(
        self,
        q: str | None = None,
        *,
        category: str | None = None,
        aroma: str | None = None,
        brand: str | None = None,
        status: str = "active",
        cursor: str | None = None,
        limit: int = 20,
    ) -> m.ProductPage:
        return await self._get(
            m.ProductPage,
            "/v1/products",
            q=q,
            category=category,
            aroma=aroma,
            brand=brand,
            status=status,
            cursor=cursor,
            limit=limit,
        )

    async def product(self, sku: str) -> m.Product:
        return await self._get(m.Product, f"/v1/products/{quote(sku, safe='')}")

    async def prices(self, store_id: int, skus: Sequence[str] = ()) -> tuple[m.Price, ...]:
        """The store's bottle and case prices and minimum order quantities (all products if no SKU)."""
        return (await self._get(m.PriceList, f"/v1/stores/{int(store_id)}/prices", sku=list(skus))).items

    async def warehouses(self) -> tuple[m.Warehouse, ...]:
        return (await self._get(m.WarehouseList, "/v1/warehouses")).items

    async def stock(
        self, skus: Sequence[str] = (), warehouse_id: int | None = None
    ) -> tuple[m.StockLevel, ...]:
        return (
            await self._get(m.StockList, "/v1/inventory", sku=list(skus), warehouse_id=warehouse_id)
        ).items


def _cart(store_id: int, lines: Sequence[m.LineRequest], coupon_claim_id: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"store_id": store_id, "lines": [line.to_json() for line in lines]}
    if coupon_claim_id is not None:
        body["coupon_claim_id"] = coupon_claim_id
    return body


class Orders(_Area):
    async def quote(
        self, store_id: int, lines: Sequence[m.LineRequest], *, coupon_claim_id: int | None = None
    ) -> m.Quote:
        """Price a cart (nothing is reserved, so a retry is harmless)."""
        return await self._post(m.Quote, "/v1/quotes", _cart(store_id, lines, coupon_claim_id), safe=True)

    async def create(
        self,
        store_id: int,
        lines: Sequence[m.LineRequest],
        *,
        idempotency_key: str,
        coupon_claim_id: int | None = None,
        note: str = "",
        expected_total_fen: int | None = None,
    ) -> m.Order:
        """Place an order. Derive the key from what caused it (e.g. flow id + cart version): a retry
        with the same key returns the same order, never a second one."""
        body = _cart(store_id, lines, coupon_claim_id)
        body["note"] = note
        if expected_total_fen is not None:
            body["expected_total_fen"] = expected_total_fen
        return await self._post(m.Order, "/v1/orders", body, idempotency_key=idempotency_key)

    async def get(self, order_id: int) -> m.Order:
        return await self._get(m.Order, f"/v1/orders/{int(order_id)}")

    async def list_for_store(
        self, store_id: int, *, status: str | None = None, cursor: str | None = None, limit: int = 20
    ) -> m.OrderPage:
        """Newest first, with lines."""
        return await self._get(
            m.OrderPage, f"/v1/stores/{int(store_id)}/orders", status=status, cursor=cursor, limit=limit
        )

    async def last_for_store(self, store_id: int) -> m.Order | None:
        """The store's most recent order ("再来一单" reorders ``order.reorder_lines()``)."""
        page = await self.list_for_store(store_id, limit=1)
        return page.items[0] if page.items else None

    async def cancel(self, order_id: int, reason: str = "", *, idempotency_key: str | None = None) -> m.Order:
        """Cancelling twice returns the cancelled order, so this is retried like a read."""
        return await self._post(
            m.Order,
            f"/v1/orders/{int(order_id)}/cancel",
            {"reason": reason},
            idempotency_key=idempotency_key,
            safe=True,
        )

    async def drop_ship(
        self,
        store_id: int,
        sku: str,
        bottles: int,
        recipient: m.Recipient,
        *,
        idempotency_key: str,
        note: str = "",
    ) -> m.DropShip:
        """一键代发: ship ``bottles`` of ``sku`` from the store's nearest stock to ``recipient``.
        Derive the key from what caused it: a retry with the same key returns the same drop-ship."""
        body = {"sku": sku, "bottles": bottles, "recipient": recipient.to_json(), "note": note}
        return await self._post(
            m.DropShip, f"/v1/stores/{int(store_id)}/drop-ships", body, idempotency_key=idempotency_key
        )

    async def get_drop_ship(self, drop_ship_id: int) -> m.DropShip:
        return await self._get(m.DropShip, f"/v1/drop-ships/{int(drop_ship_id)}")


class Promotions(_Area):
    async def create(
        self, definition: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> m.Promotion:
        return await self._post(
            m.Promotion, "/v1/promotions", dict(definition), idempotency_key=idempotency_key
        )

    async def list(
        self,
        *,
        kind: str | None = None,
        status: str | None = None,
        sku: str | None = None,
        store_id: int | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> m.PromotionPage:
        """Newest first; ``store_id``: only those whose audience includes the store."""
        return await self._get(
            m.PromotionPage,
            "/v1/promotions",
            kind=kind,
            status=status,
            sku=sku,
            store_id=store_id,
            cursor=cursor,
            limit=limit,
        )

    async def get(self, promotion_id: int) -> m.Promotion:
        return await self._get(m.Promotion, f"/v1/promotions/{int(promotion_id)}")

    async def stop(self, promotion_id: int) -> m.Promotion:
        """End the promotion now; stopping twice returns the stopped promotion (retried like a read)."""
        return await self._post(m.Promotion, f"/v1/promotions/{int(promotion_id)}/stop", {}, safe=True)

    async def pause(self, promotion_id: int) -> m.Promotion:
        """Nothing prices through it until resumed; pausing twice returns the paused promotion."""
        return await self._post(m.Promotion, f"/v1/promotions/{int(promotion_id)}/pause", {}, safe=True)

    async def resume(self, promotion_id: int) -> m.Promotion:
        return await self._post(m.Promotion, f"/v1/promotions/{int(promotion_id)}/resume", {}, safe=True)

    async def join_group(
        self, promotion_id: int, store_id: int, bottles: int, *, idempotency_key: str
    ) -> m.GroupParticipation:
        return await self._post(
            m.GroupParticipation,
            f"/v1/promotions/{int(promotion_id)}/participants",
            {"store_id": store_id, "bottles": bottles},
            idempotency_key=idempotency_key,
        )


class Coupons(_Area):
    async def create_campaign(
        self, definition: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> m.Campaign:
        return await self._post(
            m.Campaign, "/v1/coupon-campaigns", dict(definition), idempotency_key=idempotency_key
        )

    async def campaigns(
        self,
        *,
        audience: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> m.CampaignPage:
        return await self._get(
            m.CampaignPage,
            "/v1/coupon-campaigns",
            audience=audience,
            status=status,
            cursor=cursor,
            limit=limit,
        )

    async def campaign(self, campaign_id: int) -> m.Campaign:
        return await self._get(m.Campaign, f"/v1/coupon-campaigns/{int(campaign_id)}")

    async def claim(
        self, campaign_id: int, holder_type: str, holder_id: str | int, *, idempotency_key: str
    ) -> m.CouponClaim:
        """``holder_type`` "store" (holder_id: the store id) or "consumer" (jiubot's member id)."""
        return await self._post(
            m.CouponClaim,
            f"/v1/coupon-campaigns/{int(campaign_id)}/claims",
            {"holder_type": holder_type, "holder_id": str(holder_id)},
            idempotency_key=idempotency_key,
        )

    async def for_holder(
        self,
        holder_type: str,
        holder_id: str | int,
        *,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> m.ClaimPage:
        """A holder's coupons, newest first (``status``: available, redeemed, expired)."""
        return await self._get(
            m.ClaimPage,
            "/v1/coupon-claims",
            holder_type=holder_type,
            holder_id=str(holder_id),
            status=status,
            cursor=cursor,
            limit=limit,
        )

    async def get_claim(self, claim_id: int) -> m.CouponClaim:
        return await self._get(m.CouponClaim, f"/v1/coupon-claims/{int(claim_id)}")

    async def redeem(self, claim_id: int, store_id: int, *, idempotency_key: str) -> m.CouponClaim:
        """A consumer coupon used at a store's counter."""
        return await self._post(
            m.CouponClaim,
            f"/v1/coupon-claims/{int(claim_id)}/redeem",
            {"store_id": store_id},
            idempotency_key=idempotency_key,
        )


class Webhooks(_Area):
    async def deliveries(
        self, *, status: str = "all", cursor: str | None = None, limit: int = 20
    ) -> m.WebhookDeliveryPage:
        return await self._get(
            m.WebhookDeliveryPage, "/v1/webhook-events", status=status, cursor=cursor, limit=limit
        )


class Admin(_Area):
    """Demo and test controls of the reference core (absent from a production core)."""

    async def set_stock(self, warehouse_id: int, sku: str, on_hand: int) -> m.StockLevel:
        body = {"warehouse_id": warehouse_id, "sku": sku, "on_hand": on_hand}
        return decode_as(
            m.StockLevel, await self._client._request("PUT", "/v1/admin/inventory", json=body, safe=True)
        )

    async def set_overdue(self, store_id: int, overdue_fen: int) -> m.Store:
        body = {"overdue_fen": overdue_fen}
        return decode_as(
            m.Store,
            await self._client._request(
                "PUT", f"/v1/admin/stores/{int(store_id)}/overdue", json=body, safe=True
            ),
        )

    async def set_credit_rule(self, *, refuse_when_overdue: bool) -> bool:
        body = {"refuse_when_overdue": refuse_when_overdue}
        got = await self._client._request("PUT", "/v1/admin/credit-rule", json=body, safe=True)
        return bool(got["refuse_when_overdue"])

    async def advance_order(self, order_id: int, to: str | None = None) -> m.Order:
        body = {"to": to} if to else {}
        return await self._post(m.Order, f"/v1/admin/orders/{int(order_id)}/advance", body)

    async def close_group(self, promotion_id: int) -> m.Promotion:
        return await self._post(m.Promotion, f"/v1/admin/promotions/{int(promotion_id)}/close", {}, safe=True)
