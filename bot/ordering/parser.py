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
from dataclasses import replace

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
from bot.ordering.matching import CatalogIndex, char_pinyin, normalize
from bot.ordering.pairing import Item, Product, attach_specs, pair
from bot.ordering.tokens import Negation, Note, Quantity, Residue, Sep, Spec, tokenize_gap

DEFAULT_UNIT = Unit.CASE
DOZEN = 12
# "多少钱一瓶" names a unit of price, not a quantity to order
_PRICE_UNIT_RE = re.compile(
    r"(?:多少钱|什么价|啥价|怎么卖)\s*(?:一|每)\s*[箱件提瓶支个罐听]"
    r"|(?:一|每)\s*[箱件提瓶支个罐听]\s*(?:多少钱|什么价|啥价)"
)
_SPEC_WORD_RE = re.compile(r"\d+\s*(?:度|°|%|ml|毫升|l|升)")
MAX_TEXT = 500  # a chat message is short; anything longer is cut rather than scanned for seconds


class OrderParser:
    def __init__(self, catalog: Catalog, limits: ParseLimits | None = None) -> None:
        self.catalog = catalog
        self.limits = limits or ParseLimits()
        self.index = CatalogIndex(catalog)
        self.fuzzy = FuzzyMatcher(self.index)

    def entry(self, sku: str) -> CatalogEntry:
        return self.index.entry(sku)

    # ------------------------------------------------------------------------------------
    def parse(self, text: str) -> ParseResult:
        norm = lexicon.LIST_NUMBER_RE.sub(" ", normalize(text[:MAX_TEXT]))
        question = bool(lexicon.QUESTION_RE.search(norm))
        if question:
            norm = _PRICE_UNIT_RE.sub(" ", norm)
        items, notes = self._items(norm)
        self._merge_adjacent(items)
        _drop_negated(items, notes)
        attach_specs(items)
        if question and not any(isinstance(it, Quantity) and it.unit for it in items):
            return self._question(text, items)
        pair(items)
        products = [it for it in items if isinstance(it, Product)]
        ordering = any(p.info is not None and p.strong for p in products) or any(
            isinstance(it, Quantity) and it.unit is not None for it in items
        )
        lines: list[ParsedLine] = []
        ambiguous: list[Ambiguity] = []
        unmatched: list[Unmatched] = []
        for p in products:
            if p.info is None or (not p.strong and p.qty is None):
                self._unknown(p, ordering, unmatched, notes)
            else:
                self._resolve(p, lines, ambiguous, unmatched)
        notes.extend(q.text for q in items if isinstance(q, Quantity) and not q.claimed and products)
        return ParseResult(
            text, tuple(lines), tuple(ambiguous), tuple(unmatched), tuple(notes), question=question
        )

    def _question(self, text: str, items: list[Item]) -> ParseResult:
        asked: list[str] = []
        for p in items:
            if isinstance(p, Product) and p.info is not None and (p.strong or not p.fuzzy):
                cands = self._by_spec(list(p.info.candidates), p.info.scope, p.specs) if p.specs else None
                asked.extend(s for s in cands or p.info.candidates if self.entry(s).active)
        return ParseResult(text, question=True, asked=tuple(dict.fromkeys(asked)))

    def resolve(self, ambiguity: Ambiguity, sku: str) -> ParsedLine:
        """The line the store owner meant once he picked ``sku`` from the numbered choices."""
        qty = None
        if ambiguity.quantity is not None or ambiguity.unit is not None:
            qty = Quantity("", ambiguity.quantity, ambiguity.unit, half=ambiguity.half)
        flags = (Flag.UNIT_ASSUMED,) if ambiguity.unit_assumed else ()
        return self._line(self.entry(sku), ambiguity.text, qty, flags)

    # ------------------------------------------------------------------------------------
    def _items(self, norm: str) -> tuple[list[Item], list[str]]:
        items: list[Item] = []
        notes: list[str] = []
        pos = 0
        for m in [*self.index.scan(norm), None]:
            gap = norm[pos : m.start if m else len(norm)]
            for tok in tokenize_gap(gap) if gap.strip() else ():
                if isinstance(tok, Residue):
                    for hit in self.fuzzy.split(tok.text):
                        items.append(Product(hit.text, hit.info, fuzzy=True, strong=hit.strong))
                elif isinstance(tok, Note):
                    notes.append(tok.text)
                    items.append(Sep(tok.text))
                else:
                    items.append(tok)
            if m is not None:
                items.append(Product(m.text.strip(), m.info))
                pos = m.end
        self._glue_digits(items)
        return items, notes

    def _glue_digits(self, items: list[Item]) -> None:
        """红花狼15: a mistyped name ending in digits was read as name + bare number; rejoin them."""
        for i in range(len(items) - 2, -1, -1):
            p, q = items[i], items[i + 1]
            glued = isinstance(q, Quantity) and q.unit is None and q.text.isdigit()
            if isinstance(p, Product) and p.fuzzy and glued:
                info = self.index.by_pinyin.get(char_pinyin(p.text + q.text))
                if info is not None:
                    items[i : i + 2] = [Product(p.text + q.text, info, fuzzy=True, strong=True)]

    def _merge_adjacent(self, items: list[Item]) -> None:
        """ "茅台 飞天", "泸州老窖 1573", "IPA 鹅岛": neighbouring words naming one product."""
        i = 0
        while i + 1 < len(items):
            a, b = items[i], items[i + 1]
            if not (isinstance(a, Product) and isinstance(b, Product)):
                i += 1
                continue
            c = items[i + 2] if i + 2 < len(items) else None
            if a.info and b.info:
                merged = _merge(a, b)
            else:
                if b.info is None and a.info and isinstance(c, Product) and c.info and len(b.text) <= 2:
                    merged = _merge(a, c)  # 泸州 老窑 特曲: a slip between two parts of one name
                    if merged is not None:
                        merged.text = f"{a.text}{b.text}{c.text}"
                        items[i : i + 3] = [merged]
                        continue
                merged = self._absorb(a, b)
            if merged is not None:
                items[i : i + 2] = [merged]
                continue
            i += 1

    def _absorb(self, a: Product, b: Product) -> Product | None:
        """国窑 1573: an unknown word next to a product it resembles is part of that name."""
        known, unknown = (a, b) if b.info is None else (b, a)
        if known.info is None or unknown.info is not None or len(unknown.text) > 3:
            return None
        # 青花 狼 / 拉菲 传齐: the exact scan took a prefix of a mistyped longer name
        info = self.index.by_pinyin.get(char_pinyin(a.text + b.text))
        if info is not None:
            return Product(f"{a.text}{b.text}", info, fuzzy=True, strong=True)
        if set(known.info.candidates) & set(self.fuzzy.suggest(unknown.text)):
            return Product(f"{a.text}{b.text}", known.info, known.fuzzy, known.strong)
        return None

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
        wider = sorted({*scope, *(f for c in cands for f in self.index.family(c))}, key=self.index.order.get)
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
        if p.qty is not None or (ordering and suggestions):
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

    def _line(self, e: CatalogEntry, text: str, qty: Quantity | None, flags: tuple[Flag, ...]) -> ParsedLine:
        flags = list(flags)
        if qty is None or (qty.number is None and not qty.half):
            flags.append(Flag.QUANTITY_MISSING)
            return ParsedLine(e.sku, e.name, None, None, None, text, tuple(flags))
        number = qty.number or 0
        unit = qty.unit
        if unit is None and not qty.dozen:
            unit = DEFAULT_UNIT
            flags.append(Flag.UNIT_ASSUMED)
        if qty.dozen:
            number, unit = number * DOZEN, Unit.BOTTLE
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


