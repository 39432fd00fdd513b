"""``sync_org`` over real HTTP against the reference core (seeded demo tenant: 2 regions, 6
distributors, 8 stores), on SQLite and PostgreSQL: the first sync builds the tree, a second one
writes nothing, changes in the core (rename, move, close, vanish) arrive, a failing or empty core
changes nothing, and two syncs at once make one tree."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import delete, func, select, update

from backend_client import BackendUnavailable, CoreClient, RetryPolicy
from bot.commands import org as org_cli
from bot.console.org import SyncRefused, apply_tree, sync_org
from bot.console.org_models import OrgNode
from bot.db import create_engine, session_factory, session_scope
from bot.tenancy.repository import get_or_create_tenant
from reference_core import models as core_models
from reference_core.db import create_engine as core_engine
from reference_core.db import session_factory as core_sessions
from tests.ordering_flows.conftest import (  # noqa: F401  (fixtures)
    CORE_KEY,
    core_db,
    core_seed_pg,
    core_seed_sqlite,
    start_core,
)


def main(argv: list[str]) -> int:
    """``jiubot org ...`` (the console feature's CLI)."""
    parser = argparse.ArgumentParser(prog="jiubot")
    org_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


T0 = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)


@pytest.fixture
async def world(db_url, core_db):  # noqa: F811  (the fixture)
    core = await start_core(core_db)
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    async with session_scope(sessions) as session:
        tenant = (await get_or_create_tenant(session, "default", "品牌")).id
    http = aiohttp.ClientSession()
    client = CoreClient(http, core.url, CORE_KEY, retry=RetryPolicy(attempts=1))
    cengine = core_engine(core_db)
    try:
        yield tenant, sessions, client, core, core_sessions(cengine)
    finally:
        await http.close()
        await core.runner.cleanup()
        await engine.dispose()
        await cengine.dispose()


async def _nodes(sessions, tenant):
    async with session_scope(sessions) as session:
        rows = (await session.scalars(select(OrgNode).where(OrgNode.tenant_id == tenant))).all()
    return {(r.kind, r.core_id): r for r in rows}


async def test_first_sync_mirrors_the_core_tree_and_a_second_writes_nothing(world):
    tenant, sessions, client, _core, _cs = world
    result = await sync_org(sessions, client, tenant, now=T0)
    assert (result.regions, result.distributors, result.stores) == (2, 6, 8)
    assert (result.created, result.updated, result.deactivated) == (16, 0, 0)

    nodes = await _nodes(sessions, tenant)
    assert len(nodes) == 16
    by_id = {n.id: n for n in nodes.values()}
    for store in (await client.org.stores(limit=100)).items:
        node = nodes[("store", store.id)]
        assert node.path == f"/r{store.region_id}/d{store.distributor_id}/s{store.id}/"
        assert (node.code, node.name, node.city, node.status) == (
            store.code,
            store.name,
            store.city,
            store.status,
        )
        parent = by_id[node.parent_id]
        assert (parent.kind, parent.core_id) == ("distributor", store.distributor_id)
        assert by_id[parent.parent_id].path == f"/r{store.region_id}/"
    for region in await client.org.regions():
        assert nodes[("region", region.id)].parent_id is None

    later = T0 + timedelta(hours=1)
    again = await sync_org(sessions, client, tenant, now=later)
    assert (again.created, again.updated, again.deactivated) == (0, 0, 0)
    assert all(n.synced_at == T0 for n in (await _nodes(sessions, tenant)).values())  # nothing rewritten


