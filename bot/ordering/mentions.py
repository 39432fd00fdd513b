"""Finding the product mentions of a message and tidying them before quantities are paired.

``MentionReader.read`` walks the message: exact catalog keys first (the index), the gaps between
them through the tokenizer, leftovers through the typo matcher. ``MentionReader.tidy`` then
applies the rules a salesman applies without thinking: "茅台 飞天" is one product, "青花汾酒 30"
is 青花30, "普五不要了" takes 普五 off, "两箱 不对 三箱" keeps three.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

from bot.ordering.fuzzy import FuzzyMatcher
from bot.ordering.matching import ALIAS, CatalogIndex, char_pinyin, normalize
from bot.ordering.pairing import Item, Product
from bot.ordering.tokens import Correction, Negation, Note, Quantity, Residue, Sep, Spec, Token, tokenize_gap

# What a message says before ``tidy``: the items, with the negations and corrections still in place.
Said = Item | Negation | Correction

_SPEC_WORD_RE = re.compile(r"\d+\s*(?:度|°|%|ml|毫升|l|升)")


class MentionReader:
    def __init__(self, index: CatalogIndex, fuzzy: FuzzyMatcher) -> None:
        self.index = index
        self.fuzzy = fuzzy

    def tidy(self, said: list[Said], notes: list[str]) -> list[Item]:
        """The items, with the negated products and the corrected quantities taken off."""
        self._merge_adjacent(said)
        self._number_qualifiers(said)
        drop_negated(said, notes)
        apply_corrections(said)
        return [it for it in said if not isinstance(it, Negation | Correction)]  # none is left

    def refine(self, items: list[Item]) -> None:
        """After pairing: "茅台两箱 要飞天", "二锅头 十箱 要红星的": an ambiguous mention said with
        the quantity, then a narrower one without: one product with that quantity."""
        products = [it for it in items if isinstance(it, Product) and not it.dropped]
        for a, b in itertools.pairwise(products):
            if a.qty is None or b.qty is not None or a.info is None or b.info is None:
                continue
            if len(a.info.candidates) < 2:
                continue
            merged = self._merge(a, b)
            if merged is None or merged.info is None:
                continue
            if set(merged.info.candidates) < set(a.info.candidates):
                b.info, b.text, b.qty = merged.info, merged.text, a.qty
                a.qty, a.dropped = None, True

    def read(self, norm: str) -> tuple[list[Said], list[str]]:
        items: list[Said] = []
        notes: list[str] = []
        pos = 0
        for m in [*self.index.scan(norm), None]:
            gap = norm[pos : m.start if m else len(norm)]
            tokens = tokenize_gap(gap) if gap.strip() else []
            if tokens and self._glued_unknown(items, gap, tokens[0], followed=m is not None):
                tokens = tokens[1:]
            for tok in tokens:
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

    def _glued_unknown(self, items: list[Said], gap: str, first: Token, followed: bool) -> bool:
        """茅台镇酱酒: a brand glued to words naming nothing we sell is an unknown product, not 茅台."""
        last = items[-1] if items else None
        if not (isinstance(last, Product) and last.info and last.info.brand_word):
            return False
        if not isinstance(first, Residue) or not gap.lstrip().startswith(first.text):
            return False
        spaced = gap.startswith(" ")
        if len(last.info.candidates) < 2 and not spaced:
            return False
        if followed and not gap[len(first.text) :].strip():
            return False  # 泸州 老窑 特曲: the next name follows at once, a slip inside one name
        if any(hit.info is not None for hit in self.fuzzy.split(first.text)):
            return False
        if char_pinyin(last.text + first.text) in self.index.by_pinyin:
            return False  # 拉菲传齐: one mistyped name, read by sound later
        # "汾酒 竹叶青": the brand qualifies an unknown product; "茅台镇酱酒": one unknown word
        text = first.text if spaced else last.text + first.text
        items[-1] = Product(text, None, fuzzy=True, strong=False)
        return True

    def _glue_digits(self, items: list[Said]) -> None:
        """红花狼15: a mistyped name ending in digits was read as name + bare number; rejoin them."""
        for i in range(len(items) - 2, -1, -1):
            p, q = items[i], items[i + 1]
            glued = isinstance(q, Quantity) and q.unit is None and q.text.isdigit()
            if isinstance(p, Product) and p.fuzzy and glued:
                info = self.index.by_pinyin.get(char_pinyin(p.text + q.text))
                if info is not None:
                    items[i : i + 2] = [Product(p.text + q.text, info, fuzzy=True, strong=True)]

    def _merge_adjacent(self, items: list[Said]) -> None:
        """ "茅台 飞天", "泸州老窖 1573", "IPA 鹅岛": neighbouring words naming one product."""
        i = 0
        while i + 1 < len(items):
            a, b = items[i], items[i + 1]
            c = items[i + 2] if i + 2 < len(items) else None
            if (
                isinstance(b, Spec)
                and isinstance(c, Product)
                and isinstance(a, Product)
                and a.info
                and c.info
            ):
                merged = self._merge(a, c)  # 红星 56度 二锅头: the strength inside the name
                if merged is not None:
                    items[i : i + 3] = [b, merged]
                    continue
            if not (isinstance(a, Product) and isinstance(b, Product)):
                i += 1
                continue
            if a.info and b.info:
                merged = self._merge(a, b)
            else:
                if b.info is None and a.info and isinstance(c, Product) and c.info and len(b.text) <= 2:
                    merged = self._merge(a, c)  # 泸州 老窑 特曲: a slip between two parts of one name
                    if merged is not None:
                        merged.text, merged.fuzzy = f"{a.text}{b.text}{c.text}", True
                        items[i : i + 3] = [merged]
                        continue
                merged = self._absorb(a, b)
            if merged is not None:
                items[i : i + 2] = [merged]
                continue
            i += 1

    def _number_qualifiers(self, items: list[Said]) -> None:
        """ "青花汾酒 30 一箱", "红花郎 15 两箱 10 三箱": a bare number right before a quantity names
        the product line's variant (30, 10), not how many."""
        i = 0
        while i + 1 < len(items):
            q = items[i]
            after = next((it for it in items[i + 1 :] if not isinstance(it, Sep)), None)
            if not (isinstance(q, Quantity) and q.unit is None and q.text.isdigit()):
                i += 1
                continue
            if not (isinstance(after, Quantity) and after.unit is not None):
                i += 1
                continue
            prev = next((j for j in range(i - 1, -1, -1) if isinstance(items[j], Product)), None)
            p = items[prev] if prev is not None else None
            if prev is None or not isinstance(p, Product) or p.info is None:
                i += 1
                continue
            pool = [
                *p.info.candidates,
                *sorted(p.info.scope - set(p.info.candidates), key=self.index.order.__getitem__),
            ]
            fits = [s for s in pool if q.text in self.index.numbers[s] and self.index.entry(s).active]
            if len(fits) != 1:
                i += 1
                continue
            info = replace(p.info, key=f"{p.info.key}{q.text}", candidates=(fits[0],))
            quantity_between = any(isinstance(it, Quantity) for it in items[prev + 1 : i])
            if quantity_between:  # 10 三箱: another variant of the same line
                items[i] = Product(q.text, info, fuzzy=p.fuzzy, strong=True)
            else:  # 青花汾酒 30: the variant of the product just named
                items[prev] = Product(f"{p.text} {q.text}", info, p.fuzzy, p.strong, list(p.specs))
                del items[i]
                continue
            i += 1

    def _merge(self, a: Product, b: Product) -> Product | None:
        return _merge_info(self.index, a, b)

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


