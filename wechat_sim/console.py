"""The chat console page (``/_sim/console``): a phone-like view to act as a simulated user."""

from __future__ import annotations

from aiohttp import web

from wechat_sim.keys import SIM_JINJA, SIM_STATE

routes = web.RouteTableDef()


@routes.get("/", name="sim_index")
async def index(request: web.Request) -> web.Response:
    return web.Response(status=302, headers={"Location": str(request.app.router["sim_console"].url_for())})


@routes.get("/_sim/console", name="sim_console")
async def console(request: web.Request) -> web.Response:
    router = request.app.router
    # everything the page calls is resolved here, so the console works under any mount prefix
    base = str(router["sim_index"].url_for()).rstrip("/")
    sim = request.app[SIM_STATE]
    html = (
        request.app[SIM_JINJA]
        .get_template("console.html.j2")
        .render(
            base=base,
            static=str(router["sim_static"].url_for(filename="")).rstrip("/"),
            apps=sim.apps(),
            preselect_app=request.query.get("app", ""),
            preselect_person=request.query.get("person", ""),
        )
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8")