def _merge(a: Product, b: Product) -> Product | None:
    """One mention from two neighbours, or None when they name different products."""
    assert a.info is not None and b.info is not None
    text, strong, fuzzy = f"{a.text} {b.text}", a.strong or b.strong, a.fuzzy and b.fuzzy
    both = set(a.info.candidates) & set(b.info.candidates)
    if both:
        ordered = tuple(s for s in a.info.candidates if s in both)
        scope = a.info.scope & b.info.scope or frozenset(both)
        info = replace(a.info, key=f"{a.info.key}+{b.info.key}", candidates=ordered, scope=scope)
        return Product(text, info, fuzzy, strong)
    same_line = set(a.info.candidates) <= b.info.scope and set(b.info.candidates) <= a.info.scope
    if same_line and bool(_SPEC_WORD_RE.search(a.text)) != bool(_SPEC_WORD_RE.search(b.text)):
        # one line said twice, once with its strength (38度国窖 1573): the strength decides;
        # two plain names of one line (古5 古8) are two products
        return Product(text, a.info if _SPEC_WORD_RE.search(a.text) else b.info, fuzzy, strong)
    if a.info.brand_word and set(b.info.candidates) <= a.info.scope:
        return Product(text, b.info, fuzzy, strong)  # 五粮液 1618
    if b.info.brand_word and set(a.info.candidates) <= b.info.scope:
        return Product(text, a.info, fuzzy, strong)  # 1618 五粮液
    return None


def _drop_negated(items: list, notes: list[str]) -> None:
    """ "普五不要了" / "不要普五了": the product next to the negation is taken off the message."""
    i = 0
    while i < len(items):
        neg = items[i]
        if not isinstance(neg, Negation):
            i += 1
            continue
        del items[i]
        target = _neighbour_product(items, range(i - 1, -1, -1))
        if target is None:
            target = _neighbour_product(items, range(i, len(items)))
        if target is not None:
            notes.append(f"{items[target].text} {neg.text}")
            del items[target]
            i -= target < i


def _neighbour_product(items: list, positions: range) -> int | None:
    for j in positions:
        if isinstance(items[j], Product):
            return j
        if not isinstance(items[j], Sep):
            return None
    return None
