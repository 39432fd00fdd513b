"""The chat console page (``/_sim/console``): a phone-like view to act as a simulated user."""

from __future__ import annotations

from aiohttp import web

from wechat_sim.keys import SIM_JINJA
from wechat_sim.model import ROLES

routes = web.RouteTableDef()


@routes.get("/", name="sim_index")
async def index(request: web.Request) -> web.Response:
    return web.Response(status=302, headers={"Location": str(request.app.router["sim_console"].url_for())})


@routes.get("/_sim/console", name="sim_console")
async def console(request: web.Request) -> web.Response:
    router = request.app.router
    # every URL the page calls is derived from the router, so the console works under any prefix
    base = str(router["sim_index"].url_for()).rstrip("/")
    static = str(router["sim_static"].url_for(filename="x"))[: -len("/x")]
    boot = {"base": base, "app": request.query.get("app", ""), "person": request.query.get("person", "")}
    template = request.app[SIM_JINJA].get_template("console.html.j2")
    html = template.render(boot=boot, roles=ROLES, static=static)
    return web.Response(text=html, content_type="text/html", charset="utf-8")
