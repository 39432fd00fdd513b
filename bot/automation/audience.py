"""The audience builder: conditions over profiles (kind, lifecycle, tier, top aroma, region,
recency, a tag), always without opted-out or inactive members, with a live count (everyone /
reachable: following the Official Account) and a sample before a campaign is saved.

Conditions are ``key=value`` words (values separated by commas), e.g.
``kind=store lifecycle=lapsing,dormant tier=核心 aroma=酱香 region=R01 min_idle=30 tag=winback``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation.errors import InvalidDefinition
from bot.automation.models import Profile, SubjectTag
from bot.membership.models import Member, MemberIdentity

KEYS = ("kind", "lifecycle", "tier", "aroma", "region", "min_idle", "max_idle", "tag")


@dataclass(frozen=True)
class Audience:
    kind: str = "store"
    lifecycle: tuple[str, ...] = ()
    tier: tuple[str, ...] = ()
    aroma: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    min_idle: int | None = None  # days since the last purchase, at the last profile refresh
    max_idle: int | None = None
    tag: str | None = None

    @classmethod
    def parse(cls, text: str) -> Audience:
        values: dict[str, Any] = {}
        for word in text.split():
            key, sep, value = word.partition("=")
            if not sep or key not in KEYS or not value:
                raise InvalidDefinition(
                    f"{word!r}: conditions are key=value with key one of {', '.join(KEYS)}"
                )
            if key in ("min_idle", "max_idle"):
                if not value.isdigit():
                    raise InvalidDefinition(f"{key} is a number of days")
                values[key] = int(value)
            elif key in ("kind", "tag"):
                values[key] = value
            else:
                values[key] = tuple(v for v in value.split(",") if v)
        audience = cls(**values)
        if audience.kind not in ("store", "consumer"):
            raise InvalidDefinition("kind is store or consumer")
        return audience


def _where(tenant_id: int, audience: Audience) -> list[Any]:
    cond: list[Any] = [
        Profile.tenant_id == tenant_id,
        Profile.kind == audience.kind,
        Member.push_opt_out.is_(False),
        Member.status == "active",
    ]
    if audience.lifecycle:
        cond.append(Profile.lifecycle.in_(audience.lifecycle))
    if audience.tier:
        cond.append(Profile.tier.in_(audience.tier))
    if audience.aroma:
        cond.append(Profile.top_aroma.in_(audience.aroma))
    if audience.region:
        cond.append(Profile.region_code.in_(audience.region))
    if audience.min_idle is not None:
        cond.append(Profile.recency_days >= audience.min_idle)
    if audience.max_idle is not None:
        cond.append(Profile.recency_days <= audience.max_idle)
    if audience.tag:
        cond.append(
            exists().where(
                SubjectTag.tenant_id == tenant_id,
                SubjectTag.subject == Profile.subject,
                SubjectTag.tag == audience.tag,
            )
        )
    return cond


def _following(appid: str) -> Any:
    return exists().where(
        MemberIdentity.member_id == Member.id,
        MemberIdentity.appid == appid,
        MemberIdentity.following.is_(True),
    )


def members(tenant_id: int, audience: Audience, appid: str) -> Select[int, str]:
    """(member id, openid) of the reachable audience: for campaign recipients."""
    return (
        select(Member.id, MemberIdentity.openid)
        .select_from(Profile)
        .join(Member, Member.id == Profile.member_id)
        .join(
            MemberIdentity,
            and_(
                MemberIdentity.member_id == Member.id,
                MemberIdentity.appid == appid,
                MemberIdentity.following.is_(True),
            ),
        )
        .where(*_where(tenant_id, audience))
        .distinct()
    )


@dataclass(frozen=True)
class Preview:
    total: int
    reachable: int
    sample: tuple[str, ...]  # subjects


async def preview(
    session: AsyncSession, tenant_id: int, audience: Audience, appid: str, n: int = 10
) -> Preview:
    base = (
        select(Profile.subject)
        .join(Member, Member.id == Profile.member_id)
        .where(*_where(tenant_id, audience))
    )
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    reach = base.where(_following(appid))
    reachable = (await session.execute(select(func.count()).select_from(reach.subquery()))).scalar_one()
    sample = tuple((await session.execute(reach.order_by(Profile.subject).limit(n))).scalars())
    return Preview(total, reachable, sample)
