"""``FEATURES``: everything jiubot does, in dispatch order after the foundation's handlers.

Adding a feature is adding one ``Feature`` here (see docs/architecture.md, "Adding a feature").
Importing this module is cheap: each part is resolved when the app or a command is composed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.wiring import analytics, automation, content, core, membership, regional, wechat
from bot.wiring.feature import Feature

if TYPE_CHECKING:
    from aiohttp import web

    from bot.dispatch import Router
    from bot.scheduler import Scheduler
    from bot.services import Services


def _miniapp_routes(app: web.Application) -> None:
    from bot.miniapp.routes import add_auth_routes  # the rest: with membership and core

    add_auth_routes(app)


def _membership_routers() -> Sequence[Router]:
    from bot.handlers.membership import router

    return (router,)


def _console_routes(app: web.Application) -> None:
    from bot.console.feature import console_routes

    console_routes()(app)


def _console_jobs(scheduler: Scheduler, services: Services) -> None:
    from bot.console.org_jobs import register_jobs

    register_jobs(scheduler, services)


def _distributor_routers() -> Sequence[Router]:
    from bot.handlers.distributor import router

    return (router,)


def _content_routers() -> Sequence[Router]:
    from bot.handlers.content import router  # also registers the cs: follow scene

    return (router,)


def _ordering_routers() -> Sequence[Router]:
    from bot.handlers.ordering import router  # also registers the bind: scene

    return (router,)


WECHAT = Feature("wechat", setup=wechat.setup, cli=("bot.commands.wechat",))
MINIAPP = Feature("miniapp", routes=_miniapp_routes)
# the ordering runtime over the core client, /core/webhook and the mini-program ordering API
CORE = Feature("core", setup=core.setup, routes=core.routes)
MEMBERSHIP = Feature(
    "membership",
    routers=_membership_routers,
    setup=membership.setup,
    routes=membership.routes,
    jobs=membership.jobs,
    cli=("bot.commands.membership",),
)
# a distributor's 我的门店 / 我的订单, before chat ordering reads them as a store owner's
DISTRIBUTOR = Feature("distributor", routers=_distributor_routers)
# brand content forwarded by distributors and stores, attribution, livestreams (素材 / 直播)
CONTENT = Feature(
    "content",
    routers=_content_routers,
    setup=content.setup,
    routes=content.routes,
    jobs=content.jobs,
    cli=("bot.commands.content",),
    migrations=Path(__file__).parent.parent / "content" / "migrations",
)
# after membership: its texts (积分, 我的优惠券 ...) win over free-text ordering
ORDERING = Feature("ordering", routers=_ordering_routers, cli=("bot.ordering.cli",))


def _regional_routers() -> Sequence[Router]:
    from bot.handlers.campaigns import router

    return (router,)


# issue 16: campaigns in chat (before ORDERING: 「抢12」 is not a free-text order) and in the
# mini-program; production SMS behind the code limits (after CORE: it wraps the ordering sender)
REGIONAL = Feature(
    "regional",
    routers=_regional_routers,
    setup=regional.setup,
    routes=regional.routes,
    jobs=regional.jobs,
    cli=("bot.commands.regional",),
)
# the operator back office at /console/ (sign-in, roles over the org tree, pages of every domain)
CONSOLE = Feature(
    "console", routes=_console_routes, jobs=_console_jobs, cli=("bot.commands.console", "bot.commands.org")
)


# behaviour events, rollups, funnels, sell-through (动销) and the weekly report
ANALYTICS = Feature(
    "analytics",
    setup=analytics.setup,
    routes=analytics.routes,
    jobs=analytics.jobs,
    cli=("bot.commands.analytics",),
    migrations=analytics.MIGRATIONS,
)

# journeys, profiles and tiers (issue 13): no chat router (退订 is membership's), jobs and CLI
AUTOMATION = Feature(
    "automation",
    jobs=automation.jobs,
    cli=("bot.commands.journeys",),
    migrations=automation.MIGRATIONS,
)

FEATURES: tuple[Feature, ...] = (
    WECHAT,
    MINIAPP,
    CORE,
    MEMBERSHIP,
    DISTRIBUTOR,
    CONTENT,
    REGIONAL,
    ORDERING,
    CONSOLE,
    ANALYTICS,
    AUTOMATION,
)
