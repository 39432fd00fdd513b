"""What a feature contributes to the application, and the runtime it is wired into.

A feature is one ``Feature`` value in ``bot.wiring.features.FEATURES``. Its parts are plain
callables, resolved only when the application (or a CLI command) is composed, so that importing
the list costs nothing (``jiubot --help`` must stay fast): feature modules import their heavy
dependencies inside these functions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import ClientSession, web
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.config import Settings
    from bot.dispatch import Router
    from bot.redis_mux import Mux
    from bot.scheduler import Scheduler
    from bot.services import Services
    from bot.wechat.pipeline import InteractionRecorder

Probe = Callable[[], Awaitable[object]]
"""A detail of ``/readyz`` (e.g. the core API's circuit breaker), answered as JSON."""

Worker = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
"""A loop a feature runs beside serving (order retries ...) until the event is set."""


@dataclass(frozen=True)
class Remotes:
    """One HTTP ``ClientSession`` per remote system, each with its own explicit timeouts."""

    wechat: ClientSession
    core: ClientSession  # shared by every tenant's core client


@dataclass(eq=False)
class Runtime:
    """Everything built once from ``Settings``: the handler-facing ``services`` plus what only
    the composition needs (engine, the hot path's Redis connection, HTTP sessions, readiness
    probes, interaction recorders, workers). Closed by ``stack`` in reverse order of building."""

    settings: Settings
    engine: AsyncEngine
    mux: Mux
    http: Remotes
    services: Services
    stack: AsyncExitStack
    notifier_given: bool = False  # the caller passed a notifier (tests): features keep it
    default_tenant_id: int = 0  # the tenant of JIUBOT_TENANT_SLUG, created when missing
    probes: dict[str, Probe] = field(default_factory=dict)
    recorders: list[InteractionRecorder] = field(default_factory=list)
    workers: list[tuple[str, Worker]] = field(default_factory=list)


Setup = Callable[[Runtime], Awaitable[None]]
Jobs = Callable[["Scheduler", "Services"], None]


@dataclass(frozen=True)
class Feature:
    """A feature of jiubot, registered in ``bot.wiring.features.FEATURES``.

    * ``routers``: chat routers, composed after the foundation's in list order;
    * ``routes``: adds HTTP routes to the application before it starts;
    * ``setup``: builds the feature's runtime objects onto ``runtime.services`` (typed
      attributes), may register cleanups on ``runtime.stack``, probes, recorders and workers;
    * ``jobs``: periodic work on the scheduler (each fire guarded once across processes);
    * ``cli``: the modules whose ``register(subparsers)`` add the feature's ``jiubot`` commands
      (imported when the parser is built; keep their top-level imports light);
    * ``migrations``: a folder of Alembic revisions of the feature's own tables.
    """

    name: str
    routers: Callable[[], Sequence[Router]] | None = None
    routes: Callable[[web.Application], None] | None = None
    setup: Setup | None = None
    jobs: Jobs | None = None
    cli: tuple[str, ...] = ()
    migrations: Path | None = None
