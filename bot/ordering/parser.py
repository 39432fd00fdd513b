"""``OrderParser(catalog).parse(text) -> ParseResult``: how jiubot reads a store owner's order.

Steps: normalize; find product names with the catalog index FIRST (so 五粮液 is never read as
5粮液); read the gaps between them (quantities, units, 53度/1L, separators, filler); give the
leftovers to the typo matcher; merge "茅台 飞天" into one mention; pair products with quantities;
resolve each mention to one product (a line), several (an ambiguity), or none (unmatched).

A number without a unit is read as cases (箱/件): distributors sell to stores by the case and
their salesmen assume it; the line is flagged ``unit_assumed`` so the confirmation shows
"2箱（24瓶）" before anything is ordered. A product without a quantity is never given one.
"""

from __future__ import annotations

import re

from bot.ordering import lexicon
from bot.ordering.fuzzy import FuzzyMatcher
from bot.ordering.interface import (
    Ambiguity,
    Catalog,
    CatalogEntry,
    Flag,
    ParsedLine,
    ParseLimits,
    ParseResult,
    Unit,
    Unmatched,
)
from bot.ordering.matching import CatalogIndex, normalize
from bot.ordering.mentions import MentionReader
from bot.ordering.pairing import Item, Product, attach_specs, pair
from bot.ordering.tokens import Quantity, Spec

DEFAULT_UNIT = Unit.CASE
DOZEN = 12
# "多少钱一瓶" names a unit of price, not a quantity to order
_PRICE_UNIT_RE = re.compile(
    r"(?:多少钱|什么价|啥价|怎么卖)\s*(?:一|每)\s*[箱件提瓶支个罐听]"
    r"|(?:一|每)\s*[箱件提瓶支个罐听]\s*(?:多少钱|什么价|啥价)"
)
MAX_TEXT = 500  # a chat message is short; anything longer is cut rather than scanned for seconds


