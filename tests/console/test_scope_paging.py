"""Keyset pagination: cursors round-trip and are validated; pages over a key with ties neither
repeat nor skip a row, on both databases."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from sqlalchemy import select

from bot.console.org import NodeSpec, apply_tree
from bot.console.org_models import OrgNode
from bot.console.repository_paging import BadQuery, check_limit, decode_cursor, encode_cursor, fetch_page
from bot.db import create_engine, session_factory, session_scope
from bot.tenancy.repository import get_or_create_tenant


@pytest.mark.parametrize(
    "key,kind",
    [
        (7, int),
        ("S-E1a", str),
        ("门店", str),
        (datetime(2026, 12, 6, 8, 0, tzinfo=timezone(timedelta(hours=8))), datetime),
    ],
)
def test_cursors_round_trip(key, kind):
    cursor = encode_cursor(key, 42)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    got, row_id = decode_cursor(cursor, kind)
    assert (got, row_id) == (key, 42)


def _raw(doc) -> str:  # type: ignore[no-untyped-def]
    return base64.urlsafe_b64encode(orjson.dumps(doc)).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor,kind,reason",
    [
        ("not base64 !", int, "malformed"),
        ("", int, "malformed"),
        ("A" * 600, int, "malformed"),
        (_raw({"i": 1}), int, "malformed"),
        (_raw(["i", 1]), int, "malformed"),
        (_raw(["i", "1", 2]), int, "malformed"),
        (_raw(["i", 1, "2"]), int, "malformed"),
        (_raw(["i", True, 2]), int, "malformed"),
        (_raw(["i", 1.5, 2]), int, "malformed"),
        (_raw(["t", "yesterday", 2]), datetime, "malformed"),
        (_raw(["t", "2026-12-06T08:00:00", 2]), datetime, "malformed"),  # naive
        (_raw(["s", "x", 2]), int, "wrong_list"),
        (encode_cursor(5, 5), str, "wrong_list"),
    ],
)
def test_bad_cursors_are_refused(cursor, kind, reason):
    with pytest.raises(BadQuery) as info:
        decode_cursor(cursor, kind)
    assert (info.value.field, info.value.reason) == ("cursor", reason)


def test_limits():
    assert check_limit(None) == 20 and check_limit("") == 20 and check_limit("100") == 100
    for bad, reason in (
        ("0", "out_of_range"),
        (101, "out_of_range"),
        ("-1", "out_of_range"),
        ("ten", "not_a_number"),
    ):
        with pytest.raises(BadQuery) as info:
            check_limit(bad)
        assert info.value.reason == reason


async def test_pages_over_a_key_with_ties_neither_repeat_nor_skip(db_url):
    engine = create_engine(db_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            tenant = (await get_or_create_tenant(session, "paging", "品牌")).id
            specs = [NodeSpec("region", 1, "R", "区", "/r1/", None)] + [
                NodeSpec(
                    "store",
                    n,
                    f"S{n:02d}",
                    f"店{n}",
                    f"/r1/s{n}/",
                    ("region", 1),
                    "上海" if n % 3 else "杭州",
                )
                for n in range(1, 24)
            ]
            await apply_tree(session, tenant, specs, now=datetime(2026, 12, 6, tzinfo=UTC))
        for descending in (False, True):
            seen, cursor, pages = [], None, 0
            while True:
                async with session_scope(session_factory(engine)) as session:
                    page = await fetch_page(
                        session,
                        select(OrgNode).where(OrgNode.tenant_id == tenant, OrgNode.kind == "store"),
                        key_col=OrgNode.city,
                        id_col=OrgNode.id,
                        key_type=str,
                        cursor=cursor,
                        limit=4,
                        descending=descending,
                        convert=lambda row: (row.OrgNode.city, row.OrgNode.id),
                        key_of=lambda row: (row.OrgNode.city, row.OrgNode.id),
                    )
                seen.extend(page.items)
                pages += 1
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            assert len(seen) == 23 and len(set(seen)) == 23 and pages == 6
            assert seen == sorted(seen, reverse=descending)
    finally:
        await engine.dispose()
