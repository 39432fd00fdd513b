"""What the console needs at run time, kept under one typed AppKey (``CONSOLE``)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.console.codegen_jobs import CodegenJobs
from bot.console.lockout import AddressThrottle
from bot.console.registry import ConsoleRegistry
from bot.console.sessions import Clock, SessionStore
from bot.services import Services

PREFIX = "/console"


@dataclass
class ConsoleRuntime:
    services: Services
    sessions: SessionStore
    throttle: AddressThrottle
    registry: ConsoleRegistry
    clock: Clock
    codegen: CodegenJobs


CONSOLE = web.AppKey("console", ConsoleRuntime)
"""Set on the main application by the console feature's extension (bot/console/feature.py)."""
