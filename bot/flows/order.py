"""Free-text order flow: "飞天 2箱 普五3件", "茅台王子两箱，国窖1573 六瓶", "mt 1箱" ...

Lines the parser read with certainty go into the cart at once. What it could not settle becomes a
queue of questions asked one at a time; when the queue is empty the cart is quoted (checkout).

States (diagram: order.mmd), routed by the handlers' ``state_is`` filters:
  Order:choose    a mention fits several products, or an unknown one has suggestions: numbered
                  choices (a msgmenu when the reach budget allows) -> "2", a tapped item
                  (``answer_choice``), "跳过" (``skip``)
  Order:quantity  a line without a quantity, or above the sanity limit: "确认" keeps it, a
                  quantity ("3箱", "六瓶") replaces it (``answer_quantity``), "跳过" drops it
                  (``skip``) -- never assumed

Another order text inside the flow adds its lines and questions; anything else gets a hint.
``edit_or_add`` is what a text does to a quoted cart (checkout.mmd): an edit or more products.

Imports point one way: order -> checkout -> kit; the cart rules are in ``bot.ordering``.
"""

from __future__ import annotations

from typing import Any

from bot.flows import checkout
from bot.flows.kit import YES, Kit, Turn, pick
from bot.messages import Reply
from bot.ordering import cart_edits
from bot.ordering.cart_edits import Note, cart_line, quantity_line
from bot.ordering.interface import Ambiguity, Flag, ParsedLine, ParseResult, Unit
from bot.ordering.parser import OrderParser

CHOOSE = "Order:choose"
QUANTITY = "Order:quantity"
SKIP = frozenset({"跳过", "不要", "不要了", "算了", "都不是", "没有"})
MAX_CHOICES = 8

Question = dict[str, Any]


def quantity_question(line: ParsedLine, *, replace: bool = False) -> Question:
    return {
        "kind": "quantity",
        "sku": line.sku,
        "name": line.name,
        "text": line.text,
        "quantity": line.quantity,
        "unit": line.unit.value if line.unit else None,
        "bottles": line.bottles,
        "flags": [f.value for f in line.flags],
        "replace": replace,
    }


def _choice_question(
    kind: str,
    text: str,
    candidates: tuple[str, ...],
    quantity: int | None,
    unit: Unit | None,
    *,
    assumed: bool = False,
    half: bool = False,
) -> Question:
    return {
        "kind": kind,
        "text": text,
        "candidates": list(candidates[:MAX_CHOICES]),
        "quantity": quantity,
        "unit": unit.value if unit else None,
        "assumed": assumed,
        "half": half,
    }


async def take(kit: Kit, turn: Turn, result: ParseResult) -> Reply:
    """Start (or continue) an order from a parsed message."""
    parser = await kit.runtime.parser(turn.tenant_id)
    questions, notes = await _absorb(kit, turn, parser, result)
    record = await kit.record(turn)
    if record is not None and record.flow == "Order":
        questions = [*questions, *record.data.get("queue", [])]
    return await ask(kit, turn, questions, notes)


async def _absorb(
    kit: Kit, turn: Turn, parser: OrderParser, result: ParseResult
) -> tuple[list[Question], list[Note]]:
    store = turn.binding.store
    assert store is not None
    questions: list[Question] = []
    notes: list[Note] = []
    ready = []
    for line in result.lines:
        if line.needs_confirmation:
            questions.append(quantity_question(line))
        else:
            ready.append(cart_line(parser, line))
    for amb in result.ambiguous:
        questions.append(
            _choice_question(
                "choose",
                amb.text,
                amb.candidates,
                amb.quantity,
                amb.unit,
                assumed=amb.unit_assumed,
                half=amb.half,
            )
        )
    for unknown in result.unmatched:
        if unknown.suggestions:
            questions.append(
                _choice_question("suggest", unknown.text, unknown.suggestions, unknown.quantity, unknown.unit)
            )
        else:
            notes.append({"kind": "unknown", "words": unknown.text, "reason": unknown.reason})
    if ready:
        await kit.runtime.carts.add(turn.tenant_id, turn.member_id, store.core_store_id, ready)
        notes.append({"kind": "added", "lines": [li.note() for li in ready]})
    return questions, notes


async def ask(kit: Kit, turn: Turn, questions: list[Question], notes: list[Note]) -> Reply:
    """Ask the first open question, or quote the cart when none is left."""
    if not questions:
        return await checkout.present(kit, turn, notes=notes)
    record = await kit.record(turn)
    serial = (record.data.get("serial", 0) if record and record.flow == "Order" else 0) % 99 + 1
    first = questions[0]
    state = QUANTITY if first["kind"] == "quantity" else CHOOSE
    # notes are shown once, in this reply; the state keeps only what is still to be asked
    await kit.go(turn, state, {"queue": questions, "serial": serial}, previous=record)
    parser = await kit.runtime.parser(turn.tenant_id)
    if first["kind"] == "quantity":
        return kit.say(
            "order_ask_quantity", q=first, notes=notes, over=Flag.OVER_LIMIT.value in first["flags"]
        )
    labels = _labels(parser, first)
    head = kit.render("order_choose_head", q=first, notes=notes)
    tail = kit.render("order_choose_tail", q=first)
    items = [(str(serial * 100 + n), label) for n, label in enumerate(labels, 1)]
    return kit.choices(turn, head, items, tail)


