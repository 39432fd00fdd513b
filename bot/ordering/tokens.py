"""Reading the words between product names: quantities, units, 53度 / 1L, separators, filler.

``tokenize_gap`` turns one gap (text between two product mentions) into tokens by successive
passes, each splitting the still-unread text: notes, specs, separators, 各, filler, quantities;
what is left is a residue chunk the fuzzy matcher looks at.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.ordering import lexicon
from bot.ordering.interface import Unit
from bot.ordering.matching import is_cjk
from bot.ordering.numerals import CN_NUMERAL_CHARS, parse_number


@dataclass(slots=True)
class Quantity:
    text: str
    number: int | None  # None: a range or vague amount (两三箱)
    unit: Unit | None
    half: bool = False  # 一箱半, 半箱
    dozen: bool = False  # 一打
    each: bool = False  # 各两箱
    claimed: bool = False


@dataclass(slots=True)
class Spec:
    text: str
    abv: float | None = None
    ml: int | None = None


@dataclass(slots=True)
class Sep:
    text: str


@dataclass(slots=True)
class Each:
    text: str


@dataclass(slots=True)
class Negation:
    text: str


@dataclass(slots=True)
class Correction:
    text: str


@dataclass(slots=True)
class Note:
    text: str


@dataclass(slots=True)
class Residue:
    text: str


Token = Quantity | Spec | Sep | Each | Negation | Correction | Note | Residue

_UNIT_ALT = "|".join(sorted((*lexicon.UNITS, lexicon.DOZEN), key=len, reverse=True))
_ABV = r"(?P<abv>\d{1,2}(?:\.\d)?)\s*(?:度|°|%\s*vol|%)"
_ML = r"(?P<size>\d+(?:\.\d+)?)\s*(?P<size_unit>ml|毫升|l|升|公斤)(?![a-z])"
_JIN = r"(?P<jin>[一两二半1-2])\s*斤(?:装)?"
_LITRE = r"(?P<litre>[一两二半])\s*(?:升|l)(?:装)?(?![a-z])|(?P<kilo>公斤)(?:装)?"
SPEC_RE = re.compile(f"{_ABV}|{_ML}|{_JIN}|{_LITRE}")
_SEP_WORDS = "|".join(map(re.escape, sorted(lexicon.SEPARATOR_WORDS, key=len, reverse=True)))
SEP_RE = re.compile(f"[{re.escape(lexicon.SEPARATOR_CHARS)}]+|(?<!\\d)\\.|\\.(?!\\d)|{_SEP_WORDS}")
EACH_RE = re.compile("|".join(map(re.escape, sorted(lexicon.EACH_WORDS, key=len, reverse=True))))
CORRECTION_RE = re.compile("|".join(map(re.escape, lexicon.CORRECTION_WORDS)))
NEGATION_RE = re.compile("|".join(map(re.escape, sorted(lexicon.NEGATION_WORDS, key=len, reverse=True))))
FILLER_RE = lexicon.filler_regex()
QTY_RE = re.compile(
    rf"(?:[x×*]\s*)?(?P<num>\d+(?:\.5)?|[{CN_NUMERAL_CHARS}]+)\s*(?P<unit>{_UNIT_ALT})?(?P<half>半)?"
    rf"|半\s*(?P<half_unit>{_UNIT_ALT})"
)
_PINYIN_QTY_HINT = re.compile("[a-z]")
_PY_NUM = "|".join(sorted(lexicon.PINYIN_NUMERALS, key=len, reverse=True))
_PY_UNIT = "|".join(sorted(lexicon.PINYIN_UNITS, key=len, reverse=True))
_PINYIN_QTY_RE = re.compile(
    rf"(?<![a-z])(?:(?P<pnum>{_PY_NUM})\s*(?P<unit_any>{_PY_UNIT}|[{lexicon.UNIT_CHARS}])"
    rf"|(?P<num>\d+|[{CN_NUMERAL_CHARS}]+)\s*(?P<punit>{_PY_UNIT}))(?![a-z])"
)
_WORD_RE = re.compile(r"[^\W_]+")
_SIZE_ML = {"ml": 1, "毫升": 1, "l": 1000, "升": 1000, "公斤": 1000}


def tokenize_gap(text: str) -> list[Token]:
    if _PINYIN_QTY_HINT.search(text):
        text = _PINYIN_QTY_RE.sub(_pinyin_quantity, text)
    pieces: list[Token | str] = [text]
    pieces = _split(pieces, lexicon.NOTE_RE, lambda m, s: Note(m.group()))
    pieces = _split(pieces, SPEC_RE, _spec)
    pieces = _split(pieces, SEP_RE, lambda m, s: Sep(m.group()))
    pieces = _split(pieces, EACH_RE, lambda m, s: Each(m.group()))
    pieces = _split(pieces, NEGATION_RE, lambda m, s: Negation(m.group()))
    pieces = _split(pieces, CORRECTION_RE, lambda m, s: Correction(m.group()))
    pieces = _split(pieces, FILLER_RE, lambda m, s: " ")
    pieces = _split(pieces, QTY_RE, _quantity)
    out: list[Token] = []
    for piece in pieces:
        if isinstance(piece, str):
            # punctuation and emoji around words (【飞天】, 飞天-2箱, 👍) carry nothing
            words = _WORD_RE.findall(piece)
            out.extend(Residue(w) for w in words if w not in lexicon.EMPTY_WORDS)
        else:
            out.append(piece)
    return out


def _split(pieces, pattern: re.Pattern[str], make: Callable[[re.Match[str], str], Token | str | None]):
    out: list[Token | str] = []
    for piece in pieces:
        if not isinstance(piece, str):
            out.append(piece)
            continue
        pos = 0
        for m in pattern.finditer(piece):
            if not m.group():
                continue
            made = make(m, piece)
            if made is None:
                continue  # not what it looked like: leave the text for later passes
            out.append(piece[pos : m.start()])
            out.append(made)
            pos = m.end()
        out.append(piece[pos:])
    # glue adjacent strings so a later pass sees whole words (filler removal leaves spaces)
    glued: list[Token | str] = []
    for piece in out:
        if isinstance(piece, str) and glued and isinstance(glued[-1], str):
            glued[-1] += piece
        elif piece != "":
            glued.append(piece)
    return glued


def _spec(m: re.Match[str], piece: str) -> Spec | None:
    if m.group("abv"):
        abv = float(m.group("abv"))
        return Spec(m.group(), abv=abv) if 3 <= abv <= 75 else None
    if m.group("size"):
        ml = round(float(m.group("size")) * _SIZE_ML[m.group("size_unit")])
        return Spec(m.group(), ml=ml) if 50 <= ml <= 5000 else None
    if m.group("kilo"):
        return Spec(m.group(), ml=1000)
    if litre := m.group("litre"):
        return Spec(m.group(), ml=500 if litre == "半" else 1000 * (parse_number(litre) or 1))
    jin = m.group("jin")
    return Spec(m.group(), ml=250 if jin == "半" else 500 * (parse_number(jin) or 1))


def _quantity(m: re.Match[str], piece: str) -> Quantity | None:
    if m.group("half_unit"):
        unit_word = m.group("half_unit")
        return Quantity(m.group(), 0, lexicon.UNITS.get(unit_word), half=True, dozen=unit_word == "打")
    num, unit_word = m.group("num"), m.group("unit")
    if not unit_word and not num.isdigit() and not num.replace(".", "").isdigit():
        # a bare Chinese numeral glued to other characters is part of a word (三得利), not a number
        before = piece[m.start() - 1] if m.start() else ""
        after = piece[m.end()] if m.end() < len(piece) else ""
        if (before and is_cjk(before)) or (after and is_cjk(after)):
            return None
    half = bool(m.group("half"))
    if num.endswith(".5"):
        num, half = num[:-2], True
    unit = lexicon.UNITS.get(unit_word) if unit_word else None
    text = m.group().strip()
    number = parse_number(num)
    if half and unit is Unit.BOTTLE:
        number, half = None, False  # 两瓶半 cannot be ordered: ask
    return Quantity(text, number, unit, half=half, dozen=unit_word == lexicon.DOZEN)


def _pinyin_quantity(m: re.Match[str]) -> str:
    if m.group("pnum"):
        unit = m.group("unit_any")
        return lexicon.PINYIN_NUMERALS[m.group("pnum")] + lexicon.PINYIN_UNITS.get(unit, unit)
    return m.group("num") + lexicon.PINYIN_UNITS[m.group("punit")]
