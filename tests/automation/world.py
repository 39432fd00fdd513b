"""A small world for automation tests: stores with owners (OA identities), order histories,
consumers; the engine's dependencies with a recording notifier and a counting coupon issuer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bot.automation import definitions
from bot.automation import facts as facts_repo
from bot.automation import repository as repo
from bot.automation.facts import OrderLineFact, StoreOrder
from bot.automation.interface import Deps, IssuedCoupon, Policy
from bot.automation.profiles import SkuInfo
from bot.automation.quiet import QuietHours
from bot.db import create_engine, session_factory, session_scope
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
