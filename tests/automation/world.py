"""A small world for automation tests: stores with owners (OA identities), order histories,
consumers; the engine's dependencies with a recording notifier and a counting coupon issuer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from sqlalchemy import bindparam, insert, select, update

from bot.automation import definitions
from bot.automation import facts as facts_repo
from bot.automation import repository as repo
from bot.automation.facts import OrderLineFact, StoreOrder
from bot.automation.interface import Deps, IssuedCoupon, Policy
from bot.automation.models import OrderFact
from bot.automation.profiles import SkuInfo
from bot.automation.quiet import QuietHours
from bot.db import create_engine, session_factory, session_scope
from bot.membership.code_models import CodeBatch, CodeRedemption
from bot.membership.models import Member, MemberIdentity, Store
from bot.ports import PushNotifier, RecordingPushNotifier
from bot.tenancy import repository as tenancy_repo
from bot.wiring.runtime import text_environment

OA = "wxautomationoa01"
SKUS = {
    "FT": ("飞天53度", SkuInfo("茅台", "酱香", "白酒")),
    "WLY": ("五粮液普五", SkuInfo("五粮液", "浓香", "白酒")),
}


@dataclass
class CountingCoupons:
    """The core's coupon API as far as the engine sees it: the same key answers the same coupon."""

    calls: Counter[str] = field(default_factory=Counter)
    issued: dict[str, tuple[int, str, str]] = field(default_factory=dict)

    async def issue(
        self, campaign: int, holder_type: str, holder_id: str, *, idempotency_key: str
    ) -> IssuedCoupon:
        self.calls[idempotency_key] += 1
        self.issued.setdefault(idempotency_key, (campaign, holder_type, holder_id))
        return IssuedCoupon(f"c-{idempotency_key}", "老客回归券", 5000)


