"""Every JSON body and query of the mini-program API, with its types and bounds (the same bounds
``openapi.yaml`` documents). Bodies are strict: a boolean is not an integer (``item_id: true`` is
refused), a number is not a string, integers are bounded (nothing past 64 bits reaches the
database or the JSON encoder), strings are length-capped. Queries are parsed from strings, with
the same bounds. Unknown fields are ignored.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_ID = 2**63 - 1  # ids are 64-bit in jiubot's database and the core's
MAX_VERSION = 2**31 - 1
MAX_FEN = 10**13  # a hundred billion yuan: any real total is below

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=0, le=MAX_VERSION)]
Fen = Annotated[int, Field(ge=0, le=MAX_FEN)]
Cases = Annotated[int, Field(ge=0, le=100_000)]
Bottles = Annotated[int, Field(ge=0, le=10_000_000)]
WxCode = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Cursor = Annotated[str, StringConstraints(max_length=200)]


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# login and session ----------------------------------------------------------------------------------
class LoginBody(Body):
    code: WxCode
    appid: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None


class PhoneBody(Body):
    code: WxCode


# membership -----------------------------------------------------------------------------------------
class ScanBody(Body):
    q: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    scancode_time: Annotated[int, Field(ge=0, le=2**40)] | None = None
    latitude: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None


class AgeBody(Body):
    confirm: Literal[True]


class PushBody(Body):
    opt_out: bool


class ClaimBody(Body):
    """``campaign`` is the core's campaign id, a number or its decimal string; it is read as the
    canonical decimal (``"004"`` -> ``"4"``) so one campaign has one spelling."""

    campaign: (
        Annotated[int, Field(ge=1, le=MAX_ID)]
        | Annotated[str, StringConstraints(min_length=1, max_length=19)]
    )

    @field_validator("campaign")
    @classmethod
    def _canonical(cls, value: int | str) -> str:
        if isinstance(value, str):
            if not value.isascii() or not value.isdigit():
                raise ValueError("campaign is a campaign id (digits)")
            value = int(value)
        if not 1 <= value <= MAX_ID:
            raise ValueError("campaign id out of range")
        return str(value)


class RewardsQuery(Query):
    catalog: Literal["gift", "marketing"] = "gift"


class RedeemBody(Body):
    item_id: Id
    quantity: Annotated[int, Field(ge=1, le=10)] = 1
    request_id: Annotated[str, StringConstraints(min_length=8, max_length=64)]


# ordering -------------------------------------------------------------------------------------------
class BindBody(Body):
    code: WxCode
    store_id: Id | None = None


class CatalogQuery(Query):
    q: Annotated[str, StringConstraints(max_length=100)] | None = None
    cursor: Cursor | None = None
    limit: Annotated[int, Field(ge=1, le=50)] = 20


class LineBody(Body):
    """A cart line change: ``sku`` (POST only; PUT names it in the path), ``cases`` and
    ``bottles``; ``confirm`` accepts a quantity above the sanity limit (never above the ceiling)."""

    sku: Sku | None = None
    cases: Cases = 0
    bottles: Bottles = 0
    version: Version | None = None
    confirm: bool = False


class VersionQuery(Query):
    version: Version | None = None


class CartTextBody(Body):
    text: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class QuoteBody(Body):
    version: Version | None = None


class PlaceBody(Body):
    version: Version
    expected_total_fen: Fen
    coupon_claim_id: Id | None = None
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class CursorQuery(Query):
    cursor: Cursor | None = None
