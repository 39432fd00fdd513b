"""Operator commands: catalog items, campaigns, the review queues, member suspension."""

from __future__ import annotations

import asyncio

from bot.cli import main
from tests.membership.test_batches import _seed_tenant


def test_rewards_campaigns_review_and_status(db_url, monkeypatch, capsys, redis_prefix):
    for name, value in {
        "JIUBOT_DATABASE_URL": db_url,
        "JIUBOT_SECRET_KEY": "test-secret-key-0123456789",
        "JIUBOT_REDIS_PREFIX": redis_prefix,
    }.items():
        monkeypatch.setenv(name, value)
    asyncio.run(_seed_tenant(db_url))
    assert (
        main(
            [
                "rewards",
                "add",
                "--catalog",
                "gift",
                "--name",
                "品鉴酒杯",
                "--points",
                "300",
                "--stock",
                "20",
                "--limit",
                "2",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "rewards",
                "add",
                "--catalog",
                "marketing",
                "--name",
                "门头灯箱",
                "--points",
                "5000",
                "--stock",
                "3",
            ]
        )
        == 0
    )
    assert main(["rewards", "list"]) == 0
    out = capsys.readouterr().out
    assert "品鉴酒杯\t300\tstock=20\tlimit=2" in out and "marketing\t门头灯箱" in out
    assert (
        main(
            [
                "codes",
                "campaign",
                "--name",
                "中秋双倍",
                "--percent",
                "200",
                "--start",
                "2026-09-15T00:00+08:00",
                "--end",
                "2026-10-08T00:00+08:00",
            ]
        )
        == 0
    )
    assert main(["rewards", "cancel", "--order", "999"]) == 2
    assert main(["codes", "review"]) == 0
    out = capsys.readouterr().out
    assert "# diversion alerts" in out and "# refused scans" in out and "# fraud flags" in out
