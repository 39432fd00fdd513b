"""一键代发 (drop-ship): the store asks the core to send goods from its stock straight to one of
its customers. A short conversation, kept as one memo of the conversation (``regional:dropship``):

  「代发」             the products the store orders, numbered (from its recent orders)
  「2 6瓶」            product 2, 6 bottles
  「张三 13800138000 浙江省杭州市西湖区文三路90号」   the recipient
  「确认代发」          the core ships; the Idempotency-Key is the memo's id plus what is asked,
                      so WeChat's retries and a second 确认代发 reach the core as one request.

The mini-program posts the same request with its own ``request_key``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from backend_client import models as m
from backend_client.errors import CoreError

MEMO = "regional:dropship"
MEMO_SECONDS = 30 * 60
PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
PICK = re.compile(r"^(\d{1,2})\s*[x×*,，\s]\s*(\d{1,4})\s*(?:瓶)?$")
MAX_BOTTLES = 1000


class DropShipRefused(Exception):
    def __init__(self, reason: str, **data: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.data = data


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str


@dataclass
class Draft:
    """The conversation so far: ``step`` is pick, recipient, confirm or done."""

    id: str
    step: str
    products: list[Product]
    sku: str = ""
    name: str = ""
    bottles: int = 0
    recipient: dict[str, str] | None = None
    result: dict[str, str] | None = None  # the shipped drop-ship (step done)

    def encode(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @staticmethod
    def decode(raw: str | None) -> Draft | None:
        if not raw:
            return None
        doc = orjson.loads(raw)
        doc["products"] = [Product(**p) for p in doc.get("products", [])]
        return Draft(**doc)

    def key(self, store_id: int) -> str:
        """One request to the core per draft and content (a changed recipient is a new request)."""
        digest = hashlib.sha256(
            orjson.dumps([store_id, self.sku, self.bottles, self.recipient], option=orjson.OPT_SORT_KEYS)
        ).hexdigest()[:24]
        return f"jiubot:dropship:{self.id}:{digest}"


def parse_recipient(text: str) -> m.Recipient | None:
    """「张三 13800138000 浙江省杭州市西湖区文三路90号」 in any order around the phone number: the
    name is the short part, the address the long one. None when something is missing."""
    found = PHONE.search(text)
    if found is None:
        return None
    rest = [p.strip(" ，,;；:：") for p in (text[: found.start()], text[found.end() :])]
    parts = [p for piece in rest for p in re.split(r"[\s,，;；]+", piece) if p]
    parts = [p.removeprefix("收件人").removeprefix("地址").strip(":：") for p in parts]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return None
    name = min(parts, key=len)
    address = "".join(p for p in parts if p is not name)
    if not 1 <= len(name) <= 20 or len(address) < 5 or len(address) > 200:
        return None
    return m.Recipient(name=name, phone=found.group(1), address=address)


def parse_pick(text: str, draft: Draft) -> tuple[Product, int] | None:
    found = PICK.match(text.strip())
    if found is None:
        return None
    index, bottles = int(found.group(1)), int(found.group(2))
    if not 1 <= index <= len(draft.products) or not 1 <= bottles <= MAX_BOTTLES:
        return None
    return draft.products[index - 1], bottles


async def products(core: Any, store_id: int, *, recent_orders: int = 10, limit: int = 8) -> list[Product]:
    """The products of the store's recent orders, newest first (gifts left out)."""
    page = await core.orders.list_for_store(store_id, limit=recent_orders)
    seen: dict[str, Product] = {}
    for order in page.items:
        for line in order.lines:
            if not line.is_gift and line.sku not in seen and len(seen) < limit:
                seen[line.sku] = Product(line.sku, line.name)
    return list(seen.values())


def new_draft(found: list[Product]) -> Draft:
    return Draft(id=secrets.token_hex(8), step="pick", products=found)


async def ship(
    core: Any, store_id: int, sku: str, bottles: int, recipient: m.Recipient, *, key: str, note: str = ""
) -> m.DropShip:
    """The core's drop-ship under ``key``; its refusals become DropShipRefused with the numbers."""
    try:
        return await core.orders.drop_ship(store_id, sku, bottles, recipient, idempotency_key=key, note=note)
    except CoreError as exc:
        details = exc.details
        if exc.code == "out_of_stock":
            lines = details.get("lines") or [{}]
            raise DropShipRefused("out_of_stock", available=int(lines[0].get("available", 0))) from exc
        if exc.code in ("product_unavailable", "store_inactive", "not_found"):
            raise DropShipRefused(exc.code) from exc
        raise