def _labels(parser: OrderParser, question: Question) -> list[str]:
    return [parser.entry(sku).name for sku in question["candidates"]]


async def skip(kit: Kit, turn: Turn, record: Any) -> Reply:
    """ "跳过" in Order:choose or Order:quantity: drop the open question, ask the next one."""
    queue: list[Question] = list(record.data.get("queue", []))
    if not queue:
        return await checkout.present(kit, turn)
    question = queue[0]
    return await ask(
        kit, turn, queue[1:], [{"kind": "skipped", "words": question.get("name") or question["text"]}]
    )


async def answer_quantity(kit: Kit, turn: Turn, record: Any) -> Reply:
    """A text in Order:quantity: a quantity, or "确认" for a line above the limit."""
    queue: list[Question] = list(record.data.get("queue", []))
    if not queue:
        return await checkout.present(kit, turn)
    parser = await kit.runtime.parser(turn.tenant_id)
    return await _answered(kit, turn, record, parser, queue, _answer_quantity(parser, queue[0], turn))


async def answer_choice(kit: Kit, turn: Turn, record: Any) -> Reply:
    """A text in Order:choose: "2", a tapped msgmenu item, the product's name."""
    queue: list[Question] = list(record.data.get("queue", []))
    if not queue:
        return await checkout.present(kit, turn)
    parser = await kit.runtime.parser(turn.tenant_id)
    question = queue[0]
    index = pick(turn, _labels(parser, question), record.data.get("serial", 0))
    line = _answer_choice(parser, question, index) if index is not None else None
    return await _answered(kit, turn, record, parser, queue, line)


async def _answered(
    kit: Kit,
    turn: Turn,
    record: Any,
    parser: OrderParser,
    queue: list[Question],
    line: ParsedLine | None,
) -> Reply:
    question, rest = queue[0], queue[1:]
    notes: list[Note] = []
    if line is None:
        # not an answer: another order text adds to the queue, anything else gets a hint
        result = parser.parse(turn.text)
        if result.is_order:
            more, more_notes = await _absorb(kit, turn, parser, result)
            return await ask(kit, turn, [question, *more, *rest], [*notes, *more_notes])
        return kit.say("order_hint", state=record.state, q=question)
    if line.needs_confirmation:
        return await ask(
            kit, turn, [quantity_question(line, replace=question.get("replace", False)), *rest], notes
        )
    store = turn.binding.store
    assert store is not None
    new = cart_line(parser, line)
    carts = kit.runtime.carts
    if question.get("replace"):
        await carts.set_line(turn.tenant_id, turn.member_id, store.core_store_id, new)
        notes.append({"kind": "changed", **new.note()})
    else:
        await carts.add(turn.tenant_id, turn.member_id, store.core_store_id, [new])
        notes.append({"kind": "added", "lines": [new.note()]})
    return await ask(kit, turn, rest, notes)


async def edit_or_add(kit: Kit, turn: Turn) -> Reply | None:
    """A cart edit, or more products: either changes the cart and quotes again; None when the
    text is neither."""
    store = turn.binding.store
    assert store is not None
    parser = await kit.runtime.parser(turn.tenant_id)
    edited = await cart_edits.apply(
        kit.runtime.carts, parser, turn.tenant_id, turn.member_id, store.core_store_id, turn.text
    )
    if edited is not None and edited.ask is not None:
        return await ask(kit, turn, [quantity_question(edited.ask, replace=True)], [])
    if edited is not None:
        return await checkout.present(kit, turn, notes=edited.notes)
    parsed = parser.parse(turn.text)
    if parsed.is_order:
        return await take(kit, turn, parsed)
    return None


def _answer_quantity(parser: OrderParser, question: Question, turn: Turn) -> ParsedLine | None:
    if turn.word in YES and question["quantity"] and Flag.OVER_LIMIT.value in question["flags"]:
        # confirmed as said: the same line without the limit flag
        flags = tuple(Flag(f) for f in question["flags"] if f != Flag.OVER_LIMIT.value)
        return ParsedLine(
            question["sku"],
            question["name"],
            question["quantity"],
            Unit(question["unit"]),
            question["bottles"],
            question["text"],
            flags,
        )
    line = quantity_line(parser, question["sku"], turn.text)
    if line is not None and Flag.OVER_LIMIT in line.flags and line.bottles == question.get("bottles"):
        return ParsedLine(
            line.sku,
            line.name,
            line.quantity,
            line.unit,
            line.bottles,
            line.text,
            tuple(f for f in line.flags if f != Flag.OVER_LIMIT),
        )
    return line


def _answer_choice(parser: OrderParser, question: Question, index: int) -> ParsedLine:
    sku = question["candidates"][index]
    unit = Unit(question["unit"]) if question["unit"] else None
    amb = Ambiguity(
        question["text"],
        tuple(question["candidates"]),
        question["quantity"],
        unit,
        unit_assumed=question["assumed"],
        half=question["half"],
    )
    return parser.resolve(amb, sku)
