"""Scoped queries on both databases: each actor lists exactly its tenant's subtree, and a get by id of
another region's or another tenant's row reads as missing (the page's 404)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.console import org, repository, repository_codes, scope
from bot.console.models import AuditEntry
from bot.console.org_models import OrgNode
from bot.console.repository import MemberQuery, StoreQuery
from bot.db import create_engine, session_factory, session_scope
from tests.console.scope_world import B_R1, D10, D11, HQ, R1, R2, seed

# who sees what in tenant A, by name (written out by hand from scope.py's rules)
MEMBERS = {
    "hq": {
        "owner_e1",
        "staff_s1",
        "dist_e2",
        "region_s",
        "consumer_e",
        "consumer_storescan",
        "consumer_s",
        "consumer_none",
        "consumer_hqscan",
        "owner_ghost",
        "staff_s1_scans_east",
    },
    "r1": {"owner_e1", "dist_e2", "consumer_e", "consumer_storescan"},
    "r2": {"staff_s1", "region_s", "consumer_s", "staff_s1_scans_east"},
    "d10": {"owner_e1", "consumer_storescan"},
    "d11": {"dist_e2"},
}
STORES = {"hq": {100, 110, 200}, "r1": {100, 110}, "r2": {200}, "d10": {100}, "d11": {110}}
BATCHES = {
    "hq": {"east", "d_e1", "south", "hq"},
    "r1": {"east", "d_e1"},
    "r2": {"south"},
    "d10": {"d_e1"},
    "d11": set(),
}
SALES_REGIONS = {"hq": {"EAST", "SOUTH", "WEST"}, "r1": {"EAST"}, "r2": {"SOUTH"}, "d10": set(), "d11": set()}
ALERTS = {
    "hq": {"east_store", "south_dist", "east_d_e2", "unmirrored"},
    "r1": {"east_store", "east_d_e2"},
    "r2": {"south_dist"},
    "d10": {"east_store"},
    "d11": {"east_d_e2"},
}
FLAGS = {
    "hq": {"consumer_e", "consumer_s", "consumer_none"},
    "r1": {"consumer_e"},
    "r2": {"consumer_s"},
    "d10": set(),
    "d11": set(),
}
ACTORS = {
    "hq": ("hq_admin", HQ),
    "r1": ("region_manager", R1),
    "r2": ("region_operator", R2),
    "d10": ("distributor", D10),
    "d11": ("distributor", D11),
}


@pytest.fixture
async def seeded(db_url):
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    async with session_scope(sessions) as session:
        world = await seed(session)
    try:
        yield sessions, world
    finally:
        await engine.dispose()


async def _all_pages(fetch, **kw):
    items, cursor = [], None
    while True:
        page = await fetch(cursor=cursor, limit=2, **kw)
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def _names(mapping: dict[str, int], ids, tenant: str) -> set[str]:
    by_id = {v: k for k, v in mapping.items()}
    named = {by_id[i] for i in ids}
    assert all(n.endswith("_" + tenant) for n in named), named  # nothing of the other tenant
    return {n[: -len(tenant) - 1] for n in named}


@pytest.mark.parametrize("who", list(ACTORS))
async def test_each_actor_sees_exactly_its_subtree(seeded, who):
    sessions, w = seeded
    actor = w.actor("A", *ACTORS[who])
    async with session_scope(sessions) as s:
        members = await _all_pages(lambda **kw: repository.list_members(s, actor, MemberQuery(), **kw))
        stores = await _all_pages(lambda **kw: repository.list_stores(s, actor, StoreQuery(), **kw))
        batches = await _all_pages(lambda **kw: repository_codes.list_batches(s, actor, **kw))
        alerts = await _all_pages(lambda **kw: repository_codes.list_alerts(s, actor, **kw))
        flags = await _all_pages(lambda **kw: repository_codes.list_fraud_flags(s, actor, **kw))
        regions = await repository_codes.list_sales_regions(s, actor)
    assert _names(w.members, [m.id for m in members], "A") == MEMBERS[who]
    assert [m.id for m in members] == sorted(
        (m.id for m in members), reverse=True
    )  # newest first, no repeats
    assert {st.core_id for st in stores} == STORES[who]
    assert _names(w.batches, [b.id for b in batches], "A") == BATCHES[who]
    assert _names(w.alerts, [a.id for a in alerts], "A") == ALERTS[who]
    assert _names(w.flags, [f.id for f in flags], "A") == FLAGS[who]
    assert _names(w.sales_regions, [r.id for r in regions], "A") == SALES_REGIONS[who]
    # every row's path is inside the actor's scope (what pages hand to policy.can)
    for row in (*members, *stores, *alerts):
        assert row.path.startswith(actor.scope.path) or who == "hq", row


@pytest.mark.parametrize("who", list(ACTORS))
async def test_get_by_id_of_another_scope_or_tenant_is_missing(seeded, who):
    sessions, w = seeded
    actor = w.actor("A", *ACTORS[who])
    async with session_scope(sessions) as s:
        for name, member_id in w.members.items():
            visible = name.endswith("_A") and name[:-2] in MEMBERS[who]
            assert (await repository.get_member(s, actor, member_id) is not None) is visible, name
        for name, batch_id in w.batches.items():
            visible = name.endswith("_A") and name[:-2] in BATCHES[who]
            assert (await repository_codes.get_batch(s, actor, batch_id) is not None) is visible, name
        for name, alert_id in w.alerts.items():
            visible = name.endswith("_A") and name[:-2] in ALERTS[who]
            assert (await repository_codes.get_alert(s, actor, alert_id) is not None) is visible, name
        for name, flag_id in w.flags.items():
            visible = name.endswith("_A") and name[:-2] in FLAGS[who]
            assert (await repository_codes.get_fraud_flag(s, actor, flag_id) is not None) is visible, name
        for name, region_id in w.sales_regions.items():
            visible = name.endswith("_A") and name[:-2] in SALES_REGIONS[who]
            assert (await repository_codes.get_sales_region(s, actor, region_id) is not None) is visible, name
        for core_id in (100, 110, 200, 1100, 999):
            assert (await repository.get_store(s, actor, core_id) is not None) is (core_id in STORES[who]), (
                core_id
            )
        assert await repository.get_node(s, actor, "region", 3) is None  # tenant B's only
        assert await repository.get_node(s, actor, "region", 9) is None


async def test_tenant_b_sees_only_its_own_rows_under_the_same_codes(seeded):
    sessions, w = seeded
    hq_b, east_b = w.actor("B", "hq_admin", HQ), w.actor("B", "region_manager", B_R1)
    async with session_scope(sessions) as s:
        members = await _all_pages(lambda **kw: repository.list_members(s, hq_b, MemberQuery(), **kw))
        east = await _all_pages(lambda **kw: repository.list_members(s, east_b, MemberQuery(), **kw))
        stores = await _all_pages(lambda **kw: repository.list_stores(s, east_b, StoreQuery(), **kw))
        assert await repository.get_member(s, hq_b, w.members["owner_e1_A"]) is None
    assert _names(w.members, [m.id for m in members], "B") == MEMBERS["hq"]
    assert _names(w.members, [m.id for m in east], "B") == MEMBERS["r1"]
    assert {st.core_id for st in stores} == {100, 110}
    async with session_scope(sessions) as s:
        of_a = await repository.list_stores(s, w.actor("A", "hq_admin", HQ), StoreQuery())
    assert not {st.store_id for st in stores} & {st.store_id for st in of_a.items}  # B's own store rows


async def test_views_carry_their_place_in_the_tree(seeded):
    sessions, w = seeded
    hq, r2 = w.actor("A", *ACTORS["hq"]), w.actor("A", *ACTORS["r2"])
    async with session_scope(sessions) as s:
        owner = await repository.get_member(s, hq, w.members["owner_e1_A"])
        ghost = await repository.get_member(s, hq, w.members["owner_ghost_A"])
        consumer = await repository.get_member(s, r2, w.members["consumer_s_A"])
        store = await repository.get_store(s, hq, 100)
        batch = await repository_codes.get_batch(s, hq, w.batches["d_e1_A"])
        alert = await repository_codes.get_alert(s, hq, w.alerts["south_dist_A"])
    assert owner.path == "/r1/d10/s100/" and owner.store_code == "S-E1a"
    assert ghost.path == "/"  # linked to a store the tree does not know: HQ's
    assert consumer.path == "/r2/"  # a consumer found through scans belongs to the scope he was found in
    assert (store.region_id, store.distributor_id, store.code, store.store_id is not None) == (
        1,
        10,
        "S-E1a",
        True,
    )
    assert batch.path == "/r1/d10/" and alert.path == "/r2/d20/"


async def test_searches_are_scoped_and_validated(seeded):
    sessions, w = seeded
    r1 = w.actor("A", *ACTORS["r1"])
    async with session_scope(sessions) as s:
        # every member's phone ends in 4 digits 00nn; a tail shared across regions finds only r1's
        tail = await repository.list_members(s, r1, MemberQuery.parse("0000"))
        assert [m.id for m in tail.items] == [w.members["owner_e1_A"]]
        assert (await repository.list_members(s, r1, MemberQuery.parse("0001"))).items == ()  # staff_s1: r2
        openid = await repository.list_members(s, r1, MemberQuery.parse(f"oA{'consumer_e':_<30}"))
        assert [m.id for m in openid.items] == [w.members["consumer_e_A"]]
        assert (await repository.list_members(s, r1, MemberQuery.parse(f"oB{'consumer_e':_<30}"))).items == ()
        by_role = await repository.list_members(s, r1, MemberQuery.parse(role="consumer"))
        assert {m.id for m in by_role.items} == {w.members["consumer_e_A"], w.members["consumer_storescan_A"]}
        assert tail.items[0].masked_phone == "138****0000"
        # quotes are data, not SQL
        assert (await repository.list_stores(s, r1, StoreQuery.parse("' OR 1=1 --"))).items == ()
        # LIKE wildcards in a store search match themselves only
        assert (await repository.list_stores(s, r1, StoreQuery.parse("%"))).items == ()
        assert [x.code for x in (await repository.list_stores(s, r1, StoreQuery.parse("西湖"))).items] == [
            "S-E2a"
        ]
        # a filter naming another region's id narrows nothing open: the subtree still applies
        assert (await repository.list_stores(s, r1, StoreQuery.parse(region_id="2"))).items == ()
    for bad in ("%", "1234567", "' or 1=1 --", "abc"):
        with pytest.raises(repository.BadQuery) as info:
            MemberQuery.parse(bad)
        assert info.value.field == "q"
    with pytest.raises(repository.BadQuery):
        MemberQuery.parse(role="root")
    with pytest.raises(repository.BadQuery):
        StoreQuery.parse(region_id="1 OR 1=1")
    with pytest.raises(repository.BadQuery):
        StoreQuery.parse("x" * 65)
    with pytest.raises(repository.BadQuery):
        await repository_codes.list_alerts(None, r1, status="closed")  # type: ignore[arg-type]


async def test_scopes_and_grants_resolve_in_the_actors_tenant(seeded):
    sessions, w = seeded
    manager = w.actor("A", *ACTORS["r1"], operator_id=5)
    async with session_scope(sessions) as s:
        assert await org.can_grant(s, manager, "region_operator", "region", 1)
        assert await org.can_grant(s, manager, "distributor", "distributor", 11)
        assert not await org.can_grant(s, manager, "region_operator", "region", 2)  # another region
        assert not await org.can_grant(s, manager, "region_operator", "region", 3)  # tenant B's only
        assert not await org.can_grant(s, manager, "distributor", "distributor", 20)
        assert not await org.can_grant(s, manager, "region_operator", "region", 4242)  # unknown
        actor = await org.actor_for(
            s,
            operator_id=9,
            tenant_id=w.tenant["A"],
            role="distributor",
            scope_kind="distributor",
            scope_core_id=10,
        )
        assert actor is not None and actor.scope.path == "/r1/d10/"
        assert (
            await org.actor_for(
                s,
                operator_id=9,
                tenant_id=w.tenant["A"],
                role="distributor",
                scope_kind="distributor",
                scope_core_id=1010,
            )
            is None
        )
        assert (
            await org.actor_for(
                s,
                operator_id=9,
                tenant_id=w.tenant["A"],
                role="hq_admin",
                scope_kind="region",
                scope_core_id=1,
            )
            is None
        )
        node = await s.scalar(
            select(OrgNode).where(OrgNode.tenant_id == w.tenant["A"], OrgNode.core_id == 10)
        )
        node.active = False
    async with session_scope(sessions) as s:  # a deactivated scope signs its operators out
        assert (
            await org.actor_for(
                s,
                operator_id=9,
                tenant_id=w.tenant["A"],
                role="distributor",
                scope_kind="distributor",
                scope_core_id=10,
            )
            is None
        )
        assert not await org.can_grant(s, manager, "distributor", "distributor", 10)


async def test_rows_naming_a_node_are_scoped_by_it(seeded):
    sessions, w = seeded
    async with session_scope(sessions) as s:
        for t, kind, core_id in (
            ("A", "tenant", None),
            ("A", "region", 1),
            ("A", "distributor", 10),
            ("A", "region", 2),
            ("B", "region", 1),
        ):
            s.add(
                AuditEntry(
                    tenant_id=w.tenant[t], scope_kind=kind, scope_core_id=core_id, action=f"{kind}:{core_id}"
                )
            )
    async with session_scope(sessions) as s:

        async def seen(who):
            actor = w.actor("A", *ACTORS[who])
            clause = scope.node_clause(
                actor, AuditEntry.tenant_id, AuditEntry.scope_kind, AuditEntry.scope_core_id
            )
            return set((await s.scalars(select(AuditEntry.action).where(clause))).all())

        assert await seen("hq") == {"tenant:None", "region:1", "distributor:10", "region:2"}
        assert await seen("r1") == {"region:1", "distributor:10"}
        assert await seen("d10") == {"distributor:10"}
        assert await seen("d11") == set()


async def test_children_walk_the_tree_inside_the_scope(seeded):
    sessions, w = seeded
    hq, r1, d10 = (w.actor("A", *ACTORS[k]) for k in ("hq", "r1", "d10"))
    async with session_scope(sessions) as s:
        assert [n.code for n in await repository.children(s, hq)] == ["EAST", "SOUTH"]
        assert [n.code for n in await repository.children(s, r1)] == ["D-E1", "D-E2"]
        assert [n.code for n in await repository.children(s, d10)] == ["S-E1a"]
        assert await repository.children(s, r1, "region", 2) == []  # another region's children
        assert [n.code for n in await repository.children(s, hq, "region", 2)] == ["D-S1"]


async def test_phone_tail_follows_every_write_of_the_phone(seeded):
    """The tail is the database's generated column: set by an insert, changed by an ORM update and
    by a plain SQL update, cleared with the phone; the search reads it, not ``LIKE``."""
    from sqlalchemy import update

    from bot.membership.models import Member

    sessions, w = seeded
    hq = w.actor("A", *ACTORS["hq"])
    async with session_scope(sessions) as s:
        member = Member(tenant_id=hq.tenant_id, phone="13912345678")
        s.add(member)
        await s.flush()
        await s.refresh(member)
        assert member.phone_tail == "5678"
        member.phone = "13900009876"
        await s.flush()
        await s.refresh(member)
        assert member.phone_tail == "9876"
        assert [m.id for m in (await repository.list_members(s, hq, MemberQuery.parse("9876"))).items] == [
            member.id
        ]
        # digits that match inside the phone but not at its end are not a tail
        assert member.id not in {
            m.id for m in (await repository.list_members(s, hq, MemberQuery.parse("1390"))).items
        }
        await s.execute(update(Member).where(Member.id == member.id).values(phone="13811112222"))
        assert await s.scalar(select(Member.phone_tail).where(Member.id == member.id)) == "2222"
        await s.execute(update(Member).where(Member.id == member.id).values(phone=None))
        assert await s.scalar(select(Member.phone_tail).where(Member.id == member.id)) is None
