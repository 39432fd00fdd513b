"""Batches and ranges: a million codes are one row until scanned; the newest range wins."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.config import load_settings
from bot.db import create_engine, session_factory, session_scope
from bot.membership import batches, regions
from bot.membership.code_models import CodeBatch, CodeRange, CodeRedemption
from bot.membership.codes import CodeKeys, extract, parse
from bot.membership.errors import BadRange, UnknownBatch
from bot.membership.settings import code_master_key


async def test_a_million_code_batch_is_one_row_and_ranges_decide_state(sessions, tenant_id):
    async with session_scope(sessions) as session:
        await regions.define_region(
            session, tenant_id, "SW", "西南", provinces=["四川", "贵州"], cities=["重庆"]
        )
        batch = await batches.create_batch(
            session,
            tenant_id,
            brand="酱香",
            sku="JX-500",
            product_name="酱香典藏 500ml",
            size=1_000_000,
            region_code="SW",
            distributor_code="D-CD-01",
        )
        assert (await batches.code_state(session, batch.id, 5)).state == "generated"
        await batches.mark_range(
            session, tenant_id, batch.id, 1, 1_000_000, "activate", distributor_code="D-CD-01"
        )
        await batches.mark_range(session, tenant_id, batch.id, 1001, 2000, "activate", store_code="S-77")
        await batches.mark_range(session, tenant_id, batch.id, 1500, 1599, "void", note="lost in transit")
    async with session_scope(sessions) as session:
        state = await batches.code_state(session, batch.id, 5)
        assert (state.state, state.store_code, state.distributor_code) == ("activated", None, "D-CD-01")
        assert (await batches.code_state(session, batch.id, 1001)).store_code == "S-77"
        assert (await batches.code_state(session, batch.id, 1550)).state == "voided"
        assert (await batches.code_state(session, batch.id, 1600)).store_code == "S-77"
        assert (await session.execute(select(func.count()).select_from(CodeBatch))).scalar_one() == 1
        assert (await session.execute(select(func.count()).select_from(CodeRange))).scalar_one() == 3
        assert (await session.execute(select(func.count()).select_from(CodeRedemption))).scalar_one() == 0


async def test_ranges_and_regions_are_validated(sessions, tenant_id):
    async with session_scope(sessions) as session:
        with pytest.raises(BadRange):
            await batches.create_batch(
                session, tenant_id, brand="b", sku="s", product_name="p", size=10, region_code="XX"
            )
        batch = await batches.create_batch(session, tenant_id, brand="b", sku="s", product_name="p", size=10)
        for first, last in ((0, 5), (5, 4), (1, 11)):
            with pytest.raises(BadRange):
                await batches.mark_range(session, tenant_id, batch.id, first, last, "activate")
        with pytest.raises(UnknownBatch):
            await batches.mark_range(session, tenant_id + 1, batch.id, 1, 2, "void")
        with pytest.raises(ValueError):
            await regions.define_region(session, tenant_id, "R", "r", provinces=["火星"], cities=[])


async def _seed_tenant(url):
    from bot.tenancy.repository import get_or_create_tenant

    engine = create_engine(url)
    try:
        async with session_scope(session_factory(engine)) as session:
            await get_or_create_tenant(session, "default", "品牌")
    finally:
        await engine.dispose()


def test_cli_creates_a_batch_and_streams_its_printing_files(db_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("JIUBOT_DATABASE_URL", db_url)
    monkeypatch.setenv("JIUBOT_SECRET_KEY", "test-secret-key-0123456789")
    monkeypatch.setenv("JIUBOT_CODE_KEY", "c" * 40)
    monkeypatch.setenv("JIUBOT_CODE_BASE_URL", "https://jb.example.cn")
    asyncio.run(_seed_tenant(db_url))
    assert main(["codes", "region", "--code", "SW", "--name", "西南", "--provinces", "四川,贵州"]) == 0
    assert (
        main(
            [
                "codes",
                "batch",
                "create",
                "--brand",
                "酱香",
                "--sku",
                "JX-500",
                "--name",
                "酱香典藏",
                "--size",
                "5000",
                "--region",
                "SW",
                "--activate",
            ]
        )
        == 0
    )
    capsys.readouterr()
    csv_path, zip_path = tmp_path / "codes.csv", tmp_path / "codes.zip"
    assert (
        main(
            [
                "codes",
                "generate",
                "--batch",
                "1",
                "--count",
                "12",
                "--start",
                "100",
                "--out",
                str(csv_path),
                "--zip",
                str(zip_path),
            ]
        )
        == 0
    )
    rows = csv_path.read_text().splitlines()
    assert len(rows) == 13 and zip_path.stat().st_size > 0
    keys = CodeKeys(code_master_key(load_settings())[0])
    link = rows[1].split(",")[3]
    assert link.startswith("https://jb.example.cn/c/")
    assert parse(keys, extract(link)).serial == 100
    assert main(["codes", "verify", link]) == 0
    assert "[activated]" in capsys.readouterr().out
    assert main(["codes", "verify", link[:-1] + ("0" if link[-1] != "0" else "1")]) == 1
    assert main(["codes", "generate", "--batch", "1", "--count", "10", "--start", "4999"]) == 2
