"""The weekly report's H5 page: ``GET /r/report/{token}`` (the link pushed to managers)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()


def add_routes(app: web.Application) -> None:
    app.router.add_routes(routes)
