"""Creating a sales region and a code batch from the console: the CLI's checks (``jiubot codes
region`` and ``jiubot codes batch create``: known provinces, a size the code format holds, a region
that exists, a SKU in the core's catalog when a core is configured), each refusal naming its form
field, then the row, its one-time token and its audit entry in one transaction.

Unlike the CLI's ``codes region`` (an upsert), the console's form creates only: an existing code
is refused beside the field rather than silently redefined."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend_client import CoreClient, CoreError, NotFound
from bot.console import audit, form_tokens, scope
from bot.console.codes_admin import CodesRefused
from bot.console.org_models import OrgNode
from bot.console.policy import ROOT, Actor, Resource, can
from bot.console.repository import node_paths
from bot.db import insert_ignore
from bot.membership import batches
from bot.membership.code_models import SalesRegion
from bot.membership.codes import MAX_SERIAL
from bot.membership.errors import MembershipError
from bot.membership.geo import known_province

_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_SKU = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _token(token: str) -> str:
    try:
        return form_tokens.check(token)
    except form_tokens.TokenMissing:
        raise CodesRefused("token", "form_expired") from None


def _text(value: str, field: str, code: str, *, most: int, least: int = 1) -> str:
    value = " ".join(value.split())
    if not least <= len(value) <= most:
        raise CodesRefused(field, code)
    return value


def _names(text: str) -> list[str]:
    return [p.strip() for p in text.replace("，", ",").replace("、", ",").split(",") if p.strip()]


@dataclass(frozen=True)
class RegionForm:
    code: str
    name: str
    provinces: tuple[str, ...]
    cities: tuple[str, ...]
    token: str

    @classmethod
    def parse(cls, *, code: str, name: str, provinces: str, cities: str, token: str) -> RegionForm:
        code = code.strip()
        if not _CODE.match(code):
            raise CodesRefused("code", "region_code_format")
        name = _text(name, "name", "region_name_required", most=64)
        places = _names(provinces)
        for province in places:
            if not known_province(province):
                raise CodesRefused("provinces", "province_unknown")
        towns = _names(cities)
        if any(len(c) > 32 for c in towns):
            raise CodesRefused("cities", "city_too_long")
        if not places and not towns:
            raise CodesRefused("provinces", "region_empty")
        return cls(code, name, tuple(dict.fromkeys(places)), tuple(dict.fromkeys(towns)), _token(token))


async def create_region(
    session: AsyncSession, who: audit.Who, form: RegionForm, *, origin: audit.Origin, now: datetime
) -> bool:
    """Create the region; False when this form's token already did (nothing written). The row is
    inserted only if its code is free (``ON CONFLICT DO NOTHING``), so two forms racing for one
    code create it once and the other is told the code is taken."""
    if not await form_tokens.claim(
        session, who.tenant_id, form.token, "codes.region_create", operator_id=who.operator_id, now=now
    ):
        return False
    created = await session.scalar(
        insert_ignore(
            session,
            SalesRegion.__table__,
            [
                {
                    "tenant_id": who.tenant_id,
                    "code": form.code,
                    "name": form.name,
                    "provinces": ",".join(form.provinces),
                    "cities": ",".join(form.cities),
                }
            ],
            index_elements=["tenant_id", "code"],
        ).returning(SalesRegion.id)
    )
    if created is None:
        raise CodesRefused("code", "region_code_taken")
    await audit.record(
        session,
        who,
        "codes.region_create",
        target_kind="sales_region",
        target_id=created,
        after={
            "code": form.code,
            "name": form.name,
            "provinces": list(form.provinces),
            "cities": list(form.cities),
        },
        origin=origin,
        now=now,
    )
    return True


@dataclass(frozen=True)
class BatchForm:
    brand: str
    sku: str
    product_name: str
    size: int
    region_code: str | None
    distributor_code: str | None
    note: str
    activate: bool
    token: str

    @classmethod
    def parse(
        cls,
        *,
        brand: str,
        sku: str,
        name: str,
        size: str,
        region: str,
        distributor: str,
        note: str,
        activate: bool,
        token: str,
    ) -> BatchForm:
        brand = _text(brand, "brand", "brand_required", most=64)
        sku = sku.strip()
        if not _SKU.match(sku):
            raise CodesRefused("sku", "sku_format")
        product = _text(name, "name", "product_name_required", most=128)
        size_text = size.strip()
        if not (size_text.isascii() and size_text.isdigit() and len(size_text) <= 9):
            raise CodesRefused("size", "serial_not_a_number")
        count = int(size_text)
        if not 0 < count <= MAX_SERIAL:
            raise CodesRefused("size", "batch_size_range")
        region_code = region.strip() or None
        distributor_code = distributor.strip() or None
        if distributor_code is not None and not _CODE.match(distributor_code):
            raise CodesRefused("distributor", "distributor_unknown")
        note = _text(note, "note", "note_too_long", most=200, least=0)
        return cls(brand, sku, product, count, region_code, distributor_code, note, activate, _token(token))


async def check_sku(core: CoreClient | None, sku: str) -> None:
    """With a core configured the SKU must be in its catalog (printed codes live for years; a typo
    would credit nothing); without one there is nothing to check against, as in the CLI."""
    if core is None:
        return
    try:
        await core.catalog.product(sku)
    except NotFound:
        raise CodesRefused("sku", "sku_unknown") from None
    except CoreError:
        raise CodesRefused("sku", "sku_unchecked") from None


async def batch_path(session: AsyncSession, actor: Actor, form: BatchForm) -> str:
    """Where the new batch sits in the org tree (as ``repository_codes`` places a batch): the
    distributor's node if mirrored, else the region's, else HQ. The region must be one the actor
    sees; below HQ a distributor must be a mirrored one of his subtree (HQ may name an unmirrored
    one, as the CLI allows)."""
    if form.region_code is not None:
        found = await session.scalar(
            select(SalesRegion.id).where(
                scope.sales_regions_clause(actor), SalesRegion.code == form.region_code
            )
        )
        if found is None:
            raise CodesRefused("region", "region_unknown")
    if form.distributor_code is not None and not actor.is_hq:
        inside = await session.scalar(
            scope.codes(actor, "distributor").where(OrgNode.code == form.distributor_code)
        )
        if inside is None:
            raise CodesRefused("distributor", "distributor_unknown")
    wanted = [("distributor", form.distributor_code or ""), ("region", form.region_code or "")]
    paths = await node_paths(session, actor.tenant_id, wanted)
    return paths.get(wanted[0]) or paths.get(wanted[1]) or ROOT


async def create_batch(
    session: AsyncSession,
    actor: Actor,
    who: audit.Who,
    form: BatchForm,
    *,
    origin: audit.Origin,
    now: datetime,
) -> int | None:
    """Create the batch (and activate it whole if asked); its id, or None when this form's token
    already did (nothing written)."""
    path = await batch_path(session, actor, form)
    if not can(actor, "manage", Resource("codes", actor.tenant_id, path)):
        raise CodesRefused("region", "region_unknown")
    if not await form_tokens.claim(
        session, who.tenant_id, form.token, "codes.batch_create", operator_id=who.operator_id, now=now
    ):
        return None
    try:
        batch = await batches.create_batch(
            session,
            who.tenant_id,
            brand=form.brand,
            sku=form.sku,
            product_name=form.product_name,
            size=form.size,
            region_code=form.region_code,
            distributor_code=form.distributor_code,
            note=form.note,
        )
        range_id = None
        if form.activate:
            range_id = await batches.mark_range(
                session,
                who.tenant_id,
                batch.id,
                1,
                batch.size,
                "activate",
                distributor_code=form.distributor_code,
                now=now,
            )
    except MembershipError:
        raise CodesRefused("size", "batch_refused") from None
    await audit.record(
        session,
        who,
        "codes.batch_create",
        target_kind="batch",
        target_id=batch.id,
        after={
            "brand": form.brand,
            "sku": form.sku,
            "name": form.product_name,
            "size": form.size,
            "region": form.region_code,
            "distributor": form.distributor_code,
            "note": form.note,
            "activated_range": range_id,
        },
        origin=origin,
        now=now,
    )
    return batch.id
