"""The weekly report on a seeded week (2026-W49): its figures equal independent SQL counts of
scans, orders and followers; the PDF carries Chinese text; deliveries go out once, and an
unreachable manager is recorded."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import select, text

from bot.analytics import archive, sources
from bot.analytics.jobs import weekly
from bot.analytics.models import ReportDelivery, WeeklyReport
from bot.analytics.report import Scope, week_bounds, weekly_figures
from bot.db import session_scope
from bot.membership.code_models import CodeBatch, CodeRedemption
from bot.membership.models import Member, MemberIdentity, Store
from bot.ordering.models import OrderIntent, StoreLink
from bot.ports import RecordingPushNotifier
from bot.wiring.runtime import text_environment

WEEK = "2026-W49"
START, END = week_bounds(WEEK)  # Mon 2026-11-30 00:00 Shanghai = 11-29 16:00 UTC
APPID = "wxoa0000analytic"


def test_the_week_is_monday_to_monday_in_shanghai():
    assert datetime(2026, 11, 29, 16, 0, tzinfo=UTC) == START
    assert timedelta(days=7) == END - START


async def _seed(stack) -> dict[str, int]:
    tenant = stack.tenant_id
    inside = [START + timedelta(hours=h) for h in (1, 30, 70, 120, 167)]
    outside = [START - timedelta(minutes=1), END, END + timedelta(days=2), START - timedelta(days=3)]
    async with session_scope(stack.services.sessions) as session:
        east = Store(tenant_id=tenant, code="S-E", name="东店", region_code="EAST", distributor_code="D1")
        west = Store(tenant_id=tenant, code="S-W", name="西店", region_code="WEST", distributor_code="D2")
        session.add_all([east, west])
        await session.flush()
        session.add_all(
            [
                StoreLink(tenant_id=tenant, store_id=east.id, core_store_id=501, code="S-E"),
                StoreLink(tenant_id=tenant, store_id=west.id, core_store_id=502, code="S-W"),
            ]
        )
        people = []
        for n, when in enumerate(inside + outside):
            member = Member(tenant_id=tenant, created_at=when, store_id=east.id if n % 2 else west.id)
            session.add(member)
            await session.flush()
            people.append(member.id)
            session.add(
                MemberIdentity(
                    tenant_id=tenant,
                    member_id=member.id,
                    appid=APPID,
                    openid=f"o-{n}",
                    following=True,
                    subscribed_at=when,
                    unsubscribed_at=(when + timedelta(hours=2)) if n in (0, 5) else None,
                )
            )
        batch = CodeBatch(
            tenant_id=tenant, brand="示例", sku="FJ-53", product_name="飞酒53度", region_code="EAST", size=100
        )
        session.add(batch)
        await session.flush()
        for serial, when in enumerate(inside + inside[:3] + outside):
            session.add(
                CodeRedemption(
                    tenant_id=tenant,
                    batch_id=batch.id,
                    serial=serial,
                    member_id=people[serial % 4],
                    channel="mp",
                    scanned_at=when,
                    store_code="S-E",
                    region_code="EAST",
                )
            )
        for n, when in enumerate(inside + outside):
            for status in ("placed", "pending"):
                session.add(
                    OrderIntent(
                        tenant_id=tenant,
                        member_id=people[n % 3],
                        channel="chat" if n % 2 else "mp",
                        core_store_id=501 if n % 2 else 502,
                        idempotency_key=f"k{n}{status}",
                        body=orjson.dumps(
                            {"store_id": 501, "lines": [{"sku": "FJ-53", "cases": 1, "bottles": 2}]}
                        ).decode(),
                        status=status,
                        total_fen=10_000 * (n + 1),
                        created_at=when,
                        updated_at=END - timedelta(hours=1),
                    )
                )
    return {"members": len(people)}


async def _independent(stack) -> dict[str, int]:
    """Counts written straight in SQL, not through the report's code."""
    params = {"t": stack.tenant_id, "a": START, "b": END}
    async with session_scope(stack.services.sessions) as session:

        async def one(sql: str) -> int:
            return int((await session.execute(text(sql), params)).scalar() or 0)

        return {
            "scans": await one(
                "SELECT count(*) FROM code_redemptions "
                "WHERE tenant_id=:t AND scanned_at>=:a AND scanned_at<:b"
            ),
            "unique_scanners": await one(
                "SELECT count(DISTINCT member_id) FROM code_redemptions "
                "WHERE tenant_id=:t AND scanned_at>=:a AND scanned_at<:b"
            ),
            "orders": await one(
                "SELECT count(*) FROM ordering_order_intents WHERE tenant_id=:t AND status='placed' "
                "AND created_at>=:a AND created_at<:b"
            ),
            "chat_orders": await one(
                "SELECT count(*) FROM ordering_order_intents "
                "WHERE tenant_id=:t AND status='placed' AND channel='chat' "
                "AND created_at>=:a AND created_at<:b"
            ),
            "sales_fen": await one(
                "SELECT coalesce(sum(total_fen),0) FROM ordering_order_intents "
                "WHERE tenant_id=:t AND status='placed' "
                "AND created_at>=:a AND created_at<:b"
            ),
            "new_followers": await one(
                "SELECT count(*) FROM member_identities "
                "WHERE tenant_id=:t AND subscribed_at>=:a AND subscribed_at<:b"
            ),
            "unfollows": await one(
                "SELECT count(*) FROM member_identities "
                "WHERE tenant_id=:t AND unsubscribed_at>=:a AND unsubscribed_at<:b"
            ),
        }


