"""The parser reads the corpus as well from the core's catalog as from the demo file, and
``jiubot order-parse`` uses the core's catalog when JIUBOT_CORE_URL is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import orjson

from backend_client import CoreClient
from bot.ordering.catalog_source import load_catalog
from bot.ordering.cli import reading
from bot.ordering.core_catalog import CoreCatalogSource
from bot.ordering.parser import OrderParser
from tests.ordering.corpus import load_corpus, matches, observed
from tests.ordering_flows.conftest import CORE_KEY, start_core

REPO = Path(__file__).resolve().parents[2]


async def test_the_core_catalog_reads_the_corpus_like_the_demo_file(core_db):
    core = await start_core(core_db)
    try:
        async with aiohttp.ClientSession() as session:
            source = CoreCatalogSource(
                CoreClient(session, core.url, CORE_KEY).catalog, lexicon=load_catalog()
            )
            catalog = await source.load()
            assert await source.load() is catalog  # cached
    finally:
        await core.runner.cleanup()
    demo = load_catalog()
    assert [e.sku for e in catalog.entries] == [e.sku for e in demo.entries]
    assert {e.sku: e.bottles_per_case for e in catalog.entries} == {
        e.sku: e.bottles_per_case for e in demo.entries
    }
    parser, reference = OrderParser(catalog), OrderParser(demo)
    cases = load_corpus(demo)
    exact = sum(matches(c, observed(reading(parser.parse(c.text)))) for c in cases)
    same = sum(reading(parser.parse(c.text)) == reading(reference.parse(c.text)) for c in cases)
    assert exact / len(cases) >= 0.95
    assert same == len(cases)


async def test_a_stale_catalog_is_served_while_the_core_is_down(core_db, unused_tcp_port):
    core = await start_core(core_db, port=unused_tcp_port)
    clock = [0.0]
    async with aiohttp.ClientSession() as session:
        client = CoreClient(session, core.url, CORE_KEY)
        source = CoreCatalogSource(client.catalog, lexicon=load_catalog(), ttl=60, clock=lambda: clock[0])
        catalog = await source.load()
        await core.runner.cleanup()
        clock[0] = 120.0
        assert await source.load() is catalog


def test_order_parse_reads_the_cores_catalog_when_jiubot_core_url_is_set(core_db):
    import asyncio

    async def serve_and_run() -> subprocess.CompletedProcess:
        core = await start_core(core_db)
        try:
            env = {
                **os.environ,
                "PYTHONPATH": str(REPO),
                "JIUBOT_CORE_URL": core.url,
                "JIUBOT_CORE_API_KEY": CORE_KEY,
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "order-parse", "mt 1箱 五粮夜 3件", "--compact",
                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            return subprocess.CompletedProcess([], proc.returncode or 0, out, err)
        finally:
            await core.runner.cleanup()

    done = asyncio.run(serve_and_run())
    assert done.returncode == 0, done.stderr.decode()
    printed = orjson.loads(done.stdout)
    assert printed["catalog"].startswith("core:http://127.0.0.1:")
    assert [li["sku"] for li in printed["lines"]] == ["WLY-PW8-52-500"]  # 五粮夜: a typo
    assert (
        printed["ambiguous"][0]["text"] == "mt" and printed["ambiguous"][0]["candidates"][0] == "MT-FT-53-500"
    )
