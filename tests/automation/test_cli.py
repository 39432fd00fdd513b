"""`jiubot journeys ...` as an operator runs it: load (refusing a bad file with the reason),
defaults (versioned: the same text twice is one version), list, tick --at a chosen time,
status --json; `jiubot profiles refresh --at`."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

import orjson

from bot.automation.clock import SHANGHAI
from bot.db import create_engine, session_factory, session_scope
from bot.tenancy import repository as tenancy_repo
from tests.automation.world import World
from tests.test_cli import _run


def test_load_tick_and_status(tmp_path):
    assert _run(["db", "upgrade"], tmp_path).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsubject: store\ntrigger: {lapsed_days: 30}\nsteps:\n  - {action: coupon}\n")
    refused = _run(["journeys", "load", str(bad)], tmp_path)
    assert refused.returncode == 2 and "a coupon needs a campaign" in refused.stderr
    first = _run(["journeys", "defaults"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "win-back: version 1" in first.stdout and "affinity-jiangxiang: version 1" in first.stdout
    assert "version 1" in _run(["journeys", "defaults"], tmp_path).stdout  # unchanged: no new version
    listed = _run(["journeys", "list"], tmp_path).stdout
    assert "win-back\tv1\tstore\tlapsed 30d\tcoupon > message > tell-distributor > tag" in listed

    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'jiubot.sqlite3'}"
    at = datetime(2026, 12, 31, 10, 0, tzinfo=SHANGHAI)

    async def seed() -> None:
        engine = create_engine(url)
        async with session_scope(session_factory(engine)) as session:
            tenant = await tenancy_repo.tenant_by_slug(session, "default")
        await engine.dispose()
        world = await World(url, tenant_id=tenant.id).setup()
        await world.store("S9", distributor="D9")
        await world.order("S9", at - timedelta(days=35), sku="FT")
        await world.close()

    asyncio.run(seed())
    wrong = _run(["journeys", "tick", "--at", "next tuesday"], tmp_path)
    assert wrong.returncode != 0 and "not an ISO time" in wrong.stderr
    ticked = _run(["journeys", "tick", "--at", "2026-12-31T10:00+08:00"], tmp_path)
    assert ticked.returncode == 0, ticked.stderr
    assert "enrolled 1" in ticked.stdout
    refreshed = _run(["profiles", "refresh", "--at", "2026-12-31T09:00+08:00"], tmp_path)
    assert "1 stores" in refreshed.stdout and "1 tier changes" in refreshed.stdout
    status = _run(["journeys", "status", "--json"], tmp_path)
    assert status.returncode == 0, status.stderr
    # stdout is the JSON and nothing else; the start-up warnings (no core, derived code key) are
    # log lines on stderr
    assert status.stdout.startswith("[")
    assert "core" in status.stderr
    [report] = [r for r in orjson.loads(status.stdout) if r["journey"] == "win-back"]
    assert report["enrolled"] == 1
    arms = {k: v["enrolled"] for k, v in report["arms"].items()}
    assert sum(arms.values()) == 1
    if arms["treatment"]:
        # no core configured: the coupon step records why; no OA app: the owner is unreachable
        assert report["steps"]["coupon"] == {"failed": 1}
        assert report["unreachable"] == {"not_following": 1, "no_distributor": 1}
    else:
        assert report["steps"] == {}


def test_backtest_prints_the_share_with_and_without_the_festival_seasons(tmp_path):
    """Stores that stock up before 春节 every year, held out inside the 2026 rush: the command
    prints the seasonal figure and the plain rhythm's beside it."""
    import random

    from tests.automation.test_replenish import _seasonal_history

    assert _run(["db", "upgrade"], tmp_path).returncode == 0
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'jiubot.sqlite3'}"

    async def seed() -> None:
        engine = create_engine(url)
        async with session_scope(session_factory(engine)) as session:
            tenant = await tenancy_repo.get_or_create_tenant(session, "default", "默认品牌")
        await engine.dispose()
        world = await World(url, tenant_id=tenant.id).setup()
        rng = random.Random(3)
        orders = []
        for s in range(10):
            await world.store(f"S{s}", owner=False)
            until = datetime(2026, 2, 10, tzinfo=SHANGHAI)
            orders += [
                (c, at, 60_000, "FT")
                for c, _, at in _seasonal_history(rng, f"S{s}", until=until, festival="春节")
            ]
        await world.orders_bulk(orders)
        await world.close()

    asyncio.run(seed())
    done = _run(["profiles", "backtest"], tmp_path)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.strip().splitlines()
    assert first.startswith("replenishment backtest: 10/10 repeat stores (100%) within 7 days"), first
    figure = re.search(r"without seasonality \(春节, 中秋\): (\d+)/10", second)
    assert figure and int(figure.group(1)) <= 3, second