async def _prepare(stack) -> None:
    runtime = stack.services.analytics
    await sources.emit_new(stack.services.sessions, runtime.stream, now=END)
    await stack.drain()
    await archive.prepare_week(stack.services.sessions, stack.tenant_id, WEEK, END + timedelta(days=1))


async def test_the_reports_figures_equal_independent_sql_counts(stack):
    await _seed(stack)
    await _prepare(stack)
    expected = await _independent(stack)
    assert (
        expected["scans"] == 8 and expected["orders"] == 5 and expected["new_followers"] == 5
    )  # the seed's story
    async with session_scope(stack.services.sessions) as session:
        figures = await weekly_figures(session, stack.tenant_id, WEEK)
    for key, value in expected.items():
        assert figures.get(key).value == value, key
    assert figures.get("net_growth").value == expected["new_followers"] - expected["unfollows"]
    assert figures.get("chat_order_share").value == pytest.approx(
        expected["chat_orders"] / expected["orders"]
    )
    assert figures.get("average_order_fen").value == pytest.approx(expected["sales_fen"] / expected["orders"])
    # the week before: the minute before Monday and three days before it
    assert (figures.get("scans").previous, figures.get("orders").previous) == (2, 2)
    assert len(figures.metrics) >= 20
    # from the rollups: 8 scans of FJ-53; 5 orders of 1 case + 2 bottles = 8 bottles each
    assert figures.top_skus == (("FJ-53", 40, 8),)
    assert sum(figures.daily.scans) == 8 and sum(figures.daily.orders) == 5


async def test_a_region_report_counts_only_its_region(stack):
    await _seed(stack)
    await _prepare(stack)
    async with session_scope(stack.services.sessions) as session:
        west = await weekly_figures(session, stack.tenant_id, WEEK, Scope("region", "WEST"))
        east = await weekly_figures(session, stack.tenant_id, WEEK, Scope("region", "EAST"))
        whole = await weekly_figures(session, stack.tenant_id, WEEK)
    assert west.get("scans").value == 0  # every bottle went to EAST
    assert east.get("scans").value == whole.get("scans").value
    assert (
        east.get("new_followers").value + west.get("new_followers").value == whole.get("new_followers").value
    )