def _merge_info(index: CatalogIndex, a: Product, b: Product) -> Product | None:
    """One mention from two neighbours, or None when they name different products."""
    assert a.info is not None and b.info is not None
    text, strong, fuzzy = f"{a.text} {b.text}", a.strong or b.strong, a.fuzzy and b.fuzzy
    for joined in (a.text + b.text, b.text + a.text):  # 红星 + 二锅头 = the alias 红星二锅头
        info = index.keys.get(normalize(joined).replace(" ", ""))
        if info is not None and info.priority == ALIAS:
            fits_a = set(info.candidates) <= a.info.scope | set(a.info.candidates)
            if fits_a and set(info.candidates) <= b.info.scope | set(b.info.candidates):
                return Product(text, info, fuzzy, strong)
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


def drop_negated(items: list[Said], notes: list[str]) -> None:
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


def _neighbour_product(items: list[Said], positions: range) -> int | None:
    for j in positions:
        if isinstance(items[j], Product):
            return j
        if not isinstance(items[j], Sep):
            return None
    return None


def apply_corrections(items: list[Said]) -> None:
    """ "普五 两箱 不对 三箱": forget the quantity the correction takes back."""
    i = 0
    while i < len(items):
        if not isinstance(items[i], Correction):
            i += 1
            continue
        del items[i]
        for j in range(i - 1, -1, -1):
            if isinstance(items[j], Quantity):
                del items[j]
                i -= 1
                break
            if not isinstance(items[j], Sep):
                break
