"""Keyset pagination and validated list parameters for every console list.

A cursor is the (sort key, id) of the last row shown, as URL-safe base64 of a small JSON array
tagged with the key's type. It is not signed: it only says where to resume, every query applies
the actor's tenant and subtree in SQL whatever the cursor says, so a forged cursor can skip rows
but never reveal one. It is validated: a malformed cursor, or one of another list's key type, is a
``BadQuery`` (the page answers 400 with a Chinese sentence, template key ``field.reason``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")
Key = int | str | datetime
# a mapped attribute (``Member.id``) or any column expression
Column = ColumnElement[Any] | QueryableAttribute[Any]

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_CURSOR = 512


class BadQuery(ValueError):
    """A list parameter a page must refuse: ``field`` and a machine ``reason`` (the Chinese text
    for people is the template's, keyed by both)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next_cursor: str | None


def check_limit(limit: int | str | None) -> int:
    if limit is None or limit == "":
        return DEFAULT_LIMIT
    try:
        value = int(limit)
    except (TypeError, ValueError):
        raise BadQuery("limit", "not_a_number") from None
    if not 1 <= value <= MAX_LIMIT:
        raise BadQuery("limit", "out_of_range")
    return value


def encode_cursor(key: Key, row_id: int) -> str:
    if isinstance(key, datetime):
        doc: list[Any] = ["t", key.astimezone(UTC).isoformat(), row_id]
    elif isinstance(key, bool) or not isinstance(key, int | str):
        raise TypeError(f"unsupported cursor key {key!r}")
    else:
        doc = ["i" if isinstance(key, int) else "s", key, row_id]
    return base64.urlsafe_b64encode(orjson.dumps(doc)).decode().rstrip("=")


def decode_cursor(cursor: str, key_type: type) -> tuple[Key, int]:
    """(key, id) of a cursor made by ``encode_cursor`` for a key of ``key_type``; else BadQuery."""
    if len(cursor) > MAX_CURSOR:
        raise BadQuery("cursor", "malformed")
    try:
        doc = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise BadQuery("cursor", "malformed") from None
    if not isinstance(doc, list) or len(doc) != 3 or type(doc[2]) is not int:
        raise BadQuery("cursor", "malformed")
    tag, value, row_id = doc
    tags = {int: "i", str: "s", datetime: "t"}
    if tag != tags.get(key_type):
        raise BadQuery("cursor", "wrong_list")
    key: Key
    if tag == "t":
        if not isinstance(value, str):
            raise BadQuery("cursor", "malformed")
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise BadQuery("cursor", "malformed") from None
        if when.tzinfo is None:
            raise BadQuery("cursor", "malformed")
        key = when
    elif (tag == "i" and type(value) is not int) or (tag == "s" and not isinstance(value, str)):
        raise BadQuery("cursor", "malformed")
    else:
        key = value
    return key, row_id


def after(key_col: Column, id_col: Column, key: Key, row_id: int, *, descending: bool) -> ColumnElement[bool]:
    """Rows strictly after (key, id) in the list's order."""
    if descending:
        return or_(key_col < key, and_(key_col == key, id_col < row_id))
    return or_(key_col > key, and_(key_col == key, id_col > row_id))


async def fetch_page(
    session: Any,
    stmt: Select[*tuple[Any, ...]],
    *,
    key_col: Column,
    id_col: Column,
    key_type: type,
    cursor: str | None,
    limit: int,
    descending: bool,
    convert: Callable[[Any], T],
    key_of: Callable[[Any], tuple[Key, int]],
) -> Page[T]:
    """Run ``stmt`` (already filtered by scope and search) from ``cursor``, ``limit`` rows, ordered by
    (key, id); ``key_of`` reads (key, id) off a result row, ``convert`` makes the view."""
    limit = check_limit(limit)
    if cursor:
        key, row_id = decode_cursor(cursor, key_type)
        stmt = stmt.where(after(key_col, id_col, key, row_id, descending=descending))
    order = (key_col.desc(), id_col.desc()) if descending else (key_col.asc(), id_col.asc())
    result = await session.execute(stmt.order_by(*order).limit(limit + 1))
    rows: Sequence[Any] = result.all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = tuple(convert(row) for row in rows)
    return Page(items, encode_cursor(*key_of(rows[-1])) if more and rows else None)
