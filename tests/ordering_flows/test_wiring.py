"""What the core extension wires, /readyz and /metrics, and the operator commands (menu push,
store binding QR) against the WeChat simulator."""

from __future__ import annotations

import contextlib

from backend_client import CoreClient
from bot import keys
from bot.app import RUNTIME, create_app
from bot.commands import menu as menu_commands
from bot.ordering.menu import build_menu, settings_values
from bot.ordering.runtime import OrderingRuntime
from bot.wiring.features import CORE
from tests.ordering_flows.conftest import CORE_KEY, STORE, bot_settings, start_core
from tests.wechat.test_outbound_sim import start_sim
from wechat_sim.model import App


async def test_the_extension_wires_the_client_runtime_readiness_and_metrics(
    aiohttp_client, make_settings, core_db
):
    core = await start_core(core_db)
    try:
        app = create_app(bot_settings(make_settings, core.url), features=[CORE], background=False)
        client = await aiohttp_client(app)
        services = app[keys.SERVICES]
        assert isinstance(services.core, CoreClient)
        assert isinstance(services.ordering, OrderingRuntime)
        # a tenant without a core of its own is served by the process-wide core's client
        assert await services.ordering.core(app[RUNTIME].default_tenant_id) is services.core
        ready = await (await client.get("/readyz")).json()
        assert ready["details"]["core"]["circuit"] == "closed"
        metrics = await (await client.get("/metrics")).text()
        assert "jiubot_core_circuit 0.0" in metrics
        session = app[RUNTIME].http.core
        assert session is not None
        await client.close()
        assert session.closed
    finally:
        await core.runner.cleanup()


async def test_an_unreachable_core_opens_the_circuit_and_readyz_says_so(
    aiohttp_client, make_settings, unused_tcp_port
):
    app = create_app(
        bot_settings(make_settings, f"http://127.0.0.1:{unused_tcp_port}"),
        features=[CORE],
        background=False,
    )
    client = await aiohttp_client(app)
    core = app[keys.SERVICES].core
    assert core is not None
    for _ in range(3):
        with contextlib.suppress(Exception):
            await core.catalog.search("飞天")
    ready = await (await client.get("/readyz")).json()
    assert ready["details"]["core"]["circuit"] == "open"
    assert "jiubot_core_circuit 2.0" in await (await client.get("/metrics")).text()


async def test_without_a_core_url_chat_ordering_stays_off(aiohttp_client, make_settings):
    app = create_app(make_settings(), features=[CORE], background=False)
    await aiohttp_client(app)
    assert app[keys.SERVICES].ordering is None and app[keys.SERVICES].core is None


async def test_menu_push_and_a_store_binding_qr_reach_wechat(aiohttp_server, make_settings, core_db):
    base, sim = await start_sim(aiohttp_server, App("wxmenuoa00000001", "menu-secret-0123456789"))
    core = await start_core(core_db)
    try:
        settings = make_settings(
            oa_appid="wxmenuoa00000001", oa_secret="menu-secret-0123456789", oa_mode="plain", oa_aes_key="",
            wechat_api_base=base, core_url=core.url, core_api_key=CORE_KEY,
        )  # fmt: skip
        buttons = build_menu(settings_values(settings))
        assert await menu_commands._menu_push(settings, "wxmenuoa00000001", buttons) == 0
        published = sim.menu_get("wxmenuoa00000001")
        keys_ = [b.get("key") for b in published["menu"]["button"] if "key" in b]
        assert keys_ == ["ORDER", "MY_ORDERS"]
        async with menu_commands.context(settings, core=True) as ctx:
            store, scene, qr = await menu_commands.make_binding_qr(
                ctx, "wxmenuoa00000001", STORE["code"], 30, "test"
            )
        assert store.id == STORE["id"] and scene.startswith("bind:")
        assert sim.find_qr(qr.ticket).scene == scene
    finally:
        await core.runner.cleanup()


def test_the_menu_respects_wechats_limits():
    buttons = build_menu({"order_mp_appid": "wxmp", "public_base_url": "https://example.com"})
    assert [b["name"] for b in buttons] == ["订货", "我的订单", "会员中心"]
    assert len(buttons[2]["sub_button"]) == 3
    assert all(len(b["name"].encode()) <= 16 for b in buttons)
