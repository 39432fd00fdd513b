"""Monthly partitions of ``analytics_events`` on PostgreSQL (SQLite keeps one table).

Partitions live in their own schema (``analytics_parts``) so that schema comparisons of the
application's tables do not see them. A default partition catches rows outside the months made
so far; the job makes months ahead, so in practice it stays empty.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import Connection

SCHEMA = "analytics_parts"
PARENT = "analytics_events"


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_{month:%Y_%m}"


def create_statements(month: date) -> list[str]:
    """The DDL for the partition of ``month``, idempotent."""
    start, end = month_start(month), add_months(month_start(month), 1)
    return [
        f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
        f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{partition_name(start)} PARTITION OF public.{PARENT} "
        f"FOR VALUES FROM ('{start.isoformat()} 00:00:00+00') TO ('{end.isoformat()} 00:00:00+00')",
    ]


def default_statements() -> list[str]:
    return [
        f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
        f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{PARENT}_default PARTITION OF public.{PARENT} DEFAULT",
    ]


def existing(connection: Connection) -> set[str]:
    rows = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :parent"
        ),
        {"parent": PARENT},
    )
    return {r[0] for r in rows}


def ensure_months(connection: Connection, first: date, months: int) -> list[str]:
    """Create the partitions of ``months`` months from ``first``; returns those made now.

    A month whose rows already sit in the default partition is skipped (PostgreSQL refuses to
    attach over them); they stay queryable there and age out with the retention."""
    have = existing(connection)
    made = []
    for offset in range(months):
        month = add_months(month_start(first), offset)
        name = partition_name(month)
        if name in have:
            continue
        probe = connection.execute(
            text(
                f"SELECT 1 FROM {SCHEMA}.{PARENT}_default "
                "WHERE occurred_at >= :a AND occurred_at < :b LIMIT 1"
            ),
            {"a": f"{month.isoformat()} 00:00:00+00", "b": f"{add_months(month, 1).isoformat()} 00:00:00+00"},
        ).first()
        if probe is not None:
            continue
        for statement in create_statements(month):
            connection.execute(text(statement))
        made.append(name)
    return made


def droppable(connection: Connection, before: date) -> list[str]:
    """Month partitions that end on or before ``before`` (whole months past the retention)."""
    names = []
    for name in existing(connection):
        suffix = name.removeprefix(f"{PARENT}_")
        if suffix == "default":
            continue
        year, month = (int(x) for x in suffix.split("_"))
        if add_months(date(year, month, 1), 1) <= before:
            names.append(name)
    return sorted(names)
