"""The console's jinja2 environment (aiohttp-jinja2): autoescaped, strict, with a few filters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape

TZ = ZoneInfo("Asia/Shanghai")


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "" if value is None else value.astimezone(TZ).strftime(fmt)


def number(value: int | float | None) -> str:
    return "—" if value is None else f"{value:,}"


def setup_templates(app: web.Application, root: Path) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=FileSystemLoader(str(root)),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        auto_reload=False,
    )
    env.filters["dt"] = local_time
    env.filters["num"] = number
