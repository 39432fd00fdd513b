"""The core's tables, all prefixed ``core_`` (it shares a database server with jiubot, not tables)."""

from reference_core.models.catalog import Inventory, PriceList, PriceListItem, Product, Warehouse
from reference_core.models.coupons import CouponCampaign, CouponClaim, CouponHolder
from reference_core.models.infra import IdempotencyRecord, WebhookEvent
from reference_core.models.orders import Allocation, DropShip, Order, OrderEvent, OrderLine, Shipment
from reference_core.models.org import ApiKey, CreditOverdue, CreditRule, Distributor, Region, Store, Tenant
from reference_core.models.promotions import GroupParticipant, Promotion, PromotionUsage

__all__ = [
    "Allocation",
    "ApiKey",
    "CouponCampaign",
    "CouponClaim",
    "CouponHolder",
    "CreditOverdue",
    "CreditRule",
    "Distributor",
    "DropShip",
    "GroupParticipant",
    "IdempotencyRecord",
    "Inventory",
    "Order",
    "OrderEvent",
    "OrderLine",
    "PriceList",
    "PriceListItem",
    "Product",
    "Promotion",
    "PromotionUsage",
    "Region",
    "Shipment",
    "Store",
    "Tenant",
    "Warehouse",
    "WebhookEvent",
]
