"""``create_sim_app(config)``: the simulator as an aiohttp application.

WeChat's API paths are served from the app's root (``/cgi-bin/...``, ``/sns/...``, ``/wxa/...``,
``/connect/oauth2/authorize``), so pointing a client at it means changing its base URL only. The
simulator's own control API and console live under ``/_sim/``. It works mounted as a sub-app
(``parent.add_subapp("/wxsim", create_sim_app(cfg))``): links are built from the router, never
assumed to start at ``/``.

The state object is ``app[SIM_STATE]`` (a :class:`wechat_sim.simulator.Simulator`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import jinja2
from aiohttp import web

from wechat_sim import console, control, phone
from wechat_sim.api import message, miniapp, oauth, platform, token
from wechat_sim.config import SimConfig
from wechat_sim.keys import SIM_JINJA, SIM_STATE
from wechat_sim.simulator import Simulator

__all__ = ["SIM_STATE", "create_sim_app"]

STATIC = Path(__file__).parent / "static"


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    sim = app[SIM_STATE]
    await sim.start()
    yield
    await sim.stop()


async def _wake_long_polls(app: web.Application) -> None:
    app[SIM_STATE].wake_all()


def create_sim_app(config: SimConfig | None = None, *, sim: Simulator | None = None) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[SIM_STATE] = sim or Simulator(config)
    app[SIM_JINJA] = jinja2.Environment(
        loader=jinja2.PackageLoader("wechat_sim", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    for module in (token, message, platform, miniapp, oauth):
        app.router.add_routes(module.routes)
    app.router.add_routes(control.routes)
    app.router.add_routes(phone.routes)
    app.router.add_routes(console.routes)
    app.router.add_static("/_sim/static", STATIC, name="sim_static")
    app.cleanup_ctx.append(_lifecycle)
    app.on_shutdown.append(_wake_long_polls)
    return app
