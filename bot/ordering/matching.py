"""The catalog index: every way a store owner names a product, found in one left-to-right scan.

Built once per catalog. Keys come from, strongest first: product names and aliases (an alias
decides: 五粮液 is 普五 even though it is also a brand), series names shared by several products
(红花郎 -> 10 and 15, ambiguous), brand names and brand aliases (茅台 -> every 茅台 product,
ambiguous), and the pinyin of all of these, full and initials (茅台 -> maotai, mt). Each key
carries its candidates and a *scope* (the series or brand it belongs to), which lets 53度/1L
pick a sibling (飞天 1L) and lets 茅台 飞天 collapse into 飞天.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from pypinyin import Style, lazy_pinyin

from bot.ordering.interface import Catalog, CatalogEntry
from bot.ordering.numerals import parse_number

# Priorities: a stronger source of the same key replaces a weaker one's candidates.
ALIAS, SERIES, BRAND, PINYIN = 4, 3, 2, 1
# Latin words that are never product shorthand even if some initials spell them.
RESERVED_LATIN = frozenset({"ml", "l", "x", "ok", "hi", "no", "yes", "vol", "kg", "g", "ps", "pm", "am"})
UNIT_CHARS = "箱件提瓶支个罐听盒桶打"


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII), lower case, one kind of space, and
    ages in digits (十五年 -> 15年: an age is part of a name, never a quantity). Keys and messages
    go through the same function, so 六年口子窖 and 6年口子窖 are one key."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _YEARS_RE.sub(_years, text)
    return "".join(" " if ch.isspace() and ch != "\n" else ch for ch in text)


_YEARS_RE = re.compile(r"([一二两三四五六七八九十]{1,3})年")


def _years(m: re.Match[str]) -> str:
    value = parse_number(m.group(1))
    return f"{value}年" if value is not None else m.group()


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def is_latin(ch: str) -> bool:
    return "a" <= ch <= "z"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    key: str
    candidates: tuple[str, ...]  # SKUs in catalog order
    scope: frozenset[str]  # the SKUs the words could stand for, with a spec or a merge
    priority: int
    source: str  # the Chinese key a pinyin key came from, else the key itself
    brand_word: bool = False  # the key is a brand name: "茅台 飞天" narrows to 飞天


@dataclass(slots=True)
class _TrieNode:
    """A node of the key trie: the next characters, and the key that ends here if any."""

    children: dict[str, _TrieNode] = field(default_factory=dict)
    info: KeyInfo | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    text: str
    info: KeyInfo


class CatalogIndex:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.entries = {e.sku: e for e in catalog.entries}
        self.order = {e.sku: i for i, e in enumerate(catalog.entries)}
        self.by_series: dict[tuple[str, str], list[str]] = {}
        self.by_brand: dict[str, list[str]] = {}
        for e in catalog.entries:
            self.by_series.setdefault((e.brand, e.series), []).append(e.sku)
            self.by_brand.setdefault(e.brand, []).append(e.sku)
        self.keys: dict[str, KeyInfo] = {}
        self._build()
        # the number that names a variant in a product's aliases: 青花30 -> "30", 红花郎15 -> "15"
        # (aliases with one number only: 42度青花20 says the strength, not the variant)
        self.numbers: dict[str, set[str]] = {e.sku: set() for e in catalog.entries}
        for e in catalog.entries:
            for word in e.aliases:
                found = re.findall(r"\d+", normalize(word))
                if len(found) == 1:
                    self.numbers[e.sku].add(found[0])
        self.trie = _TrieNode()
        for key, info in self.keys.items():
            node = self.trie
            for ch in key:
                node = node.children.setdefault(ch, _TrieNode())
            node.info = info
        # Pinyin (toneless, per character) of the Chinese keys: the homophone typo path (五粮夜).
        self.by_pinyin: dict[str, KeyInfo] = {}
        for key, info in self.keys.items():
            if info.priority > PINYIN and any(is_cjk(ch) for ch in key):
                self._add_pinyin(self.by_pinyin, char_pinyin(key), info)
        self.chinese_keys = [k for k, i in self.keys.items() if i.priority > PINYIN and is_cjk(k[0])]

    # building -----------------------------------------------------------------------------
    def _build(self) -> None:
        series_counts: dict[str, set[str]] = {}
        for e in self.catalog.entries:
            series_counts.setdefault(normalize(e.series).replace(" ", ""), set()).add(e.sku)
        for e in self.catalog.entries:
            family = frozenset(self.by_series[(e.brand, e.series)])
            for word in (e.name, *e.aliases):
                self._add(word, (e.sku,), family, ALIAS)
        for series, skus in series_counts.items():
            if len(skus) > 1:  # a series word that names one product is an alias, or generic
                self._add(series, self._sorted(skus), frozenset(skus), SERIES)
        brand_words: dict[str, set[str]] = {}
        for brand_name, brand_skus in self.by_brand.items():
            brand_words.setdefault(brand_name, set()).update(brand_skus)
        for brand in self.catalog.brands:
            for word in brand.aliases:
                brand_words.setdefault(word, set()).update(self.by_brand.get(brand.name, ()))
        categories: dict[str, set[str]] = {}
        for e in self.catalog.entries:
            categories.setdefault(e.category, set()).add(e.sku)
        for category, skus in categories.items():
            brand_words.setdefault(category, set()).update(skus)  # 精酿 IPA -> the craft IPAs
        for word, skus in brand_words.items():
            if skus:
                self._add(word, self._sorted(skus), frozenset(skus), BRAND)
        for key, info in list(self.keys.items()):
            if any(is_cjk(ch) for ch in key):
                for variant in (full_pinyin(key), initials(key)):
                    if variant not in RESERVED_LATIN and variant != key:
                        self._add_pinyin(self.keys, variant, info)

    def _sorted(self, skus) -> tuple[str, ...]:
        return tuple(sorted(skus, key=self.order.__getitem__))

    def _add(self, word: str, skus: tuple[str, ...], scope: frozenset[str], priority: int) -> None:
        key = normalize(word).replace(" ", "")
        if not key:
            return
        old = self.keys.get(key)
        brand_word = priority == BRAND or (old is not None and old.brand_word)
        if old is None or priority > old.priority:
            scope = scope | (old.scope if old else frozenset())
            self.keys[key] = KeyInfo(key, skus, scope, priority, key, brand_word)
        elif priority == old.priority:
            merged = self._sorted(set(old.candidates) | set(skus))
            self.keys[key] = KeyInfo(key, merged, old.scope | scope, priority, key, brand_word)
        else:
            self.keys[key] = KeyInfo(
                key, old.candidates, old.scope | scope, old.priority, old.source, brand_word
            )

    def _add_pinyin(self, table: dict[str, KeyInfo], variant: str, info: KeyInfo) -> None:
        old = table.get(variant)
        if old is None:
            table[variant] = KeyInfo(
                variant, info.candidates, info.scope, PINYIN, info.source, info.brand_word
            )
        elif old.priority == PINYIN and set(info.candidates) - set(old.candidates):
            # two words sound alike (五粮春 / 五粮醇): the pinyin names both
            merged = self._sorted(set(old.candidates) | set(info.candidates))
            brand_word = old.brand_word and info.brand_word
            table[variant] = KeyInfo(variant, merged, old.scope | info.scope, PINYIN, old.source, brand_word)

    # scanning -----------------------------------------------------------------------------
    def scan(self, text: str) -> list[Mention]:
        """Longest keys, left to right, never overlapping. Spaces inside a key are skipped."""
        found: list[Mention] = []
        i, n = 0, len(text)
        while i < n:
            hit = self._longest_at(text, i) if text[i] != " " else None
            if hit is None:
                i += 1
                continue
            end, info = hit
            found.append(Mention(i, end, text[i:end], info))
            i = end
        return found

    def _longest_at(self, text: str, i: int) -> tuple[int, KeyInfo] | None:
        first = text[i]
        if i and ((is_latin(first) and is_latin(text[i - 1])) or (first.isdigit() and text[i - 1].isdigit())):
            return None  # keys never start inside a word or a number
        node = self.trie
        best = None
        j, n = i, len(text)
        while j < n:
            ch = text[j]
            if ch == " ":
                j += 1
                continue
            child = node.children.get(ch)
            if child is None:
                break
            node = child
            j += 1
            info = node.info
            if info is not None and self._ends_well(text, j, info.key):
                best = (j, info)
        return best

    @staticmethod
    def _ends_well(text: str, end: int, key: str) -> bool:
        nxt = text[end] if end < len(text) else ""
        last = key[-1]
        if is_latin(last) and is_latin(nxt):
            return False
        if last.isdigit():
            after = text[end:].lstrip(" ")[:1]
            if after and after in UNIT_CHARS:
                return False  # 青花 20箱 is twenty cases of 青花, not 青花20 with no number
            if nxt.isdigit() and not is_cjk(key[0]):
                return False  # 1573 inside 15736 is not 1573; 国窖15736瓶 still reads 国窖1573 6瓶
        return True

    # siblings -----------------------------------------------------------------------------
    def family(self, sku: str) -> list[str]:
        e = self.entries[sku]
        return self.by_series[(e.brand, e.series)]

    def entry(self, sku: str) -> CatalogEntry:
        return self.entries[sku]


_PINYIN_CACHE: dict[str, str] = {}


def char_pinyin(text: str) -> str:
    """Toneless pinyin, character by character (no phrase context: a typo has none)."""
    out = []
    for ch in text:
        if not is_cjk(ch):
            out.append(ch)
            continue
        py = _PINYIN_CACHE.get(ch)
        if py is None:
            py = _PINYIN_CACHE[ch] = lazy_pinyin(ch)[0]
        out.append(py)
    return "".join(out)


def full_pinyin(word: str) -> str:
    return "".join(lazy_pinyin(word)).replace(" ", "")


def initials(word: str) -> str:
    return "".join(p[0] if p and is_latin(p[0]) else p for p in lazy_pinyin(word, style=Style.NORMAL))
