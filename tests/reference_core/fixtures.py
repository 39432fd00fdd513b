"""Fixtures shared by tests/reference_core and tests/backend_client (imported by both conftests)."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import pytest

from reference_core.app import create_core_app
from tests.reference_core.databases import (  # noqa: F401  (re-exported fixtures)
    core_db_url,
    core_pg_template,
    core_pg_url,
    core_sqlite_template,
    core_sqlite_url,
)
from tests.reference_core.helpers import core_config
from tests.reference_core.world import API_KEY


@pytest.fixture
def start_core(aiohttp_server) -> Callable:
    """Start the core on a real loopback port; returns (base URL, app). ``port=`` restarts on a port."""

    async def start(url: str, **overrides: object):
        port = overrides.pop("port", None)
        app = create_core_app(core_config(url, **overrides.pop("config", {})), **overrides)  # type: ignore[arg-type]
        server = await aiohttp_server(app, port=port) if port else await aiohttp_server(app)
        return str(server.make_url("")).rstrip("/"), app

    return start


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {API_KEY}"}, connector=aiohttp.TCPConnector(limit=400)
    ) as session:
        yield session
