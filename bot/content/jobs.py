"""Periodic work of the content feature (each fire guarded once across processes by the
scheduler): the attribution sweep, T-15 livestream reminders, the radar digest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content import crediting, live
from bot.content.models import ContentItem, ContentShare, ContentView
from bot.content.runtime import ContentRuntime
from bot.db import session_scope, utcnow
from bot.membership.models import MemberIdentity
from bot.ports import Purpose, PushNotifier, Recipient
from bot.tenancy.models import Tenant

Render = Callable[..., str]
"""``services.text``: (template name, **values) -> the Chinese text."""


async def sweep_all(
    sessions: async_sessionmaker[AsyncSession], content: ContentRuntime, now: datetime | None = None
) -> int:
    async with session_scope(sessions) as session:
        tenants = list((await session.execute(select(Tenant.id))).scalars())
    made = 0
    for tenant_id in tenants:
        async with session_scope(sessions) as session:
            made += len(await crediting.sweep(session, tenant_id, content.rewards(tenant_id), now=now))
    async with session_scope(sessions) as session:  # orders of featured products after a live
        for show in await live.recent(session, now or utcnow()):
            made += await live.credit_orders(session, show, now)
    return made


async def replay(
    sessions: async_sessionmaker[AsyncSession],
    notifier: PushNotifier,
    content: ContentRuntime,
    tenant_id: int,
    live_id: int,
    replay_url: str,
    *,
    oa_appid: str,
    render: Render,
) -> dict[str, int]:
    """End the live and push its replay to every reservant once (same lawful channels)."""
    async with session_scope(sessions) as session:
        show = await live.end(session, tenant_id, live_id, replay_url)
    text = render("live_replay", title=show.title, link=replay_url)
    plan = live.PushPlan("replay", text, content.live_template_id, replay_url, oa_appid)
    return await live.push(sessions, notifier, show, plan)


async def remind(
    sessions: async_sessionmaker[AsyncSession],
    notifier: PushNotifier,
    content: ContentRuntime,
    *,
    oa_appid: str,
    base_url: str,
    render: Render,
    now: datetime | None = None,
) -> dict[str, int]:
    """Reminders for every live starting within 15 minutes, once per reservant."""
    now = now or utcnow()
    async with session_scope(sessions) as session:
        due = await live.due_for_reminder(session, now)
    totals = {"sent": 0, "unreachable": 0}
    for show in due:
        link = f"{base_url}/live/{show.id}"
        from zoneinfo import ZoneInfo

        when = f"{show.starts_at.astimezone(ZoneInfo('Asia/Shanghai')):%H:%M}"
        plan = live.PushPlan(
            "reminder",
            render("live_reminder", title=show.title, when=when, link=link),
            content.live_template_id,
            link,
            oa_appid,
        )
        counts = await live.push(sessions, notifier, show, plan, now=now)
        for k, v in counts.items():
            totals[k] += v
    return totals


async def digest(
    sessions: async_sessionmaker[AsyncSession],
    notifier: PushNotifier,
    *,
    oa_appid: str,
    render: Render,
    now: datetime | None = None,
    settle: timedelta = timedelta(minutes=2),
) -> int:
    """Views whose forwarder was not told live: one digest per forwarder when he can be reached
    (customer-service window only: the radar is never a template). Returns digests sent."""
    now = now or utcnow()
    async with session_scope(sessions) as session:
        rows = (
            await session.execute(
                select(
                    ContentView.id,
                    ContentShare.forwarder_id,
                    ContentItem.title,
                    ContentView.read_seconds,
                    ContentView.read_valid,
                )
                .join(ContentShare, ContentShare.id == ContentView.share_id)
                .join(ContentItem, ContentItem.id == ContentShare.item_id)
                .where(
                    ContentView.counted.is_(True),
                    ContentView.notified == "",
                    ContentView.opened_at < now - settle,
                )
                .order_by(ContentView.id)
                .limit(2000)
            )
        ).all()
    by_forwarder: dict[int, list] = {}
    for row in rows:
        by_forwarder.setdefault(row[1], []).append(row)
    sent = 0
    for forwarder, views in by_forwarder.items():
        async with session_scope(sessions) as session:
            openid = (
                await session.execute(
                    select(MemberIdentity.openid).where(
                        MemberIdentity.member_id == forwarder, MemberIdentity.appid == oa_appid
                    )
                )
            ).scalar_one_or_none()
        if openid is None:
            continue
        text = render(
            "content_digest",
            rows=[{"title": v[2], "seconds": v[3] if v[4] else 0} for v in views[:10]],
        )
        delivery = await notifier.notify(
            Recipient(oa_appid, openid, forwarder),
            Purpose.REPLY,
            key=f"radar-digest:{forwarder}:{views[-1][0]}",
            text=text,
        )
        if delivery.delivered:
            sent += 1
            async with session_scope(sessions) as session:
                await session.execute(
                    update(ContentView)
                    .where(ContentView.id.in_([v[0] for v in views]))
                    .values(notified="digest")
                    .execution_options(synchronize_session=False)
                )
    return sent


async def invite(
    sessions: async_sessionmaker[AsyncSession],
    notifier: PushNotifier,
    content: ContentRuntime,
    tenant_id: int,
    live_id: int,
    *,
    oa_appid: str,
    base_url: str,
    render: Render,
) -> dict[str, int]:
    """The invitation message to the live's audience, once per member (marketing: customer
    service inside the window, else a subscribe credit; never a template)."""
    from zoneinfo import ZoneInfo

    async with session_scope(sessions) as session:
        show = await live.get(session, tenant_id, live_id)
    if show is None:
        raise ValueError(f"no live {live_id}")
    link = f"{base_url}/live/{show.id}"
    when = f"{show.starts_at.astimezone(ZoneInfo('Asia/Shanghai')):%m月%d日 %H:%M}"
    text = render("live_invite", title=show.title, when=when, host=show.host, link=link)
    plan = live.PushPlan("invite", text, content.live_template_id, link, oa_appid)
    return await live.push(sessions, notifier, show, plan)
