"""Typos and unknown words: what the exact scan left over.

Store owners type with a pinyin keyboard, so the usual typo is a homophone (五粮夜, 剑难春, 茅苔):
the toneless pinyin of the leftover matches a key's pinyin exactly. Other slips (泸州老窑) go
through rapidfuzz on characters with a high cut-off and a margin over the runner-up, so two
similar products never swap silently. What matches nothing gets nearest-name suggestions.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.ordering.matching import CatalogIndex, KeyInfo, char_pinyin, is_cjk, is_latin

CHAR_CUTOFF = 80.0  # 泸州老窑特曲 vs 泸州老窖特曲 = 83; 五粮春 vs 五粮液 = 67, 波尔多 vs 传奇波尔多 = 75
MARGIN = 6.0  # the best must beat the runner-up naming other products by this much
PINYIN_CUTOFF = 88.0  # jiannancun vs jiannanchun = 95; wuliangxx vs wuliangye = 78
LATIN_CUTOFF = 80.0  # mistyped pinyin: maotia -> maotai = 83
SUGGEST_CUTOFF = 60.0
SUGGEST_SPREAD = 12.0  # only suggestions about as good as the best one
SOUND_PENALTY = 10.0
MAX_SUGGESTIONS = 3


@dataclass(frozen=True, slots=True)
class FuzzyHit:
    text: str
    info: KeyInfo | None  # None: nothing fits, an unknown word
    strong: bool  # strong hits stand without a quantity; weak ones need one to count


class FuzzyMatcher:
    def __init__(self, index: CatalogIndex) -> None:
        self.index = index
        active = {e.sku for e in index.catalog.entries if e.active}
        self.cjk_keys = [k for k in index.chinese_keys if set(index.keys[k].candidates) & active]
        self.cjk_pinyin = [char_pinyin(k) for k in self.cjk_keys]
        self.latin_keys = [
            k for k, info in index.keys.items() if is_latin(k[0]) and len(k) >= 5 and k.isalpha()
        ]
        self.max_len = max((len(k) for k in index.chinese_keys), default=2)

    def split(self, chunk: str) -> list[FuzzyHit]:
        """Cut a leftover chunk into product hits and unknown pieces, left to right."""
        if all(is_latin(ch) for ch in chunk):
            return [self._latin(chunk)]
        hits: list[FuzzyHit] = []
        unknown = ""
        sounds = [char_pinyin(ch) for ch in chunk]
        i = 0
        while i < len(chunk):
            hit = self._pinyin_at(chunk, sounds, i)
            if hit is None:
                unknown += chunk[i]
                i += 1
                continue
            if unknown:
                hits.extend(self._chars(unknown))
                unknown = ""
            hits.append(hit)
            i += len(hit.text)
        if unknown:
            hits.extend(self._chars(unknown))
        return hits

    def _pinyin_at(self, chunk: str, sounds: list[str], i: int) -> FuzzyHit | None:
        if not is_cjk(chunk[i]):
            return None
        by_pinyin = self.index.by_pinyin
        for j in range(min(len(chunk), i + self.max_len), i + 1, -1):
            piece = chunk[i:j]
            info = by_pinyin.get("".join(sounds[i:j]))
            if info is not None:
                cjk = sum(1 for ch in piece if is_cjk(ch))
                return FuzzyHit(piece, info, strong=cjk >= 3)
        return None

    def _chars(self, text: str) -> list[FuzzyHit]:
        if sum(1 for ch in text if is_cjk(ch)) < 3:
            return [FuzzyHit(text, None, strong=False)]
        # by characters (泸州老窑), then by sound (剑南村 ~ jiannanchun)
        info = self._best(text, self.cjk_keys, CHAR_CUTOFF)
        if info is None:
            info = self._best(char_pinyin(text), self.cjk_pinyin, PINYIN_CUTOFF)
        return [FuzzyHit(text, info, strong=False)]

    def _best(self, query: str, choices: list[str], cutoff: float) -> KeyInfo | None:
        best = process.extract(query, choices, scorer=fuzz.ratio, limit=6, score_cutoff=cutoff)
        if not best:
            return None
        keys = self.cjk_keys if choices is self.cjk_pinyin else choices
        info = self.index.keys[keys[best[0][2]]]
        for _, other_score, idx in best[1:]:
            rival = set(self.index.keys[keys[idx]].candidates) != set(info.candidates)
            if rival and best[0][1] - other_score < MARGIN:
                return None
        return info

    def _latin(self, word: str) -> FuzzyHit:
        info = self._best(word, self.latin_keys, LATIN_CUTOFF) if len(word) >= 5 else None
        return FuzzyHit(word, info, strong=False)

    def suggest(self, text: str) -> tuple[str, ...]:
        """Nearest active products by characters or by sound, best first; nothing when nothing is near.

        Sound counts a little less than characters: short pinyin strings share letters by chance
        (雪碧 xuebi / 普飞 pufei score 60).
        """
        scores: dict[str, float] = {}
        searches = ((self.cjk_keys, text, 0.0), (self.cjk_pinyin, char_pinyin(text), SOUND_PENALTY))
        for choices, query, penalty in searches:
            for _, score, idx in process.extract(query, choices, scorer=fuzz.ratio, limit=8):
                for sku in self.index.keys[self.cjk_keys[idx]].candidates:
                    if self.index.entry(sku).active:
                        scores[sku] = max(scores.get(sku, 0.0), score - penalty)
        best = max(scores.values(), default=0.0)
        near = [s for s, v in scores.items() if v >= SUGGEST_CUTOFF and v >= best - SUGGEST_SPREAD]
        near.sort(key=lambda s: (-scores[s], self.index.order[s]))
        return tuple(near[:MAX_SUGGESTIONS])
