"""The Official Account menu in the console: the tenant's edited layout (``console_menus``, one row
per app, the shipped ``menu.yaml`` until someone saves), checked by ``bot.ordering.menu`` exactly
as ``jiubot menu push`` checks the file, saved with a version check (two operators editing at once:
the second is told, nothing is overwritten) and pushed to WeChat after the commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import audit, form_tokens
from bot.console.models import MenuLayout
from bot.db import insert_ignore
from bot.ordering.menu import MenuInvalid, build_menu_text, default_layout

MAX_LAYOUT = 8000


class MenuRefused(Exception):
    def __init__(self, field: str, code: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code
        self.problems = problems


@dataclass(frozen=True)
class MenuState:
    layout: str
    version: int  # 0: never saved (the shipped layout)
    updated_by: str
    updated_at: datetime | None
    pushed_at: datetime | None


async def load(session: AsyncSession, tenant_id: int, appid: str) -> MenuState:
    row = await session.get(MenuLayout, (tenant_id, appid))
    if row is None:
        return MenuState(default_layout(), 0, "", None, None)
    return MenuState(row.layout, row.version, row.updated_by, row.updated_at, row.pushed_at)


def check(layout: str, values: dict[str, str]) -> list[dict[str, Any]]:
    """WeChat's ``button`` list of a layout, or MenuRefused with every problem found."""
    if not layout.strip() or len(layout) > MAX_LAYOUT:
        raise MenuRefused("layout", "menu_layout_size")
    try:
        return build_menu_text(layout, values, source="console")
    except MenuInvalid as exc:
        raise MenuRefused("layout", "menu_invalid", tuple(exc.problems)) from None


def parse_version(text: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        raise MenuRefused("layout", "form_expired")
    return int(text)


async def save(
    session: AsyncSession,
    who: audit.Who,
    appid: str,
    layout: str,
    *,
    version: int,
    form_token: str,
    origin: audit.Origin,
    now: datetime,
) -> int | None:
    """Store ``layout`` as the next version if the stored one is still ``version`` (else
    MenuRefused ``stale``, nothing written); None when this form already saved."""
    try:
        token = form_tokens.check(form_token)
    except form_tokens.TokenMissing:
        raise MenuRefused("layout", "form_expired") from None
    if not await form_tokens.claim(
        session, who.tenant_id, token, "menu.push", operator_id=who.operator_id, now=now
    ):
        return None
    before = await session.get(MenuLayout, (who.tenant_id, appid))
    previous = before.layout if before is not None else default_layout()
    if version == 0:
        stored = await session.execute(
            insert_ignore(
                session,
                MenuLayout.__table__,
                [{"tenant_id": who.tenant_id, "appid": appid, "layout": layout, "version": 1,
                  "updated_by": who.username[:64], "updated_at": now}],
                index_elements=["tenant_id", "appid"],
            ).returning(MenuLayout.version)
        )  # fmt: skip
    else:
        stored = await session.execute(
            update(MenuLayout)
            .where(
                MenuLayout.tenant_id == who.tenant_id,
                MenuLayout.appid == appid,
                MenuLayout.version == version,
            )
            .values(
                layout=layout,
                version=version + 1,
                updated_by=who.username[:64],
                updated_at=now,
                pushed_at=None,
            )
            .returning(MenuLayout.version)
            .execution_options(synchronize_session=False)
        )
    new_version = stored.scalar_one_or_none()
    if new_version is None:
        raise MenuRefused("layout", "stale")
    await audit.record(
        session,
        who,
        "menu.push",
        target_kind="wechat_app",
        target_id=appid,
        before={"version": version, "layout": previous},
        after={"version": new_version, "layout": layout},
        origin=origin,
        now=now,
    )
    return int(new_version)


async def mark_pushed(session: AsyncSession, tenant_id: int, appid: str, version: int, now: datetime) -> None:
    await session.execute(
        update(MenuLayout)
        .where(MenuLayout.tenant_id == tenant_id, MenuLayout.appid == appid, MenuLayout.version == version)
        .values(pushed_at=now)
        .execution_options(synchronize_session=False)
    )


async def current_version(session: AsyncSession, tenant_id: int, appid: str) -> int:
    found = await session.scalar(
        select(MenuLayout.version).where(MenuLayout.tenant_id == tenant_id, MenuLayout.appid == appid)
    )
    return int(found or 0)
