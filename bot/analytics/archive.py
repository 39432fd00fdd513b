"""Making, archiving and delivering weekly reports.

A report is one row per (tenant, week, scope) in ``analytics_reports`` (made again on demand:
same row, new figures) with its HTML and PDF under the archive folder. Region managers
(operators of a region) and distributors' staff get a service notice with a link of their own
(``links``: signed for them, expiring); each delivery is recorded once per (report, member):
sent, or unreachable with the reason, and can be revoked.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import structlog
from jinja2 import Environment
from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.analytics import render
from bot.analytics.interface import ReportRef
from bot.analytics.links import LINK_DAYS
from bot.analytics.models import ReportDelivery, WeeklyReport
from bot.analytics.report import Figures, Scope, weekly_figures
from bot.analytics.rollups import SHANGHAI, local_day, rollup_day
from bot.analytics.sellthrough import raise_slow_moving_alerts, week_start
from bot.db import insert_ignore, rowcount, session_scope
from bot.membership.models import Member, MemberIdentity, Store
from bot.ports import Purpose, PushNotifier, Recipient
from bot.tenancy.models import Tenant

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Made:
    ref: ReportRef
    figures: Figures
    html_path: Path
    pdf_path: Path | None


def _write(
    figures: Figures, brand: str, now: datetime, folder: Path, stem: str, with_pdf: bool
) -> tuple[Path, Path | None]:
    page = render.html(figures, brand=brand, generated=now.astimezone(SHANGHAI))
    folder.mkdir(parents=True, exist_ok=True)
    html_path = folder / f"{stem}.html"
    html_path.write_text(page, encoding="utf-8")
    pdf_path = None
    if with_pdf:
        pdf_path = folder / f"{stem}.pdf"
        pdf_path.write_bytes(render.pdf(page))
    return html_path, pdf_path


async def scopes_of(session: AsyncSession, tenant_id: int) -> list[Scope]:
    regions = set(
        (
            await session.scalars(select(Store.region_code).distinct().where(Store.tenant_id == tenant_id))
        ).all()
    )
    dists = set(
        (
            await session.scalars(
                select(Store.distributor_code).distinct().where(Store.tenant_id == tenant_id)
            )
        ).all()
    )
    return (
        [Scope()]
        + [Scope("region", r) for r in sorted(r for r in regions if r)]
        + [Scope("distributor", d) for d in sorted(d for d in dists if d)]
    )


async def make_report(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: int,
    week: str,
    scope: Scope,
    *,
    archive: Path,
    now: datetime,
    with_pdf: bool = True,
) -> Made:
    week_start(week)  # ValueError for a malformed week
    async with session_scope(sessions) as session:
        figures = await weekly_figures(session, tenant_id, week, scope)
        tenant = await session.get(Tenant, tenant_id)
        brand = tenant.name if tenant else ""
    stem = scope.kind if scope.kind == "tenant" else f"{scope.kind}-{scope.code}"
    # rendering (a PDF takes a second or two) and file writes run off the event loop
    html_path, pdf_path = await asyncio.to_thread(
        _write, figures, brand, now, archive / str(tenant_id) / week, stem, with_pdf
    )
    body = orjson.dumps(figures.as_json()).decode()
    async with session_scope(sessions) as session:
        await session.execute(
            insert_ignore(
                session,
                WeeklyReport.__table__,
                [
                    {
                        "tenant_id": tenant_id,
                        "week": week,
                        "scope": scope.kind,
                        "scope_code": scope.code,
                        "token": secrets.token_urlsafe(24),
                        "figures": body,
                        "html_path": str(html_path),
                        "pdf_path": str(pdf_path or ""),
                        "created_at": now,
                    }
                ],
                index_elements=["tenant_id", "week", "scope", "scope_code"],
            )
        )
        where = (
            WeeklyReport.tenant_id == tenant_id,
            WeeklyReport.week == week,
            WeeklyReport.scope == scope.kind,
            WeeklyReport.scope_code == scope.code,
        )
        await session.execute(
            update(WeeklyReport)
            .where(*where)
            .values(figures=body, html_path=str(html_path), pdf_path=str(pdf_path or ""), created_at=now)
        )
        row = (await session.execute(select(WeeklyReport).where(*where))).scalar_one()
        ref = ReportRef(row.id, week, scope.kind, scope.code, row.token, row.created_at)
    return Made(ref, figures, html_path, pdf_path)


def _recipients_of(tenant_id: int, scope: Scope) -> Select[Any] | None:
    """Region managers (operators of the region) or the distributor's staff, active."""
    if scope.kind == "region":
        who = select(Member.id).where(
            Member.tenant_id == tenant_id, Member.role == "operator", Member.region_code == scope.code
        )
    elif scope.kind == "distributor":
        who = select(Member.id).where(
            Member.tenant_id == tenant_id,
            Member.role == "distributor_staff",
            Member.distributor_code == scope.code,
        )
    else:
        return None
    return who.where(Member.status == "active")


