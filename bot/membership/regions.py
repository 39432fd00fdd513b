"""Sales regions as sets of provinces and cities, and the question "is this place inside?"."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore
from bot.membership.code_models import SalesRegion
from bot.membership.geo import known_province, province_name


@dataclass(frozen=True, slots=True)
class RegionView:
    code: str
    name: str
    provinces: frozenset[str]
    cities: frozenset[str]

    def contains(self, province: str | None, city: str | None) -> bool:
        """Places carry official province names (四川省); regions may list short ones (四川)."""
        if province is not None and (
            province in self.provinces or province in {province_name(p) for p in self.provinces}
        ):
            return True
        return city is not None and city in self.cities

    def describe(self) -> str:
        return "、".join(sorted(self.provinces) + sorted(self.cities))


def _split(text: str) -> frozenset[str]:
    return frozenset(p.strip() for p in text.replace("，", ",").split(",") if p.strip())


async def define_region(
    session: AsyncSession, tenant_id: int, code: str, name: str, *, provinces: list[str], cities: list[str]
) -> RegionView:
    for province in provinces:
        if not known_province(province):
            raise ValueError(f"unknown province {province!r}")
    values = {"name": name, "provinces": ",".join(provinces), "cities": ",".join(cities)}
    await session.execute(
        insert_ignore(
            session,
            SalesRegion.__table__,
            [{"tenant_id": tenant_id, "code": code, **values}],
            index_elements=["tenant_id", "code"],
        )
    )
    row = (
        await session.execute(
            select(SalesRegion).where(SalesRegion.tenant_id == tenant_id, SalesRegion.code == code)
        )
    ).scalar_one()
    row.name, row.provinces, row.cities = values["name"], values["provinces"], values["cities"]
    await session.flush()
    return RegionView(code, name, _split(row.provinces), _split(row.cities))


async def get_region(session: AsyncSession, tenant_id: int, code: str) -> RegionView | None:
    row = (
        await session.execute(
            select(SalesRegion).where(SalesRegion.tenant_id == tenant_id, SalesRegion.code == code)
        )
    ).scalar_one_or_none()
    return RegionView(row.code, row.name, _split(row.provinces), _split(row.cities)) if row else None


class RegionCache:
    """Per-process copy of sales regions, trusted for ``ttl`` s (like the tenant's knobs), so a
    located scan does not read its batch's region to test for diversion."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._items: dict[tuple[int, str], tuple[float, RegionView | None]] = {}

    async def get(self, session: AsyncSession, tenant_id: int, code: str) -> RegionView | None:
        hit = self._items.get((tenant_id, code))
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        region = await get_region(session, tenant_id, code)
        if len(self._items) >= 4096:
            self._items.clear()
        self._items[(tenant_id, code)] = (time.monotonic(), region)
        return region

    def forget(self, tenant_id: int | None = None) -> None:
        if tenant_id is None:
            self._items.clear()
        else:
            for key in [k for k in self._items if k[0] == tenant_id]:
                del self._items[key]
