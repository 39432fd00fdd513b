"""Changing the cart in words while a quote is shown: "删除 2", "不要飞天", "2改成3箱",
"飞天改成六瓶", "清空". Also the quantity helpers the order flow shares.

Edits answer with notes (``{"kind": ..., ...}``) that the quote template renders
(``cart_note.j2``); a quantity above the sanity limit becomes a question instead.
"""

from __future__ import annotations

import re

from bot.flows.kit import Kit, Turn
from bot.messages import Reply
from bot.ordering.interface import Ambiguity, Flag, ParsedLine, Unit
from bot.ordering.parser import OrderParser
from bot.ordering.tokens import Quantity, tokenize_gap
from bot.ordering.views import Cart, CartLine

_DROP_INDEX = re.compile(r"^(?:删除|删掉|去掉|不要|移除)\s*第?\s*(\d{1,2})\s*[个项行款]?$")
_DROP_NAME = re.compile(r"^(?:删除|删掉|去掉|不要|移除)\s*(.+)$")
_SET_INDEX = re.compile(r"^第?\s*(\d{1,2})\s*[个项行款]?\s*(?:改成|改为|换成|改)\s*(.+)$")
_SET_NAME = re.compile(r"^(.+?)\s*(?:改成|改为|换成)\s*(.+)$")
CLEAR = frozenset({"清空", "清空购物车", "全部删除", "都不要了"})


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


def _find(parser: OrderParser, cart: Cart, words: str) -> CartLine | None:
    result = parser.parse(words)
    skus = [li.sku for li in result.lines] + [s for a in result.ambiguous for s in a.candidates]
    skus += [s for u in result.unmatched for s in u.suggestions]
    return next((cart.line(s) for s in skus if cart.line(s) is not None), None)


def _indexed(cart: Cart, number: str) -> CartLine | None:
    index = int(number) - 1
    return cart.lines[index] if 0 <= index < len(cart.lines) else None


Note = dict


def is_edit(text: str) -> bool:
    text = text.strip()
    return text.lower() in CLEAR or any(
        r.match(text) for r in (_DROP_INDEX, _DROP_NAME, _SET_INDEX, _SET_NAME)
    )


async def apply(kit: Kit, turn: Turn) -> list[Note] | Reply | None:
    """Apply an edit to the cart and return notes saying what changed; None if ``turn.text`` is
    not an edit. An edit that names nothing in the cart returns a note saying so."""
    text = turn.text.strip()
    store = turn.binding.store
    if store is None or not text:
        return None
    carts = kit.runtime.carts
    if turn.word in CLEAR:
        await carts.clear(turn.tenant_id, turn.member_id)
        return [{"kind": "cleared"}]
    m_drop_i, m_drop_n = _DROP_INDEX.match(text), _DROP_NAME.match(text)
    m_set_i, m_set_n = _SET_INDEX.match(text), _SET_NAME.match(text)
    if not (m_drop_i or m_drop_n or m_set_i or m_set_n):
        return None
    cart = await carts.get(turn.tenant_id, turn.member_id)
    if cart is None or cart.empty:
        return [{"kind": "empty"}]
    parser = await kit.runtime.parser()
    if m_drop_i or m_drop_n:
        line = _indexed(cart, m_drop_i.group(1)) if m_drop_i else _find(parser, cart, m_drop_n.group(1))  # type: ignore[union-attr]
        if line is None:
            return [{"kind": "not_in_cart", "words": text}]
        await carts.remove(turn.tenant_id, turn.member_id, store.core_store_id, line.sku)
        return [{"kind": "removed", "name": line.name}]
    match = m_set_i or m_set_n
    assert match is not None
    line = _indexed(cart, match.group(1)) if m_set_i else _find(parser, cart, match.group(1))
    if line is None:
        return [{"kind": "not_in_cart", "words": text}]
    parsed = quantity_line(parser, line.sku, match.group(2))
    if parsed is None or parsed.bottles is None:
        return [{"kind": "bad_quantity", "words": match.group(2)}]
    if Flag.OVER_LIMIT in parsed.flags:
        from bot.flows import order  # the order flow asks quantity questions (and imports this module)

        return await order.ask(kit, turn, [order.quantity_question(parsed, replace=True)], [])
    new = cart_line(parser, parsed)
    await carts.set_line(turn.tenant_id, turn.member_id, store.core_store_id, new)
    if not new.total_bottles:
        return [{"kind": "removed", "name": line.name}]
    return [{"kind": "changed", **new.note()}]
