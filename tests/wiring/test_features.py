"""The seams of the composition root: a feature added to the one list (``FEATURES``) gets its
chat routers, HTTP routes, runtime setup, scheduled job and CLI command wired, with nothing else
edited; every runtime object is built once and closed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from bot import keys
from bot.app import RUNTIME, create_app
from bot.cli import build_parser, main
from bot.dispatch import Router
from bot.messages import Reply, TextReply
from bot.scheduler import Scheduler
from bot.services import Services
from bot.wiring import features as feature_list
from bot.wiring.feature import Feature, Runtime
from bot.wiring.runtime import open_runtime
from tests.conftest import OA_APPID, OA_TOKEN
from tests.wechat_client import WeChatPoster, text_xml


@dataclass
class SampleRuntime:
    greeting: str
    closed: bool = False


SAMPLE = web.AppKey("sample_runtime", SampleRuntime)
sample_router = Router("sample")
jobs_registered: list[str] = []
runtimes: list[SampleRuntime] = []


@sample_router.text(equals="样例")
async def on_sample(services: Services) -> Reply:
    return TextReply(runtimes[-1].greeting)


async def sample_view(request: web.Request) -> web.Response:
    return web.json_response({"greeting": request.app[RUNTIME].services.settings.tenant_name})


def sample_routers() -> Sequence[Router]:
    return (sample_router,)


def sample_routes(app: web.Application) -> None:
    app.router.add_get("/sample", sample_view)


async def sample_setup(runtime: Runtime) -> None:
    sample = SampleRuntime("样例功能已接通")
    runtimes.append(sample)

    async def close() -> None:
        sample.closed = True

    runtime.stack.push_async_callback(close)

    async def worker(stop: asyncio.Event) -> None:
        await stop.wait()

    runtime.workers.append(("sample-worker", worker))


def sample_jobs(scheduler: Scheduler, services: Services) -> None:
    async def tick() -> None:
        return None

    scheduler.every("sample-tick", 3600, tick)
    jobs_registered.append("sample-tick")


SAMPLE_FEATURE = Feature(
    "sample",
    routers=sample_routers,
    routes=sample_routes,
    setup=sample_setup,
    jobs=sample_jobs,
    cli=("tests.wiring.sample_feature_cli",),
)


async def test_a_feature_in_the_list_is_wired_everywhere(make_settings, monkeypatch, capsys, aiohttp_client):
    # aiohttp_client last: its app closes before the database is dropped
    runtimes.clear()
    jobs_registered.clear()
    monkeypatch.setattr(feature_list, "FEATURES", (*feature_list.FEATURES, SAMPLE_FEATURE))
    monkeypatch.setattr("bot.app.FEATURES", feature_list.FEATURES)
    settings = make_settings(oa_mode="plain", oa_aes_key="")
    app = create_app(settings, background=True)
    client = await aiohttp_client(app)

    # routes
    assert (await (await client.get("/sample")).json()) == {"greeting": settings.tenant_name}
    # chat router, dispatched through the real callback pipeline
    poster = WeChatPoster(client, OA_APPID, OA_TOKEN, mode="plain")
    reply = await poster.post(text_xml("o-sample-1", "样例"))
    assert reply.text == "样例功能已接通"
    # runtime setup ran once, its worker runs, and the job is on the scheduler
    assert len(runtimes) == 1 and not runtimes[0].closed
    assert "sample-worker" in {t.get_name() for t in asyncio.all_tasks()}
    assert jobs_registered == ["sample-tick"]
    await client.close()
    assert runtimes[0].closed  # the runtime's stack closed what the feature opened

    # CLI: the command comes from Feature.cli, nothing else registered it
    assert "sample-hello" in build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert main(["sample-hello"]) == 0
    assert "你好，样例功能" in capsys.readouterr().out


async def test_a_feature_left_out_is_not_wired(make_settings, aiohttp_client):
    runtimes.clear()
    app = create_app(make_settings(), features=[], background=False)
    client = await aiohttp_client(app)
    assert (await client.get("/sample")).status == 404
    assert runtimes == []
    services = app[keys.SERVICES]
    assert services.wechat is None and services.ordering is None and services.membership is None


async def test_open_runtime_builds_each_object_once_and_closes_them(make_settings):
    settings = make_settings()
    async with open_runtime(settings, feature_list.FEATURES) as runtime:
        services = runtime.services
        assert services.wechat is not None and services.reach is not None
        assert services.membership is not None
        wechat_http = runtime.http.wechat
        assert not wechat_http.closed
        assert services.wechat.session is wechat_http  # the one session to WeChat
    assert wechat_http.closed


def test_a_feature_brings_its_own_migrations(monkeypatch, tmp_path):
    from pathlib import Path

    import sqlalchemy as sa

    from bot.migrate import upgrade

    feature = Feature("sample", migrations=Path(__file__).with_name("sample_migrations"))
    monkeypatch.setattr(feature_list, "FEATURES", (*feature_list.FEATURES, feature))
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(url.replace("sqlite://", "sqlite+aiosqlite://"))
    engine = sa.create_engine(url)
    try:
        assert "sample_notes" in sa.inspect(engine).get_table_names()
        assert "members" in sa.inspect(engine).get_table_names()  # and every domain's own
    finally:
        engine.dispose()