async def test_the_pdf_renders_chinese(stack, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext (poppler-utils) is missing: run scripts/report-deps")
    await _seed(stack)
    await _prepare(stack)
    made = await archive.make_report(
        stack.services.sessions,
        stack.tenant_id,
        WEEK,
        Scope(),
        archive=tmp_path,
        now=END + timedelta(hours=8),
    )
    assert made.pdf_path is not None and made.pdf_path.read_bytes().startswith(b"%PDF")
    done = await asyncio.to_thread(
        subprocess.run,
        ["pdftotext", "-layout", str(made.pdf_path), "-"],
        capture_output=True,
        check=True,
        text=True,
    )
    out = done.stdout
    for words in ("私域运营报告", "开瓶扫码", "新增关注", "复购率", "2026-W49"):
        assert words in out, words
    html = made.html_path.read_text(encoding="utf-8")
    assert "<svg" in html and "私域运营报告" in html


async def test_the_monday_run_archives_pushes_managers_once_and_records_the_unreachable(stack, tmp_path):
    await _seed(stack)
    async with session_scope(stack.services.sessions) as session:
        manager = Member(tenant_id=stack.tenant_id, role="operator", region_code="EAST")
        lost = Member(tenant_id=stack.tenant_id, role="operator", region_code="EAST")  # no WeChat identity
        dist = Member(tenant_id=stack.tenant_id, role="distributor_staff", distributor_code="D2")
        session.add_all([manager, lost, dist])
        await session.flush()
        for member, openid in ((manager, "o-manager"), (dist, "o-dist")):
            session.add(
                MemberIdentity(
                    tenant_id=stack.tenant_id, member_id=member.id, appid=APPID, openid=openid, following=True
                )
            )
        ids = (manager.id, lost.id, dist.id)
    runtime = stack.services.analytics
    runtime.archive = tmp_path
    notifier = RecordingPushNotifier()
    monday = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    await sources.emit_new(stack.services.sessions, runtime.stream, now=END)
    await stack.drain()
    for _ in range(2):  # a second run (a retry) sends nothing again
        refs = await weekly(
            stack.services.sessions,
            runtime,
            notifier,
            text_environment(),
            base_url="https://j.example",
            now=monday,
        )
    assert {(r.week, r.scope, r.scope_code) for r in refs} == {
        (WEEK, "tenant", ""),
        (WEEK, "region", "EAST"),
        (WEEK, "region", "WEST"),
        (WEEK, "distributor", "D1"),
        (WEEK, "distributor", "D2"),
    }
    sent = [(r.openid, purpose, key) for r, purpose, key, _ in notifier.notified]
    assert sorted(o for o, _, _ in sent) == ["o-dist", "o-manager"]
    assert {p for _, p, _ in sent} == {"service"}
    body = notifier.notified[0][3]["text"]
    assert "私域运营报告" in body and "https://j.example/r/report/" in body
    async with session_scope(stack.services.sessions) as session:
        deliveries = {
            (d.member_id, d.outcome, d.reason) for d in (await session.scalars(select(ReportDelivery))).all()
        }
        reports = (await session.scalars(select(WeeklyReport))).all()
    assert deliveries == {
        (ids[0], "sent", "recorded"),
        (ids[1], "unreachable", "no_identity"),
        (ids[2], "sent", "recorded"),
    }
    assert len(reports) == 5
    # each recipient's link is his own (tests/analytics/test_report_links.py opens them); the
    # report's token alone opens nothing
    links = {r.openid: p["text"].split('href="')[1].split('"')[0] for r, _, _, p in notifier.notified}
    assert links["o-manager"] != links["o-dist"] and all("?g=" in link for link in links.values())
    east = next(r for r in reports if r.scope_code == "EAST")
    assert f"/r/report/{east.token}?g={ids[0]}." in links["o-manager"]
    assert (await stack.client.get(f"/r/report/{east.token}")).status == 403
    assert (await stack.client.get(f"/r/report/{east.token}.pdf")).status == 403
    assert (await stack.client.get("/r/report/" + "x" * 32)).status == 404


async def test_jiubot_report_weekly_prints_the_figures_and_writes_the_pdf(
    stack, tmp_path, monkeypatch, capsys
):
    from bot.cli import main

    await _seed(stack)
    settings = stack.services.settings
    for name, value in {
        "JIUBOT_DATABASE_URL": settings.database_url,
        "JIUBOT_REDIS_URL": settings.redis_url,
        "JIUBOT_REDIS_PREFIX": settings.redis_prefix,
        "JIUBOT_SECRET_KEY": settings.secret_key,
        "JIUBOT_REPORT_ARCHIVE_DIR": str(tmp_path / "archive"),
    }.items():
        monkeypatch.setenv(name, value)
    # the server-side events of the seeded week first, as the minute job would have emitted them
    await sources.emit_new(stack.services.sessions, stack.services.analytics.stream, now=END)
    await stack.drain()
    code = await asyncio.to_thread(main, ["report", "weekly", "--week", WEEK, "--region", "EAST"])
    assert code == 0
    printed = orjson.loads(capsys.readouterr().out)
    assert printed["scope"] == "region" and printed["scope_code"] == "EAST"
    assert printed["metrics"]["scans"]["value"] == (await _independent(stack))["scans"]
    out = tmp_path / "weekly.pdf"
    code = await asyncio.to_thread(
        main, ["report", "weekly", "--week", WEEK, "--format", "pdf", "--out", str(out)]
    )
    assert code == 0 and out.read_bytes().startswith(b"%PDF")


async def test_a_region_report_lists_its_slow_moving_store_and_a_transfer(stack, tmp_path):
    from bot.analytics import repository
    from bot.analytics.interface import Event
    from bot.analytics.rollups import local_day, rollup_day

    slow = await stack.store("S-SLOW", "EAST", "D1")
    busy = await stack.store("S-BUSY", "EAST", "D1")
    far = await stack.store("S-FAR", "WEST", "D2")
    six_weeks = START - timedelta(weeks=6)
    n = iter(range(10_000))

    def ev(name: str, store: int, when: datetime, quantity: int) -> Event:
        return Event(
            stack.tenant_id,
            f"t:{next(n)}",
            name,
            int(when.timestamp() * 1000),
            store_id=store,
            sku="FJ-53",
            quantity=quantity,
        )

    events = [ev("order_line", slow, six_weeks, 60), ev("order_line", far, six_weeks, 60)]
    events += [ev("order_line", busy, six_weeks + timedelta(days=d), 12) for d in (0, 21)]
    events += [ev("scan", busy, START + timedelta(days=1, minutes=k), 1) for k in range(22)]
    async with session_scope(stack.services.sessions) as session:
        await repository.store_events(session, events, received_at=START)
    for when in {e.occurred_at for e in events}:
        await rollup_day(stack.services.sessions, local_day(datetime.fromtimestamp(when / 1000, UTC)))
    made = await archive.make_report(
        stack.services.sessions,
        stack.tenant_id,
        WEEK,
        Scope("region", "EAST"),
        archive=tmp_path,
        now=END,
        with_pdf=False,
    )
    assert [(r.store, r.sku, r.ordered, r.scanned) for r in made.figures.slow_moving] == [
        ("门店S-SLOW", "FJ-53", 60, 0)
    ]
    assert [(t.from_store, t.to_store, t.quantity) for t in made.figures.transfers] == [
        ("门店S-SLOW", "门店S-BUSY", 12)
    ]
    page = made.html_path.read_text(encoding="utf-8")
    assert "滞销预警" in page and "门店S-SLOW" in page and "区域调拨建议" in page
    assert "门店S-FAR" not in page  # another region's slow store is not in EAST's report


async def test_pushes_unreachable_are_counted_by_reason(stack):
    from bot.messaging.outbound_models import OutboundMessage

    async with session_scope(stack.services.sessions) as session:
        for n, (status, reason) in enumerate(
            [
                ("sent", ""),
                ("undeliverable", "no_channel"),
                ("undeliverable", "no_channel"),
                ("refused", "43004"),
            ]
        ):
            session.add(
                OutboundMessage(
                    tenant_id=stack.tenant_id,
                    appid=APPID,
                    openid=f"o-{n}",
                    idempotency_key=f"k-{n}",
                    purpose="service",
                    kind="text",
                    status=status,
                    reason=reason,
                    created_at=START + timedelta(hours=n),
                )
            )
    async with session_scope(stack.services.sessions) as session:
        figures = await weekly_figures(session, stack.tenant_id, WEEK)
    assert figures.get("pushes_delivered").value == 1
    assert figures.get("pushes_unreachable").value == 3
    assert figures.unreachable == (("43004", 1), ("no_channel", 2))