async def test_changes_in_the_core_arrive_and_vanished_nodes_are_deactivated(world):
    tenant, sessions, client, _core, core_sessions_ = world
    async with session_scope(core_sessions_) as cs:
        regions = {r.code: r.id for r in (await cs.scalars(select(core_models.Region))).all()}
        south_dist = await cs.scalar(
            select(core_models.Distributor).where(core_models.Distributor.region_id == regions["SOUTH"])
        )
        extra = core_models.Distributor(
            tenant_id=south_dist.tenant_id,
            code="D-TMP",
            name="临时经销商",
            region_id=regions["SOUTH"],
            city="广州",
        )
        cs.add(extra)
        await cs.flush()
        temp_store = core_models.Store(
            tenant_id=south_dist.tenant_id,
            code="S-TMP",
            name="临时门店",
            region_id=regions["SOUTH"],
            distributor_id=extra.id,
            owner_phone="13900000000",
            lat=23.1,
            lng=113.3,
        )
        cs.add(temp_store)
        await cs.flush()
        extra_id, temp_id = extra.id, temp_store.id
    first = await sync_org(sessions, client, tenant, now=T0)
    assert (first.distributors, first.stores) == (7, 9)

    async with session_scope(core_sessions_) as cs:
        moved = await cs.scalar(
            select(core_models.Store)
            .where(core_models.Store.region_id == regions["EAST"], core_models.Store.id != temp_id)
            .order_by(core_models.Store.id)
        )
        moved_id = moved.id
        moved.region_id, moved.distributor_id, moved.name = regions["SOUTH"], south_dist.id, "搬迁后的门店"
        await cs.execute(update(core_models.Store).where(core_models.Store.id == 1).values(status="closed"))
        await cs.execute(delete(core_models.Store).where(core_models.Store.id == temp_id))
        await cs.execute(delete(core_models.Distributor).where(core_models.Distributor.id == extra_id))

    later = T0 + timedelta(hours=1)
    result = await sync_org(sessions, client, tenant, now=later)
    assert (result.distributors, result.stores) == (6, 8)
    assert (result.created, result.updated, result.deactivated) == (0, 2 if moved_id != 1 else 1, 2)
    nodes = await _nodes(sessions, tenant)
    assert len(nodes) == 18  # nothing deleted
    node = nodes[("store", moved_id)]
    assert node.path == f"/r{regions['SOUTH']}/d{south_dist.id}/s{moved_id}/" and node.name == "搬迁后的门店"
    assert node.parent_id == nodes[("distributor", south_dist.id)].id and node.synced_at == later
    assert nodes[("store", 1)].status == "closed" and nodes[("store", 1)].active  # closed, still listed
    for key in (("store", temp_id), ("distributor", extra_id)):
        assert not nodes[key].active and nodes[key].deactivated_at == later
    untouched = [n for k, n in nodes.items() if k not in {("store", moved_id), ("store", 1)} and n.active]
    assert untouched and all(n.synced_at == T0 for n in untouched)


async def test_a_failing_core_changes_nothing(world):
    tenant, sessions, client, _core, _cs = world
    await sync_org(sessions, client, tenant, now=T0)
    before = {k: (n.path, n.active, n.synced_at) for k, n in (await _nodes(sessions, tenant)).items()}
    async with aiohttp.ClientSession() as http:
        dead = CoreClient(http, "http://127.0.0.1:9", CORE_KEY, retry=RetryPolicy(attempts=1))
        with pytest.raises(BackendUnavailable):
            await sync_org(sessions, dead, tenant, now=T0 + timedelta(hours=1))
    after = {k: (n.path, n.active, n.synced_at) for k, n in (await _nodes(sessions, tenant)).items()}
    assert after == before


async def test_an_empty_tree_is_refused_unless_allowed(world):
    tenant, sessions, client, _core, _cs = world
    await sync_org(sessions, client, tenant, now=T0)
    async with session_scope(sessions) as session:
        with pytest.raises(SyncRefused):
            await apply_tree(session, tenant, [], now=T0 + timedelta(hours=1))
    assert all(n.active for n in (await _nodes(sessions, tenant)).values())
    async with session_scope(sessions) as session:
        assert await apply_tree(session, tenant, [], now=T0, allow_empty=True) == (0, 0, 16)
    assert not any(n.active for n in (await _nodes(sessions, tenant)).values())


