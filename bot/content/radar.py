"""The radar's live notice: the forwarder hears, in chat, that someone just opened his material.

Sent by the view writer right after it stored the views (within a second or two of the open),
at most one a minute per share (the page claims the minute); only while his customer-service
window is open (a reply-purpose push), else the views reach him in the digest (``jobs.digest``).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content.models import ContentItem, ContentShare, ContentView
from bot.content.views import Opened
from bot.db import session_scope
from bot.membership.models import MemberIdentity
from bot.ports import Purpose, PushNotifier, Recipient

Render = Callable[..., str]


async def announce(
    sessions: async_sessionmaker[AsyncSession],
    notifier: PushNotifier,
    render: Render,
    oa_appid_of: Callable[[int], str | None],
    opened: list[Opened],
) -> int:
    """Notify each view's forwarder (keyed by the view: a retried batch notifies once)."""
    sent = 0
    for view in opened:
        appid = oa_appid_of(view.tenant_id)
        if appid is None:
            continue
        async with session_scope(sessions) as session:
            openid = (
                await session.execute(
                    select(MemberIdentity.openid).where(
                        MemberIdentity.member_id == view.forwarder_id, MemberIdentity.appid == appid
                    )
                )
            ).scalar_one_or_none()
            title = (
                await session.execute(
                    select(ContentItem.title)
                    .join(ContentShare, ContentShare.item_id == ContentItem.id)
                    .where(ContentShare.id == view.share_id)
                )
            ).scalar_one_or_none()
        if openid is None or title is None:  # he never followed the Official Account
            continue
        delivery = await notifier.notify(
            Recipient(appid, openid, view.forwarder_id),
            Purpose.REPLY,
            key=f"radar:{view.view_id}",
            text=render("content_radar", title=title),
        )
        if delivery.delivered:
            sent += 1
            async with session_scope(sessions) as session:
                await session.execute(
                    update(ContentView)
                    .where(ContentView.id == view.view_id)
                    .values(notified="live")
                    .execution_options(synchronize_session=False)
                )
    return sent
