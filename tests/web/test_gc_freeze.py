"""The serving processes freeze what start-up built, after every resource and sub-app started."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import freeze_heap_after_startup

RESOURCE = web.AppKey("resource", list)


def _tracked(obj: object) -> bool:
    """Whether the cyclic collector still walks ``obj`` (frozen objects are in no generation)."""
    return any(o is obj for o in gc.get_objects())


async def _resource(app: web.Application) -> AsyncIterator[None]:
    app[RESOURCE] = [object()]
    yield


async def test_objects_built_at_startup_are_frozen_and_later_ones_are_not() -> None:
    parent = web.Application()
    parent.cleanup_ctx.append(_resource)
    child = web.Application()
    child.cleanup_ctx.append(_resource)
    parent.add_subapp("/child", child)
    freeze_heap_after_startup(parent)

    before = gc.get_freeze_count()
    client = TestClient(TestServer(parent))
    await client.start_server()
    try:
        assert gc.get_freeze_count() > before
        # built by the app's own cleanup context and by the sub-app's: both frozen
        assert not _tracked(parent[RESOURCE])
        assert not _tracked(child[RESOURCE])
        # something a request allocates afterwards is still collected as usual
        later: list[object] = [object()]
        assert _tracked(later)
    finally:
        await client.close()
        gc.unfreeze()


async def test_without_the_hook_nothing_is_frozen() -> None:
    app = web.Application()
    app.cleanup_ctx.append(_resource)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        assert _tracked(app[RESOURCE])
    finally:
        await client.close()
