"""Shared field types and envelopes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

MAX_ID = 2**53 - 1  # safe in every JSON parser
MAX_FEN = 10**12  # ten billion yuan: far above any order, far below 64-bit overflow
MAX_BOTTLES = 1_000_000

# Text reaches PostgreSQL, which refuses NUL characters: rule them out in the contract itself.
NO_NUL = r"^[^\x00]*$"


def text(max_length: int, min_length: int = 0) -> StringConstraints:
    """The constraints of a text field, used as ``Annotated[str, text(200, 1)]``."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_NUL)


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Fen = Annotated[int, Field(ge=0, le=MAX_FEN, description="money in fen (分), an integer")]
Count = Annotated[int, Field(ge=0, le=MAX_BOTTLES)]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{5,20}$")]
Tier = Literal["strategic", "core", "potential"]
Category = Literal["白酒", "红酒", "精酿"]
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:/+=-]{1,200}$")]

_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    # Far-off years overflow timezone conversion and database ranges; no promotion needs them.
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be between 2000-01-01 and 2200-01-01") from None
    if not _EARLIEST <= value < _LATEST:
        raise ValueError("must be between 2000-01-01 and 2200-01-01")
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_in_range)]


class Model(BaseModel):
    """Request bodies ignore unknown fields; responses list every field they carry."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorDetail(Out):
    code: str = Field(description="stable machine code, e.g. out_of_stock (see docs/core-api.md)")
    message: str = Field(description="for humans and logs; never parse it")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(Out):
    error: ErrorDetail


class Health(Out):
    status: Literal["ok"] = "ok"


CursorStr = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class Cursor(Model):
    cursor: CursorStr | None = Field(default=None, description="next_cursor of the previous page")
    limit: int = Field(default=20, ge=1, le=100)
