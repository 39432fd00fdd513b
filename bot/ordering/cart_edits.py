"""Changing the cart in words while a quote is shown: "删除 2", "不要飞天", "2改成3箱",
"飞天改成六瓶", "清空"; and the rules that turn a parsed line into a cart line.

An edit answers with notes (``{"kind": ..., ...}``) that the quote template renders
(``cart_note.j2``); a quantity above the sanity limit is not applied but handed back as a line
to ask about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.ordering.cart import CartStore
from bot.ordering.interface import Ambiguity, Flag, ParsedLine, Unit
from bot.ordering.parser import OrderParser
from bot.ordering.tokens import Quantity, tokenize_gap
from bot.ordering.views import Cart, CartLine

_DROP_INDEX = re.compile(r"^(?:删除|删掉|去掉|不要|移除)\s*第?\s*(\d{1,2})\s*[个项行款]?$")
_DROP_NAME = re.compile(r"^(?:删除|删掉|去掉|不要|移除)\s*(.+)$")
_SET_INDEX = re.compile(r"^第?\s*(\d{1,2})\s*[个项行款]?\s*(?:改成|改为|换成|改)\s*(.+)$")
_SET_NAME = re.compile(r"^(.+?)\s*(?:改成|改为|换成)\s*(.+)$")
CLEAR = frozenset({"清空", "清空购物车", "全部删除", "都不要了"})

Note = dict[str, Any]  # values for cart_note.j2, which reads the keys its "kind" has


@dataclass(frozen=True, slots=True)
class Edited:
    """What an edit did: notes for the quote, or a line above the limit to ask about first."""

    notes: list[Note] = field(default_factory=list)
    ask: ParsedLine | None = None


def cart_line(parser: OrderParser, line: ParsedLine) -> CartLine:
    entry = parser.entry(line.sku)
    quantity = line.quantity or 0
    if line.unit == Unit.CASE:
        return CartLine(line.sku, entry.name, quantity, 0, entry.bottles_per_case)
    if line.unit == Unit.PACK:
        return CartLine(line.sku, entry.name, 0, quantity * entry.bottles_per_pack, entry.bottles_per_case)
    return CartLine(line.sku, entry.name, 0, quantity, entry.bottles_per_case)


def quantity_line(parser: OrderParser, sku: str, text: str) -> ParsedLine | None:
    """Read a bare quantity ("3箱", "六瓶", "10") as a line of ``sku``; None when there is none."""
    quantity = next((t for t in tokenize_gap(text) if isinstance(t, Quantity) and t.number is not None), None)
    if quantity is None:
        return None
    unit = quantity.unit
    amb = Ambiguity(
        text, (sku,), quantity.number, unit or Unit.CASE, unit_assumed=unit is None, half=quantity.half
    )
    return parser.resolve(amb, sku)


def _word(text: str) -> str:
    return text.strip().lower().rstrip("。.!！~")


def is_edit(text: str) -> bool:
    text = text.strip()
    edits = (_DROP_INDEX, _DROP_NAME, _SET_INDEX, _SET_NAME)
    return _word(text) in CLEAR or any(r.match(text) for r in edits)


def _find(parser: OrderParser, cart: Cart, words: str) -> CartLine | None:
    result = parser.parse(words)
    skus = [li.sku for li in result.lines] + [s for a in result.ambiguous for s in a.candidates]
    skus += [s for u in result.unmatched for s in u.suggestions]
    return next((cart.line(s) for s in skus if cart.line(s) is not None), None)


def _indexed(cart: Cart, number: str) -> CartLine | None:
    index = int(number) - 1
    return cart.lines[index] if 0 <= index < len(cart.lines) else None


async def apply(
    carts: CartStore, parser: OrderParser, tenant_id: int, member_id: int, core_store_id: int, text: str
) -> Edited | None:
    """Apply the edit ``text`` to the member's cart; None if it is not an edit. An edit that
    names nothing in the cart says so in a note and changes nothing."""
    text = text.strip()
    if not text:
        return None
    if _word(text) in CLEAR:
        await carts.clear(tenant_id, member_id)
        return Edited([{"kind": "cleared"}])
    m_drop_i, m_drop_n = _DROP_INDEX.match(text), _DROP_NAME.match(text)
    m_set_i, m_set_n = _SET_INDEX.match(text), _SET_NAME.match(text)
    if not (m_drop_i or m_drop_n or m_set_i or m_set_n):
        return None
    cart = await carts.get(tenant_id, member_id)
    if cart is None or cart.empty:
        return Edited([{"kind": "empty"}])
    if m_drop_i or m_drop_n:
        line = _indexed(cart, m_drop_i.group(1)) if m_drop_i else _find(parser, cart, m_drop_n.group(1))  # type: ignore[union-attr]
        if line is None:
            return Edited([{"kind": "not_in_cart", "words": text}])
        await carts.remove(tenant_id, member_id, core_store_id, line.sku)
        return Edited([{"kind": "removed", "name": line.name}])
    match = m_set_i or m_set_n
    assert match is not None
    line = _indexed(cart, match.group(1)) if m_set_i else _find(parser, cart, match.group(1))
    if line is None:
        return Edited([{"kind": "not_in_cart", "words": text}])
    parsed = quantity_line(parser, line.sku, match.group(2))
    if parsed is None or parsed.bottles is None:
        return Edited([{"kind": "bad_quantity", "words": match.group(2)}])
    if Flag.OVER_LIMIT in parsed.flags:
        return Edited(ask=parsed)
    new = cart_line(parser, parsed)
    await carts.set_line(tenant_id, member_id, core_store_id, new)
    if not new.total_bottles:
        return Edited([{"kind": "removed", "name": line.name}])
    return Edited([{"kind": "changed", **new.note()}])
