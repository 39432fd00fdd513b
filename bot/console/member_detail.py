"""A member's profile for the console: identities, points accounts and ledger lines, coupons,
orders and redemptions. Callers first obtain the member through the scoped repository
(``repository.get_member``), so these reads take an id that is already in the reader's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.membership.ledger_models import KINDS, PointsAccount, PointsLedger
from bot.membership.models import MemberIdentity
from bot.membership.reward_models import CouponClaim, RedemptionOrder, RewardItem
from bot.ordering.models import OrderIntent


@dataclass(frozen=True)
class Identity:
    appid: str
    openid: str
    following: bool
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class Account:
    id: int
    kind: str
    balance: int
    status: str


@dataclass(frozen=True)
class Line:
    id: int
    account_kind: str
    delta: int
    category: str
    source_kind: str
    note: str
    created_at: datetime


@dataclass(frozen=True)
class Coupon:
    campaign: str
    title: str
    status: str
    source: str
    claimed_at: datetime


@dataclass(frozen=True)
class Order:
    channel: str
    status: str
    order_number: str
    total_fen: int | None
    created_at: datetime


@dataclass(frozen=True)
class Redemption:
    item: str
    points: int
    status: str
    created_at: datetime


@dataclass(frozen=True)
class Profile:
    identities: tuple[Identity, ...]
    accounts: tuple[Account, ...]
    ledger: tuple[Line, ...]
    coupons: tuple[Coupon, ...]
    orders: tuple[Order, ...]
    redemptions: tuple[Redemption, ...]

    def balance(self, kind: str) -> int:
        return sum(a.balance for a in self.accounts if a.kind == kind)


async def load(session: AsyncSession, tenant_id: int, member_id: int, *, lines: int = 30) -> Profile:
    identities = tuple(
        Identity(r.appid, r.openid, r.following, r.first_seen_at, r.last_seen_at)
        for r in (
            await session.scalars(
                select(MemberIdentity)
                .where(MemberIdentity.tenant_id == tenant_id, MemberIdentity.member_id == member_id)
                .order_by(MemberIdentity.id)
            )
        ).all()
    )
    account_rows = (
        await session.scalars(
            select(PointsAccount)
            # every kind named: the unique (tenant_id, kind, member_id) index serves the lookup
            .where(
                PointsAccount.tenant_id == tenant_id,
                PointsAccount.kind.in_(KINDS),
                PointsAccount.member_id == member_id,
            )
            .order_by(PointsAccount.kind)
        )
    ).all()
    accounts = tuple(Account(a.id, a.kind, a.balance, a.status) for a in account_rows)
    kinds = {a.id: a.kind for a in accounts}
    ledger: tuple[Line, ...] = ()
    if kinds:
        ledger = tuple(
            Line(r.id, kinds[r.account_id], r.delta, r.category, r.source_kind, r.note, r.created_at)
            for r in (
                await session.scalars(
                    select(PointsLedger)
                    .where(PointsLedger.account_id.in_(kinds))
                    .order_by(PointsLedger.created_at.desc(), PointsLedger.id.desc())
                    .limit(lines)
                )
            ).all()
        )
    coupons = tuple(
        Coupon(c.campaign, c.title, c.status, c.source, c.claimed_at)
        for c in (
            await session.scalars(
                select(CouponClaim)
                .where(CouponClaim.tenant_id == tenant_id, CouponClaim.member_id == member_id)
                .order_by(CouponClaim.claimed_at.desc())
                .limit(20)
            )
        ).all()
    )
    orders = tuple(
        Order(o.channel, o.status, o.order_number, o.total_fen, o.created_at)
        for o in (
            await session.scalars(
                select(OrderIntent)
                .where(OrderIntent.tenant_id == tenant_id, OrderIntent.member_id == member_id)
                .order_by(OrderIntent.created_at.desc())
                .limit(20)
            )
        ).all()
    )
    redemptions = tuple(
        Redemption(name, o.points, o.status, o.created_at)
        for o, name in (
            await session.execute(
                select(RedemptionOrder, RewardItem.name)
                .join(RewardItem, RewardItem.id == RedemptionOrder.item_id)
                .where(RedemptionOrder.tenant_id == tenant_id, RedemptionOrder.member_id == member_id)
                .order_by(RedemptionOrder.created_at.desc())
                .limit(20)
            )
        ).all()
    )
    return Profile(identities, accounts, ledger, coupons, orders, redemptions)