class OrderParser:
    def __init__(self, catalog: Catalog, limits: ParseLimits | None = None) -> None:
        self.catalog = catalog
        self.limits = limits or ParseLimits()
        self.index = CatalogIndex(catalog)
        self.fuzzy = FuzzyMatcher(self.index)
        self.mentions = MentionReader(self.index, self.fuzzy)

    def entry(self, sku: str) -> CatalogEntry:
        return self.index.entry(sku)

    # ------------------------------------------------------------------------------------
    def parse(self, text: str) -> ParseResult:
        norm = lexicon.LIST_NUMBER_RE.sub(" ", normalize(text[:MAX_TEXT]))
        if lexicon.AFTER_SALES_RE.search(norm):
            return ParseResult(text, topic="after_sales")
        question = bool(lexicon.QUESTION_RE.search(norm))
        if question:
            norm = _PRICE_UNIT_RE.sub(" ", norm)
        said, notes = self.mentions.read(norm)
        items = self.mentions.tidy(said, notes)
        attach_specs(items)
        said_units = any(isinstance(it, Quantity) and it.unit for it in items)
        if question and not said_units:
            return self._question(text, items)
        if not said_units and lexicon.TRACKING_RE.search(norm):
            return ParseResult(text, topic="tracking")
        pair(items)
        self.mentions.refine(items)
        products = [it for it in items if isinstance(it, Product) and not it.dropped]
        ordering = any(p.info is not None and p.strong for p in products) or any(
            isinstance(it, Quantity) and it.unit is not None for it in items
        )
        lines: list[ParsedLine] = []
        ambiguous: list[Ambiguity] = []
        unmatched: list[Unmatched] = []
        asked: list[Product] = []
        if question:  # "飞天3箱 顺便问下普五什么价": the product without a quantity is the one asked about
            asked = [p for p in products if p.qty is None and p.info is not None]
            products = [p for p in products if p not in asked]
        for p in products:
            if p.info is None or (not p.strong and p.qty is None):
                self._unknown(p, ordering, unmatched, notes)
            else:
                self._resolve(p, lines, ambiguous, unmatched)
        notes.extend(q.text for q in items if isinstance(q, Quantity) and not q.claimed and products)
        return ParseResult(
            text, tuple(lines), tuple(ambiguous), tuple(unmatched), tuple(notes), question=question,
            asked=self._asked(asked) if question else (),
        )  # fmt: skip

    def _question(self, text: str, items: list[Item]) -> ParseResult:
        named = [p for p in items if isinstance(p, Product) and p.info is not None and p.strong]
        return ParseResult(text, question=True, asked=self._asked(named))

    def _asked(self, products: list[Product]) -> tuple[str, ...]:
        asked: list[str] = []
        for p in products:
            assert p.info is not None
            cands = list(p.info.candidates)
            if p.specs:
                cands = self._by_spec(cands, p.info.scope, p.specs)
            asked.extend(s for s in cands if self.entry(s).active)
        return tuple(dict.fromkeys(asked))

    def resolve(self, ambiguity: Ambiguity, sku: str) -> ParsedLine:
        """The line the store owner meant once he picked ``sku`` from the numbered choices."""
        qty = None
        if ambiguity.quantity is not None or ambiguity.unit is not None:
            qty = Quantity("", ambiguity.quantity, ambiguity.unit, half=ambiguity.half)
        flags = (Flag.UNIT_ASSUMED,) if ambiguity.unit_assumed else ()
        return self._line(self.entry(sku), ambiguity.text, qty, flags)

    # ------------------------------------------------------------------------------------
    def _resolve(self, p: Product, lines: list, ambiguous: list, unmatched: list) -> None:
        info = p.info
        assert info is not None
        cands = list(info.candidates)
        if p.specs:
            cands = self._by_spec(cands, info.scope, p.specs)
        active = [s for s in cands if self.entry(s).active]
        if not active:
            alternatives = [s for s in self._siblings(cands) if self.entry(s).active]
            said = self._said(p.qty)
            unmatched.append(Unmatched(p.text, tuple(alternatives[:3]), *said, reason="inactive"))
            return
        flags = (Flag.FUZZY,) if p.fuzzy else ()
        if len(active) == 1:
            lines.append(self._line(self.entry(active[0]), p.text, p.qty, flags))
            return
        quantity, unit = self._said(p.qty)
        assumed = p.qty is not None and p.qty.unit is None and p.qty.number is not None
        ambiguous.append(
            Ambiguity(p.text, tuple(active), quantity, unit or (DEFAULT_UNIT if assumed else None),
                      unit_assumed=assumed, half=bool(p.qty and p.qty.half))
        )  # fmt: skip

    def _by_spec(self, cands: list[str], scope: frozenset[str], specs: list[Spec]) -> list[str]:
        def fits(sku: str) -> bool:
            e = self.entry(sku)
            for s in specs:
                if s.abv is not None and (e.abv is None or abs(e.abv - s.abv) > 0.6):
                    return False
                if s.ml is not None and e.ml != s.ml:
                    return False
            return True

        narrowed = [s for s in cands if fits(s)]
        if narrowed:
            return narrowed
        family = {*scope, *(f for c in cands for f in self.index.family(c))}
        wider = sorted(family, key=self.index.order.__getitem__)
        narrowed = [s for s in wider if fits(s)]
        # nothing in the family has that strength or size: show the family rather than guess
        return narrowed or wider

    def _siblings(self, cands: list[str]) -> list[str]:
        out: list[str] = []
        for c in cands:
            brand = self.entry(c).brand
            for s in [*self.index.family(c), *self.index.by_brand[brand]]:
                if s not in out and s not in cands:
                    out.append(s)
        return out

    def _unknown(self, p: Product, ordering: bool, unmatched: list, notes: list) -> None:
        guesses = p.info.candidates if p.info is not None else ()
        suggestions = tuple(dict.fromkeys([*guesses, *self.fuzzy.suggest(p.text)]))[:3]
        if p.qty is not None or (ordering and suggestions and len(p.text) > 1):
            unmatched.append(Unmatched(p.text, suggestions, *self._said(p.qty)))
        elif ordering:
            notes.append(p.text)

    @staticmethod
    def _said(qty: Quantity | None) -> tuple[int | None, Unit | None]:
        if qty is None:
            return None, None
        if qty.dozen:
            return (qty.number or 0) * DOZEN, Unit.BOTTLE
        return qty.number, qty.unit

    def _line(self, e: CatalogEntry, text: str, qty: Quantity | None, said: tuple[Flag, ...]) -> ParsedLine:
        flags = list(said)
        if qty is None or (qty.number is None and not qty.half):
            flags.append(Flag.QUANTITY_MISSING)
            return ParsedLine(e.sku, e.name, None, None, None, text, tuple(flags))
        number = qty.number or 0
        unit = qty.unit
        if qty.dozen:
            number, unit = number * DOZEN, Unit.BOTTLE
        elif unit is None:
            unit = DEFAULT_UNIT
            flags.append(Flag.UNIT_ASSUMED)
        per = {Unit.CASE: e.bottles_per_case, Unit.PACK: e.bottles_per_pack, Unit.BOTTLE: 1}[unit]
        bottles = number * per
        if qty.half:  # 一箱半 / 半箱: say it in bottles, the only exact way
            bottles += per // 2
            number, unit = bottles, Unit.BOTTLE
        if bottles == 0:
            flags.append(Flag.ZERO_QUANTITY)
        elif bottles > self.limits.max_bottles or bottles > self.limits.max_cases * e.bottles_per_case:
            flags.append(Flag.OVER_LIMIT)
        return ParsedLine(e.sku, e.name, number, unit, bottles, text, tuple(flags))
