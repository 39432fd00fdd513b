from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from backend_client import CoreClient, RetryPolicy, Timeouts
from tests.reference_core.fixtures import (  # noqa: F401  (fixtures)
    core_db_url,
    core_pg_template,
    core_pg_url,
    core_sqlite_template,
    core_sqlite_url,
    http,
    start_core,
)
from tests.reference_core.world import API_KEY, World, build_world


@dataclass
class LiveCore:
    world: World
    client: CoreClient
    base: str
    app: web.Application


@pytest.fixture
async def live(core_db_url, start_core):  # noqa: F811  (fixtures imported above)
    """The reference core on a real port with the test world, and a CoreClient pointed at it."""
    world = await build_world(core_db_url)
    base, app = await start_core(core_db_url)
    async with aiohttp.ClientSession() as session:
        client = CoreClient(
            session,
            base,
            API_KEY,
            timeouts=Timeouts(connect=2, total=10),
            retry=RetryPolicy(attempts=2, base_delay=0.01),
        )
        yield LiveCore(world, client, base, app)
