"""SQL filters that confine a query to an actor's tenant and subtree of the org tree.

Every clause here includes ``tenant_id = actor.tenant_id``; for an HQ actor (scope ``/``) that is
all it adds. Below HQ, jiubot's tables name org nodes by code, so a row is in the subtree when one
of its codes is the code of a mirrored node whose path starts with the actor's path (deactivated
nodes included: a closed store's history stays with its region):

* stores (membership's ``stores``): ``code`` is a store node in the subtree;
* members: their org link, checked in this order of precedence --
  ``store_id`` (store owners and staff) -> that store is in the subtree; else ``distributor_code``
  (distributor staff) -> that distributor is; else ``region_code`` (regional staff) -> that region
  is. **Members with no org link** (consumers) belong to the regions where they scan: such a member
  is in the subtree when at least one of their redeemed codes came from a batch shipped to a region
  of the subtree (``code_redemptions.region_code``, the batch's) or was activated to a store of
  the subtree (``code_redemptions.store_code``, within a range of ``code_ranges`` activated to that
  store). A consumer who never scanned, or scanned only codes with no region or store, is visible
  to HQ only. Linked members are never visible through their scans.
* code batches: ``region_code`` is a region of the subtree or ``distributor_code`` a distributor of
  it (a batch with neither is HQ's); sales regions: ``code`` is a region of the subtree;
* diversion alerts: the batch's region, distributor or store is in the subtree;
* fraud flags: their member is (rule above);
* rows naming a node by (kind, core id), e.g. the audit log's actor scope: that node is in the
  subtree (``kind = 'tenant'`` rows are HQ's).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, exists, or_, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.console.org_models import OrgNode
from bot.console.policy import Actor
from bot.console.repository_paging import Column
from bot.db import is_postgres
from bot.membership.models import (
    CodeBatch,
    CodeRange,
    CodeRedemption,
    DiversionAlert,
    Member,
    SalesRegion,
    Store,
)


async def custom_plans(session: AsyncSession) -> None:
    """Plan this transaction's statements for their actual values (PostgreSQL). A statement psycopg
    has prepared is, after five runs, given a generic plan that cannot see how small a subtree's
    ``path LIKE '/r7/%'`` or a day's ``scanned_at >=`` is, and reads every scan and member of the
    tenant instead (bench/console.py: a region's cold dashboard 0.1 s became 0.5 s). A scoped page
    runs a handful of statements, so planning each afresh costs less than a wrong plan."""
    if is_postgres(session):
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def node_in_subtree(actor: Actor) -> ColumnElement[bool]:
    """On ``console_org_nodes``: the actor's tenant and subtree."""
    clause = OrgNode.tenant_id == actor.tenant_id
    return clause if actor.is_hq else and_(clause, OrgNode.path.like(actor.scope.path + "%"))


def codes(actor: Actor, kind: str) -> Select[Any]:
    """The codes of the subtree's nodes of one kind (a subquery)."""
    return select(OrgNode.code).where(node_in_subtree(actor), OrgNode.kind == kind)


def stores_clause(actor: Actor) -> ColumnElement[bool]:
    clause = Store.tenant_id == actor.tenant_id
    return clause if actor.is_hq else and_(clause, Store.code.in_(codes(actor, "store")))


def member_branches(actor: Actor) -> tuple[ColumnElement[bool], ...]:
    """The member rule below HQ as disjoint conditions (a member meets at most one): linked to a
    store of the subtree; else to a distributor of it; else to a region of it; else unlinked and
    scanned here. Apart, each is a plain semi-join the planner drives from its small side (a
    count or an id set per branch); ORed, as ``members_clause``, they are one filter per row."""
    store_ids = (
        select(Store.id)
        .join(OrgNode, and_(OrgNode.tenant_id == Store.tenant_id, OrgNode.code == Store.code))
        .where(node_in_subtree(actor), OrgNode.kind == "store", Store.tenant_id == actor.tenant_id)
    )
    # The consumers who scanned here: one set per query (a hashed semi-join), built by joins the
    # indexes carry -- the subtree's regions -> their batches -> those batches' redemptions by
    # (batch_id, serial); the subtree's stores -> the ranges activated to them -> the redemptions of
    # exactly those serials.
    by_region = (
        select(CodeRedemption.member_id)
        .join(CodeBatch, CodeBatch.id == CodeRedemption.batch_id)
        .join(OrgNode, and_(OrgNode.tenant_id == CodeBatch.tenant_id, OrgNode.code == CodeBatch.region_code))
        .where(
            node_in_subtree(actor),
            OrgNode.kind == "region",
            CodeBatch.tenant_id == actor.tenant_id,
            CodeRedemption.region_code == CodeBatch.region_code,
        )
    )
    by_store = (
        select(CodeRedemption.member_id)
        .join(
            CodeRange,
            and_(
                CodeRange.batch_id == CodeRedemption.batch_id,
                CodeRedemption.serial.between(CodeRange.first_serial, CodeRange.last_serial),
                CodeRange.store_code == CodeRedemption.store_code,
            ),
        )
        .join(OrgNode, and_(OrgNode.tenant_id == CodeRange.tenant_id, OrgNode.code == CodeRange.store_code))
        .where(node_in_subtree(actor), OrgNode.kind == "store", CodeRange.tenant_id == actor.tenant_id)
    )
    scanners = union_all(by_region, by_store)
    return (
        Member.store_id.in_(store_ids),
        and_(Member.store_id.is_(None), Member.distributor_code.in_(codes(actor, "distributor"))),
        and_(
            Member.store_id.is_(None),
            Member.distributor_code.is_(None),
            Member.region_code.in_(codes(actor, "region")),
        ),
        and_(
            Member.store_id.is_(None),
            Member.distributor_code.is_(None),
            Member.region_code.is_(None),
            Member.id.in_(scanners),
        ),
    )


def members_clause(actor: Actor) -> ColumnElement[bool]:
    clause = Member.tenant_id == actor.tenant_id
    return clause if actor.is_hq else and_(clause, or_(*member_branches(actor)))


def member_ids(actor: Actor) -> Any:
    """The ids of the actor's members, a subquery for ``x.member_id IN (...)``: one select per
    branch of ``member_branches`` (so each is a semi-join, not a per-row OR)."""
    tenant = Member.tenant_id == actor.tenant_id
    if actor.is_hq:
        return select(Member.id).where(tenant)
    return union_all(*(select(Member.id).where(tenant, branch) for branch in member_branches(actor)))


def batches_clause(actor: Actor) -> ColumnElement[bool]:
    clause = CodeBatch.tenant_id == actor.tenant_id
    if actor.is_hq:
        return clause
    return and_(
        clause,
        or_(
            CodeBatch.region_code.in_(codes(actor, "region")),
            CodeBatch.distributor_code.in_(codes(actor, "distributor")),
        ),
    )


def sales_regions_clause(actor: Actor) -> ColumnElement[bool]:
    clause = SalesRegion.tenant_id == actor.tenant_id
    return clause if actor.is_hq else and_(clause, SalesRegion.code.in_(codes(actor, "region")))


def alerts_clause(actor: Actor) -> ColumnElement[bool]:
    clause = DiversionAlert.tenant_id == actor.tenant_id
    if actor.is_hq:
        return clause
    return and_(
        clause,
        or_(
            DiversionAlert.region_code.in_(codes(actor, "region")),
            DiversionAlert.distributor_code.in_(codes(actor, "distributor")),
            DiversionAlert.store_code.in_(codes(actor, "store")),
        ),
    )


def node_clause(
    actor: Actor,
    tenant_col: Column,
    kind_col: Column,
    core_id_col: Column,
) -> ColumnElement[bool]:
    """For a table naming a node by (kind, core id): the actor's tenant and subtree."""
    clause = tenant_col == actor.tenant_id
    if actor.is_hq:
        return clause
    inside = exists().where(node_in_subtree(actor), OrgNode.kind == kind_col, OrgNode.core_id == core_id_col)
    return and_(clause, inside)
