"""Gunicorn entry point: ``gunicorn 'bot.wsgi:app' -k aiohttp.GunicornUVLoopWebWorker``.

The aiohttp worker awaits this factory in each worker process. Run ``jiubot db upgrade`` before
starting the workers; they never migrate on their own. With ``JIUBOT_SERVE_BACKGROUND=false``
(the README's recipe) the workers only serve: the inbound log writer and the scheduled jobs run
in ``jiubot worker`` processes.
"""

from __future__ import annotations

from aiohttp import web

from bot.app import create_app, freeze_heap_after_startup
from bot.config import load_settings
from bot.observability import configure_logging


async def app() -> web.Application:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format, secret_key=settings.secret_key)
    return freeze_heap_after_startup(create_app(settings, background=settings.serve_background))