class World:
    def __init__(self, db_url: str, *, tenant_id: int = 0, oa: str = OA) -> None:
        self.engine = create_engine(db_url)
        self.sessions = session_factory(self.engine)
        self.tenant_id = tenant_id
        self.oa = oa
        self.core_ids: dict[str, int] = {}
        self._order = 0

    async def setup(self) -> World:
        async with session_scope(self.sessions) as session:
            if not self.tenant_id:
                self.tenant_id = (await tenancy_repo.get_or_create_tenant(session, "auto", "自动化品牌")).id
            await facts_repo.remember_skus(session, self.tenant_id, [(k, n, i) for k, (n, i) in SKUS.items()])
        return self

    async def close(self) -> None:
        await self.engine.dispose()

    def deps(self, notifier: PushNotifier | None = None, coupons=None, **policy) -> Deps:  # type: ignore[no-untyped-def]
        policy.setdefault("holdout", 0.0)
        policy.setdefault("quiet", QuietHours.parse(""))
        return Deps(
            sessions=self.sessions,
            texts=text_environment(),
            notifier=notifier if notifier is not None else RecordingPushNotifier(),
            coupons=coupons if coupons is not None else CountingCoupons(),
            oa_appids=lambda: [self.oa],
            policy=Policy(**policy),
        )

    async def store(
        self,
        code: str,
        *,
        owner: bool = True,
        following: bool = True,
        opted_out: bool = False,
        distributor: str | None = None,
        region: str | None = None,
        member_id: int | None = None,
    ) -> int | None:
        """Creates the store (and its owner); returns the owner's member id."""
        async with session_scope(self.sessions) as session:
            store = Store(
                tenant_id=self.tenant_id,
                code=code,
                name=f"{code}烟酒店",
                distributor_code=distributor,
                region_code=region,
            )
            session.add(store)
            await session.flush()
            self.core_ids[code] = store.id + 1000
            if not owner:
                return None
            if member_id is not None:  # an existing member (who followed through WeChat) owns it
                await session.execute(
                    update(Member).where(Member.id == member_id).values(role="store_owner", store_id=store.id)
                )
                return member_id
            member = Member(
                tenant_id=self.tenant_id, role="store_owner", store_id=store.id, push_opt_out=opted_out
            )
            session.add(member)
            await session.flush()
            session.add(
                MemberIdentity(
                    tenant_id=self.tenant_id,
                    member_id=member.id,
                    appid=self.oa,
                    openid=f"o-{code}",
                    following=following,
                )
            )
            return member.id

    async def staff(self, distributor: str) -> int:
        async with session_scope(self.sessions) as session:
            member = Member(tenant_id=self.tenant_id, role="distributor_staff", distributor_code=distributor)
            session.add(member)
            await session.flush()
            session.add(
                MemberIdentity(
                    tenant_id=self.tenant_id,
                    member_id=member.id,
                    appid=self.oa,
                    openid=f"o-staff-{member.id}",
                    following=True,
                )
            )
            return member.id

    async def order(self, code: str, at: datetime, total_fen: int = 100_000, sku: str = "WLY") -> None:
        self._order += 1
        async with session_scope(self.sessions) as session:
            await facts_repo.record_order(
                session,
                self.tenant_id,
                StoreOrder(
                    self._order,
                    self.core_ids[code],
                    code,
                    "delivered",
                    total_fen,
                    at,
                    lines=(OrderLineFact(sku, 6, total_fen),),
                ),
            )

    async def orders_bulk(self, orders: list[tuple[str, datetime, int, str]]) -> None:
        """(store, ordered_at, total_fen, sku) facts in one executemany (as the backfill stores
        them: delivered, one line of 6 bottles)."""
        rows = []
        for code, at, total, sku in orders:
            self._order += 1
            rows.append(
                {
                    "tenant_id": self.tenant_id,
                    "core_order_id": self._order,
                    "core_store_id": self.core_ids[code],
                    "store_code": code,
                    "status": "delivered",
                    "total_fen": total,
                    "coupon_discount_fen": 0,
                    "lines": orjson.dumps([{"sku": sku, "quantity": 6, "amount_fen": total}]).decode(),
                    "ordered_at": at,
                    "updated_at": at,
                }
            )
        async with session_scope(self.sessions) as session:
            await session.execute(insert(OrderFact), rows)

    async def stores_bulk(self, owners: dict[str, int | None], *, distributor: str | None = None) -> None:
        """Store code -> its owner (an existing member, or None: no owner), in two executemany."""
        async with session_scope(self.sessions) as session:
            await session.execute(
                insert(Store),
                [
                    {
                        "tenant_id": self.tenant_id,
                        "code": c,
                        "name": f"{c}烟酒店",
                        "distributor_code": distributor,
                    }
                    for c in owners
                ],
            )
            ids = dict(
                (
                    await session.execute(
                        select(Store.code, Store.id).where(
                            Store.tenant_id == self.tenant_id, Store.code.in_(list(owners))
                        )
                    )
                ).all()
            )
            self.core_ids.update({c: i + 1000 for c, i in ids.items()})
            owned = [{"b_id": m, "b_store": ids[c]} for c, m in owners.items() if m is not None]
            if owned:
                await session.execute(
                    update(Member.__table__)
                    .where(Member.__table__.c.id == bindparam("b_id"))
                    .values(role="store_owner", store_id=bindparam("b_store")),
                    owned,
                )

    async def consumers_bulk(self, count: int, *, following_every: int = 2) -> list[int]:
        """``count`` consumers with an OA identity (every ``following_every``-th one following)."""
        async with session_scope(self.sessions) as session:
            ids = list(
                (
                    await session.execute(
                        insert(Member).returning(Member.id),
                        [{"tenant_id": self.tenant_id, "role": "consumer"} for _ in range(count)],
                    )
                ).scalars()
            )
            await session.execute(
                insert(MemberIdentity),
                [
                    {
                        "tenant_id": self.tenant_id,
                        "member_id": m,
                        "appid": self.oa,
                        "openid": f"o-consumer-{m}",
                        "following": n % following_every == 0,
                    }
                    for n, m in enumerate(ids)
                ],
            )
        return ids

    async def scans_bulk(self, scans: list[tuple[int, datetime, str]]) -> None:
        """(member, scanned_at, sku) first scans of bottle codes, a batch per SKU, one executemany."""
        async with session_scope(self.sessions) as session:
            batches = {}
            for sku in sorted({s for _, _, s in scans}):
                batch = CodeBatch(
                    tenant_id=self.tenant_id, brand=SKUS[sku][1].brand, sku=sku, product_name=SKUS[sku][0],
                    size=len(scans),
                )  # fmt: skip
                session.add(batch)
                await session.flush()
                batches[sku] = batch.id
            await session.execute(
                insert(CodeRedemption),
                [
                    {
                        "tenant_id": self.tenant_id,
                        "batch_id": batches[sku],
                        "serial": n + 1,
                        "member_id": m,
                        "channel": "mp",
                        "scanned_at": at,
                        "points": 10,
                    }
                    for n, (m, at, sku) in enumerate(scans)
                ],
            )

    async def load(self, text: str) -> None:
        async with session_scope(self.sessions) as session:
            await repo.save_journey(session, self.tenant_id, definitions.parse(text))

    async def opt_out(self, member_id: int) -> None:
        from sqlalchemy import update

        async with session_scope(self.sessions) as session:
            await session.execute(update(Member).where(Member.id == member_id).values(push_opt_out=True))

    async def rows(self, model, *where):  # type: ignore[no-untyped-def]
        async with session_scope(self.sessions) as session:
            return list((await session.execute(select(model).where(*where))).scalars())


def at_days(start: datetime, days: float) -> datetime:
    return start + timedelta(days=days)
