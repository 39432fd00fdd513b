"""A seeded world for scoped-query tests: tenant A with two regions (EAST /r1/, SOUTH /r2/),
three distributors and three stores, and tenant B with the SAME tree: same codes, same core ids,
same paths (another brand on another core numbers from 1 too), so only the tenant filter keeps
them apart. Members, batches, sales regions,
redemptions, alerts and fraud flags of each kind of link, named so tests can say who sees what."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.console.org import NodeSpec, apply_tree
from bot.console.policy import Actor, Scope
from bot.membership.models import (
    CodeBatch,
    CodeRange,
    CodeRedemption,
    DiversionAlert,
    FraudFlag,
    Member,
    MemberIdentity,
    SalesRegion,
    Store,
)
from bot.tenancy.repository import get_or_create_tenant

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def tree(offset: int) -> list[NodeSpec]:
    """r1 EAST: d10 D-E1 (s100 S-E1a), d11 D-E2 (s110 S-E2a); r2 SOUTH: d20 D-S1 (s200 S-S1a).
    Core ids are shifted by ``offset``."""
    r1, r2, d10, d11, d20, s100, s110, s200 = (offset + n for n in (1, 2, 10, 11, 20, 100, 110, 200))
    return [
        NodeSpec("region", r1, "EAST", "华东营销中心", f"/r{r1}/", None),
        NodeSpec("region", r2, "SOUTH", "华南营销中心", f"/r{r2}/", None),
        NodeSpec("distributor", d10, "D-E1", "上海经销", f"/r{r1}/d{d10}/", ("region", r1), "上海"),
        NodeSpec("distributor", d11, "D-E2", "杭州经销", f"/r{r1}/d{d11}/", ("region", r1), "杭州"),
        NodeSpec("distributor", d20, "D-S1", "广州经销", f"/r{r2}/d{d20}/", ("region", r2), "广州"),
        NodeSpec(
            "store", s100, "S-E1a", "静安烟酒店", f"/r{r1}/d{d10}/s{s100}/", ("distributor", d10), "上海"
        ),
        NodeSpec("store", s110, "S-E2a", "西湖酒行", f"/r{r1}/d{d11}/s{s110}/", ("distributor", d11), "杭州"),
        NodeSpec(
            "store", s200, "S-S1a", "天河名酒行", f"/r{r2}/d{d20}/s{s200}/", ("distributor", d20), "广州"
        ),
    ]


@dataclass
class World:
    tenant: dict[str, int] = field(default_factory=dict)  # "A" / "B" -> tenant id
    members: dict[str, int] = field(default_factory=dict)  # name -> member id (names end in _A / _B)
    batches: dict[str, int] = field(default_factory=dict)
    sales_regions: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)

    def actor(self, t: str, role: str, scope: Scope, operator_id: int = 1) -> Actor:
        return Actor(operator_id, self.tenant[t], role, scope)


HQ = Scope("tenant", None, "/")
R1, R2 = Scope("region", 1, "/r1/"), Scope("region", 2, "/r2/")
D10, D11 = Scope("distributor", 10, "/r1/d10/"), Scope("distributor", 11, "/r1/d11/")
B_R1 = R1


async def seed(session) -> World:  # type: ignore[no-untyped-def]
    w = World()
    for t, offset in (("A", 0), ("B", 0)):
        tenant = (await get_or_create_tenant(session, f"tenant-{t.lower()}", f"品牌{t}")).id
        w.tenant[t] = tenant
        only_b = [NodeSpec("region", 3, "NORTH", "华北营销中心", "/r3/", None)] if t == "B" else []
        await apply_tree(session, tenant, tree(offset) + only_b, now=T0)
        stores = {}
        for code in ("S-E1a", "S-E2a", "S-S1a", "S-GHOST"):  # S-GHOST: a store the core never listed
            row = Store(tenant_id=tenant, code=code, name=code)
            session.add(row)
            await session.flush()
            stores[code] = row.id
        batch = {}
        for name, region, distributor in (
            ("east", "EAST", None),
            ("d_e1", "EAST", "D-E1"),
            ("south", "SOUTH", "D-S1"),
            ("hq", None, None),
        ):
            row = CodeBatch(
                tenant_id=tenant,
                brand="酱香",
                sku="JX-500",
                product_name="酱香典藏",
                region_code=region,
                distributor_code=distributor,
                size=1000,
            )
            session.add(row)
            await session.flush()
            batch[name] = w.batches[f"{name}_{t}"] = row.id
        for code in ("EAST", "SOUTH", "WEST"):
            row = SalesRegion(tenant_id=tenant, code=code, name=code, provinces="上海", cities="")
            session.add(row)
            await session.flush()
            w.sales_regions[f"{code}_{t}"] = row.id

        # scans credited to a store come from ranges activated to it (append-only range events)
        for batch_name in ("hq", "east"):
            session.add(
                CodeRange(
                    tenant_id=tenant,
                    batch_id=batch[batch_name],
                    first_serial=1,
                    last_serial=9999,
                    action="activate",
                    store_code="S-E1a",
                )
            )
        serial = iter(range(1, 10_000))
        people = {
            # name: (role, store code, distributor code, region code, scans [(batch, store code)])
            "owner_e1": ("store_owner", "S-E1a", None, None, []),
            "staff_s1": ("store_staff", "S-S1a", None, None, []),
            "dist_e2": ("distributor_staff", None, "D-E2", None, []),
            "region_s": ("operator", None, None, "SOUTH", []),
            "consumer_e": ("consumer", None, None, None, [("east", None)]),
            "consumer_storescan": ("consumer", None, None, None, [("hq", "S-E1a")]),
            "consumer_s": ("consumer", None, None, None, [("south", None)]),
            "consumer_none": ("consumer", None, None, None, []),
            "consumer_hqscan": ("consumer", None, None, None, [("hq", None)]),
            "owner_ghost": ("store_owner", "S-GHOST", None, None, []),
            # linked members are seen through their link only, never through their scans
            "staff_s1_scans_east": ("store_staff", "S-S1a", None, None, [("east", "S-E1a")]),
        }
        for n, (name, (role, store, distributor, region, scans)) in enumerate(people.items()):
            member = Member(
                tenant_id=tenant,
                role=role,
                phone=f"1380000{n:04d}",
                store_id=stores[store] if store else None,
                distributor_code=distributor,
                region_code=region,
                created_at=T0 + timedelta(minutes=n),
            )
            session.add(member)
            await session.flush()
            w.members[f"{name}_{t}"] = member.id
            session.add(
                MemberIdentity(
                    tenant_id=tenant, member_id=member.id, appid=f"wx{t}", openid=f"o{t}{name:_<30}"
                )
            )
            for batch_name, store_code in scans:
                session.add(
                    CodeRedemption(
                        tenant_id=tenant,
                        batch_id=batch[batch_name],
                        serial=next(serial),
                        member_id=member.id,
                        channel="mp",
                        scanned_at=T0,
                        store_code=store_code,
                        region_code={"east": "EAST", "south": "SOUTH", "d_e1": "EAST"}.get(batch_name),
                    )
                )
        await session.flush()
        redemption = CodeRedemption(
            tenant_id=tenant,
            batch_id=batch["east"],
            serial=next(serial),
            member_id=w.members[f"consumer_e_{t}"],
            channel="mp",
            scanned_at=T0,
        )
        session.add(redemption)
        await session.flush()
        for name, region, distributor, store in (
            ("east_store", "EAST", None, "S-E1a"),
            ("south_dist", "SOUTH", "D-S1", None),
            ("east_d_e2", "EAST", "D-E2", None),
            ("unmirrored", "WEST", None, None),
        ):
            row = DiversionAlert(
                tenant_id=tenant,
                redemption_id=redemption.id
                if name == "east_store"
                else await _redemption(
                    session, tenant, batch["east"], next(serial), w.members[f"consumer_e_{t}"]
                ),
                batch_id=batch["east"],
                serial=1,
                region_code=region,
                distributor_code=distributor,
                store_code=store,
                found_province="广东",
                place_source="gps",
            )
            session.add(row)
            await session.flush()
            w.alerts[f"{name}_{t}"] = row.id
        for name in ("consumer_e", "consumer_s", "consumer_none"):
            row = FraudFlag(
                tenant_id=tenant, member_id=w.members[f"{name}_{t}"], kind="velocity", window_key="2026-12-01"
            )
            session.add(row)
            await session.flush()
            w.flags[f"{name}_{t}"] = row.id
    return w


async def _redemption(session, tenant: int, batch_id: int, serial: int, member_id: int) -> int:  # type: ignore[no-untyped-def]
    row = CodeRedemption(
        tenant_id=tenant, batch_id=batch_id, serial=serial, member_id=member_id, channel="mp", scanned_at=T0
    )
    session.add(row)
    await session.flush()
    return row.id
