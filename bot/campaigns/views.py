"""What a store owner sees of a campaign (frozen, built from the core's ``Promotion``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

KINDS = ("flash_sale", "group_buy", "auction")
KIND_LABEL = {"flash_sale": "秒杀", "group_buy": "拼单", "auction": "拍卖"}


@dataclass(frozen=True, slots=True)
class GroupProgress:
    participants: int
    min_group_size: int
    current_price_fen: int | None  # None: the first tier is not reached yet
    next_tier_stores: int | None
    next_tier_price_fen: int | None
    outcome: str  # open | succeeded | failed
    tiers: tuple[tuple[int, int], ...]  # (min stores, bottle price), ascending


@dataclass(frozen=True, slots=True)
class CampaignView:
    id: int
    kind: str
    name: str
    description: str
    sku: str
    status: str  # scheduled | active | paused | ended
    starts_at: datetime
    ends_at: datetime
    seconds_left: int  # until the end (active) or the start (scheduled)
    price_fen: int | None  # the bottle price now (flash price, auction price, group tier reached)
    stock_total: int | None
    stock_remaining: int | None
    per_store_limit: int | None
    group: GroupProgress | None = None
    floor_price_fen: int | None = None  # auctions: the price never drops below this
    next_drop_at: datetime | None = None

    @property
    def label(self) -> str:
        return KIND_LABEL.get(self.kind, self.kind)

    @property
    def sold_out(self) -> bool:
        return self.stock_remaining is not None and self.stock_remaining <= 0

    def to_json(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__slots__}
        out["label"] = self.label
        out["sold_out"] = self.sold_out
        return out


def countdown(seconds: int) -> str:
    """2天03:04:05 / 03:04:05."""
    seconds = max(0, seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}天{clock}" if days else clock


def view_of(promotion: Any, now: datetime) -> CampaignView:
    """``promotion``: a backend_client ``Promotion`` of a channel kind."""
    rules = promotion.rules
    target = promotion.starts_at if promotion.status == "scheduled" else promotion.ends_at
    group = None
    price = None
    if promotion.kind == "flash_sale":
        price = int(rules["price_fen"])
    elif promotion.kind == "auction":
        price = promotion.auction.current_price_fen if promotion.auction else int(rules["start_price_fen"])
    elif promotion.kind == "group_buy" and promotion.group is not None:
        state = promotion.group
        tiers = tuple(sorted((int(t["min_stores"]), int(t["price_fen"])) for t in rules["tiers"]))
        price = state.current_price_fen
        group = GroupProgress(
            participants=state.participants,
            min_group_size=int(rules["min_group_size"]),
            current_price_fen=state.current_price_fen,
            next_tier_stores=state.next_tier.min_stores if state.next_tier else None,
            next_tier_price_fen=state.next_tier.price_fen if state.next_tier else None,
            outcome=state.outcome,
            tiers=tiers,
        )
    return CampaignView(
        id=promotion.id,
        kind=promotion.kind,
        name=promotion.name,
        description=promotion.description,
        sku=str(rules.get("sku", "")),
        status=promotion.status,
        starts_at=promotion.starts_at,
        ends_at=promotion.ends_at,
        seconds_left=max(0, int((target - now).total_seconds())),
        price_fen=price,
        stock_total=promotion.stock_total,
        stock_remaining=promotion.stock_remaining,
        per_store_limit=promotion.per_store_limit,
        group=group,
        floor_price_fen=int(rules["floor_price_fen"]) if promotion.kind == "auction" else None,
        next_drop_at=promotion.auction.next_drop_at
        if promotion.kind == "auction" and promotion.auction
        else None,
    )