async def test_concurrent_syncs_make_one_tree(world):
    tenant, sessions, client, _core, _cs = world
    results = await asyncio.gather(*(sync_org(sessions, client, tenant, now=T0) for _ in range(3)))
    assert all((r.regions, r.distributors, r.stores) == (2, 6, 8) for r in results)
    async with session_scope(sessions) as session:
        count = await session.scalar(
            select(func.count()).select_from(OrgNode).where(OrgNode.tenant_id == tenant)
        )
        paths = (await session.scalars(select(OrgNode.path).where(OrgNode.kind == "store"))).all()
    assert count == 16 and len(set(paths)) == 8


async def test_jiubot_org_sync_command(world, db_url, monkeypatch, capsys):
    tenant, sessions, _client, core, _cs = world
    monkeypatch.setenv("JIUBOT_DATABASE_URL", db_url)
    monkeypatch.setenv("JIUBOT_SECRET_KEY", "test-secret-key-0123456789")
    monkeypatch.setenv("JIUBOT_CORE_URL", core.url)
    monkeypatch.setenv("JIUBOT_CORE_API_KEY", CORE_KEY)
    assert await asyncio.to_thread(main, ["org", "sync"]) == 0
    assert "2 regions, 6 distributors, 8 stores; 16 created" in capsys.readouterr().out
    assert len(await _nodes(sessions, tenant)) == 16
    assert await asyncio.to_thread(main, ["org", "tree"]) == 0
    out = capsys.readouterr().out
    assert "16 nodes" in out and "华东营销中心" in out
    monkeypatch.setenv("JIUBOT_CORE_API_KEY", "wrong-key-0123456789")
    assert await asyncio.to_thread(main, ["org", "sync"]) == 1
    assert "Unauthorized" in capsys.readouterr().err


class RecordingScheduler:
    def __init__(self) -> None:
        self.jobs: dict[str, tuple[object, dict]] = {}

    def cron(self, name, job, **fields):  # type: ignore[no-untyped-def]
        self.jobs[name] = (job, fields)


def _cores(client, own=()):
    """The process-wide core is ``client`` (None: no core configured); tenants ``own`` have
    their own (served by the same reference core here)."""
    from bot.tenancy.cores import CoreConfig, CoreDirectory

    async def load(tenant_id):
        return CoreConfig("http://own", "k", "secret-0123456789abcdef") if tenant_id in own else None

    default = CoreConfig("http://core", "k", "secret-0123456789abcdef", own=False) if client else None
    return CoreDirectory(load, default, lambda _config: client)


async def test_the_hourly_job_syncs_the_configured_tenant(world, make_settings):
    from types import SimpleNamespace

    from bot.console import org_jobs

    tenant, sessions, client, _core, _cs = world
    scheduler = RecordingScheduler()
    async with session_scope(sessions) as session:
        own = (await get_or_create_tenant(session, "brandb", "乙")).id  # a core of its own
        on_default = (await get_or_create_tenant(session, "brandc", "丙")).id  # the default core
    # Services stand-in: the job reads only these typed attributes
    settings = make_settings(tenant_slug="default")
    services = SimpleNamespace(settings=settings, sessions=sessions, cores=_cores(client, own=(own,)))
    org_jobs.register_jobs(scheduler, services)  # type: ignore[arg-type]
    job, fields = scheduler.jobs["console-org-sync"]
    assert fields == {"minute": 7}
    results = await job()  # type: ignore[operator]
    # the process's tenant and the one with its own core; not the other tenant on the default core
    assert sorted(results) == sorted([tenant, own]) and results[tenant].created == 16
    assert len(await _nodes(sessions, tenant)) == 16 and len(await _nodes(sessions, own)) == 16
    assert await _nodes(sessions, on_default) == {}

    no_core = SimpleNamespace(settings=settings, sessions=sessions, cores=_cores(None))
    assert await org_jobs.sync_configured_tenant(no_core) is None  # type: ignore[arg-type]
    other = SimpleNamespace(
        settings=make_settings(tenant_slug="nobody"), sessions=sessions, cores=_cores(client)
    )
    assert await org_jobs.sync_configured_tenant(other) is None  # type: ignore[arg-type]