async def recipients(
    session: AsyncSession, tenant_id: int, scope: Scope
) -> list[tuple[int, Recipient | None]]:
    """The scope's recipients with the identity to reach each (the Official Account one he
    follows with, else any), or None."""
    who = _recipients_of(tenant_id, scope)
    if who is None:
        return []
    members = list((await session.scalars(who.order_by(Member.id))).all())
    out: list[tuple[int, Recipient | None]] = []
    for member_id in members:
        identity = (
            await session.execute(
                select(MemberIdentity)
                .where(MemberIdentity.member_id == member_id)
                .order_by(MemberIdentity.following.desc(), MemberIdentity.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        out.append((member_id, Recipient(identity.appid, identity.openid, member_id) if identity else None))
    return out


async def may_open(session: AsyncSession, report: WeeklyReport, member_id: int) -> str | None:
    """Why ``member_id`` may not open ``report``'s pushed link any more (None: he may): it was
    never sent to him, it was revoked, or he is no longer a recipient of its scope."""
    delivery = (
        await session.execute(
            select(ReportDelivery).where(
                ReportDelivery.report_id == report.id, ReportDelivery.member_id == member_id
            )
        )
    ).scalar_one_or_none()
    if delivery is None or delivery.outcome != "sent":
        return "not_sent"
    if delivery.revoked_at is not None:
        return "revoked"
    who = _recipients_of(report.tenant_id, Scope(report.scope, report.scope_code))
    if who is None or await session.scalar(who.where(Member.id == member_id)) is None:
        return "not_recipient"
    return None


async def revoke(
    session: AsyncSession, tenant_id: int, report_id: int, member_id: int | None = None, *, now: datetime
) -> int:
    """Stop the pushed links of a report (one recipient's, or all); returns how many."""
    query = update(ReportDelivery).where(
        ReportDelivery.tenant_id == tenant_id,
        ReportDelivery.report_id == report_id,
        ReportDelivery.revoked_at.is_(None),
    )
    if member_id is not None:
        query = query.where(ReportDelivery.member_id == member_id)
    return rowcount(await session.execute(query.values(revoked_at=now)))


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    notifier: PushNotifier,
    texts: Environment,
    made: Made,
    tenant_id: int,
    *,
    link: Callable[[int], str],
) -> dict[str, int]:
    """A service notice with the link to each recipient of the report's scope; recorded once."""
    scope = made.figures.scope
    async with session_scope(sessions) as session:
        people = await recipients(session, tenant_id, scope)
        done = set(
            (
                await session.scalars(
                    select(ReportDelivery.member_id).where(ReportDelivery.report_id == made.ref.report_id)
                )
            ).all()
        )
    scope_name = render.labels()["scopes"][scope.kind] + (f" {scope.code}" if scope.code else "")
    template = texts.get_template("pushes/weekly_report.j2")
    tally = {"sent": 0, "unreachable": 0}
    for member_id, recipient in people:
        if member_id in done:
            continue
        if recipient is None:
            outcome, reason = "unreachable", "no_identity"
        else:
            text = template.render(
                title=render.labels()["title"],
                week=made.ref.week,
                scope_name=scope_name,
                scans=render.shown(made.figures.get("scans")),
                orders=render.shown(made.figures.get("orders")),
                link=link(member_id),
                days=LINK_DAYS,
            ).strip()
            delivery = await notifier.notify(
                recipient, Purpose.SERVICE, key=f"weekly-report:{made.ref.report_id}:{member_id}", text=text
            )
            outcome, reason = (
                ("sent", delivery.channel) if delivery.delivered else ("unreachable", delivery.reason)
            )
        tally[outcome] += 1
        async with session_scope(sessions) as session:
            await session.execute(
                insert_ignore(
                    session,
                    ReportDelivery.__table__,
                    [
                        {
                            "tenant_id": tenant_id,
                            "report_id": made.ref.report_id,
                            "member_id": member_id,
                            "outcome": outcome,
                            "reason": (reason or "")[:64],
                            "created_at": datetime.now(UTC),
                        }
                    ],
                    index_elements=["report_id", "member_id"],
                )
            )
    return tally


async def prepare_week(
    sessions: async_sessionmaker[AsyncSession], tenant_id: int, week: str, now: datetime
) -> None:
    """Roll up the week's days again (late events) and raise the week's slow-moving alerts."""
    first = week_start(week)
    for n in range(7):
        day = first + timedelta(days=n)
        if day <= local_day(now):
            await rollup_day(sessions, day, tenant_id=tenant_id)
    async with session_scope(sessions) as session:
        await raise_slow_moving_alerts(session, tenant_id, today=first + timedelta(days=6))
