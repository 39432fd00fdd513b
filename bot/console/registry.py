"""The console's page registry: each feature adds its pages and nav entries here, and the layout
builds the left nav from it (no feature edits the layout).

A feature module exposes ``register_pages(registry: ConsoleRegistry) -> None`` and is listed in
``bot.console.feature.CONSOLE_MODULES``; inside it calls ``registry.add(ConsolePage(...))`` for
each route. A page handler is ``async def handler(request, ctx: PageContext) -> web.StreamResponse``:
the wrapper has already checked the session, built the ``Actor``, checked the CSRF token of a
POST/PUT/PATCH/DELETE and that the role may ``permission`` somewhere (``policy.reach``). Record-level
checks (``can(actor, action, Resource(kind, tenant, path))``, 404 for another scope's id) stay the
handler's job, through the scoped repository."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.console.context import PageContext

Handler = Callable[[web.Request, "PageContext"], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ConsoleSection:
    """A group of the left nav (会员, 营销, 数据 ...)."""

    key: str
    title: str
    order: int = 100
    icon: str = "dot"  # a name from static/icons (see console.css: .icon-<name>)


@dataclass(frozen=True)
class ConsolePage:
    """One route of the console. ``path`` is below /console (``"/members/{member_id}"``);
    ``permission`` is (action, resource kind) of ``bot.console.policy``; a page with ``nav=True``
    appears in its section's menu for roles that have the permission somewhere."""

    title: str
    path: str
    section: str
    permission: tuple[str, str]
    handler: Handler = field(compare=False, repr=False)
    method: str = "GET"
    nav: bool = True
    order: int = 100
    name: str = ""  # route name (for url building); defaults to the path

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"console paths start with '/': {self.path!r}")
        if self.method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise ValueError(f"unknown method {self.method!r}")
        if self.nav and (self.method != "GET" or "{" in self.path):
            raise ValueError(f"only plain GET pages go in the nav: {self.path!r}")


@dataclass(frozen=True)
class NavItem:
    title: str
    href: str
    active: bool


@dataclass(frozen=True)
class NavGroup:
    title: str
    icon: str
    items: tuple[NavItem, ...]


DEFAULT_SECTIONS = (
    ConsoleSection("home", "概览", 10, "home"),
    ConsoleSection("members", "会员", 20, "user"),
    ConsoleSection("marketing", "营销", 30, "gift"),
    ConsoleSection("codes", "瓶码与防伪", 40, "qr"),
    ConsoleSection("stores", "门店与组织", 50, "shop"),
    ConsoleSection("content", "内容", 60, "doc"),
    ConsoleSection("data", "数据", 70, "chart"),
    ConsoleSection("system", "系统", 90, "gear"),
)


class ConsoleRegistry:
    def __init__(self, sections: tuple[ConsoleSection, ...] = DEFAULT_SECTIONS) -> None:
        self._sections: dict[str, ConsoleSection] = {s.key: s for s in sections}
        self._pages: list[ConsolePage] = []

    def section(self, section: ConsoleSection) -> None:
        """Add a nav group (an existing key is refused: sections belong to one owner)."""
        if section.key in self._sections:
            raise ValueError(f"console section {section.key!r} exists")
        self._sections[section.key] = section

    def add(self, page: ConsolePage) -> ConsolePage:
        if page.section not in self._sections:
            raise ValueError(f"unknown console section {page.section!r} of {page.path}")
        if any(p.path == page.path and p.method == page.method for p in self._pages):
            raise ValueError(f"console route {page.method} {page.path} is registered twice")
        self._pages.append(page)
        return page

    @property
    def pages(self) -> tuple[ConsolePage, ...]:
        return tuple(self._pages)

    def nav(self, allowed: Callable[[ConsolePage], bool], current_path: str, prefix: str) -> list[NavGroup]:
        """The left nav for one reader: sections in order, pages he may open, the current one active."""
        groups = []
        for section in sorted(self._sections.values(), key=lambda s: (s.order, s.key)):
            items = [
                NavItem(p.title, prefix + p.path, _is_current(prefix + p.path, current_path))
                for p in sorted(self._pages, key=lambda p: (p.order, p.path))
                if p.section == section.key and p.nav and allowed(p)
            ]
            if items:
                groups.append(NavGroup(section.title, section.icon, tuple(items)))
        return groups

    def crumbs_for(self, path: str) -> tuple[str, str] | None:
        """(section title, page title) of the nav page a path lies under, for breadcrumbs."""
        best: ConsolePage | None = None
        for page in self._pages:
            under = path == page.path or path.startswith(page.path.rstrip("/") + "/")
            if page.nav and under and (best is None or len(page.path) > len(best.path)):
                best = page
        if best is None:
            return None
        return self._sections[best.section].title, best.title


def _is_current(href: str, current: str) -> bool:
    if href.endswith("/"):
        return current == href
    return current == href or current.startswith(href + "/")
