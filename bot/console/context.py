"""``PageContext``: what a console page handler gets besides the request (built per request by
``bot.console.webapp`` once the session, the operator and the CSRF token are checked)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.console.accounts import OperatorView
from bot.console.audit import Origin, Who
from bot.console.policy import Actor, Reach, reach
from bot.console.registry import ConsolePage, NavGroup
from bot.console.runtime import PREFIX, ConsoleRuntime
from bot.console.sessions import ConsoleSession
from bot.services import Services

if TYPE_CHECKING:
    from backend_client import CoreClient


@dataclass(frozen=True)
class PageContext:
    actor: Actor
    operator: OperatorView
    session: ConsoleSession
    runtime: ConsoleRuntime
    origin: Origin
    tenant_name: str

    @property
    def db(self) -> async_sessionmaker[AsyncSession]:
        return self.runtime.services.sessions

    @property
    def services(self) -> Services:
        return self.runtime.services

    async def core(self) -> CoreClient | None:
        """The core of the operator's tenant (its own, or the process-wide default)."""
        return await self.services.cores.client(self.actor.tenant_id)

    @property
    def who(self) -> Who:
        return Who(
            self.actor.tenant_id,
            self.operator.id,
            self.operator.username,
            self.actor.scope.kind,
            self.actor.scope.core_id,
        )

    def may(self, action: str, resource_kind: str) -> bool:
        """Does the role have ``action`` on ``resource_kind`` anywhere (buttons, nav)?"""
        return reach(self.actor.role, action, resource_kind) is not Reach.NONE

    def nav(self, current_path: str) -> list[NavGroup]:
        def allowed(page: ConsolePage) -> bool:
            return self.may(*page.permission)

        return self.runtime.registry.nav(allowed, current_path, PREFIX)

    def render(
        self,
        request: web.Request,
        template: str,
        *,
        status: int = 200,
        title: str = "",
        crumbs: tuple[tuple[str, str], ...] = (),
        **values: Any,
    ) -> web.Response:
        """A page in the layout: nav, top bar, breadcrumbs (``(title, href)``; "" for the last)."""
        if not crumbs:
            found = self.runtime.registry.crumbs_for(request.path.removeprefix(PREFIX) or "/")
            crumbs = ((found[0], ""), (found[1], "")) if found else ((title, ""),)
        response = aiohttp_jinja2.render_template(
            f"console/{template}",
            request,
            {
                "ctx": self,
                "nav": self.nav(request.path),
                "title": title,
                "crumbs": crumbs,
                "csrf": self.session.csrf,
                "prefix": PREFIX,
                **values,
            },
            status=status,
        )
        return response
