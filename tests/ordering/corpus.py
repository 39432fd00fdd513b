"""Reading the corpus expectations (tests/ordering/corpus.yaml) and comparing them with a reading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.ordering.catalog_source import load_catalog
from bot.ordering.interface import Catalog

CORPUS_PATH = Path(__file__).with_name("corpus.yaml")
UNIT_WORDS = {"case", "pack", "bottle", "-"}
FLAG_WORDS = {"over": "over_limit", "assumed": "unit_assumed"}


@dataclass(frozen=True)
class Case:
    text: str
    lines: tuple[tuple, ...]  # (sku, quantity, unit, bottles, flags)
    ambiguous: tuple[tuple, ...]  # (frozenset(candidates), quantity, unit)
    unmatched: tuple[str, ...]
    question: bool


def load_corpus(catalog: Catalog | None = None) -> list[Case]:
    catalog = catalog or load_catalog()
    entries = {e.sku: e for e in catalog.entries}
    raw = yaml.safe_load(CORPUS_PATH.read_text(encoding="utf-8"))
    return [_case(item, catalog, entries) for item in raw]


def _case(item: dict[str, Any], catalog: Catalog, entries: dict) -> Case:
    lines = []
    for spec in item.get("l", ()):
        sku, qty, unit, *flags = str(spec).split()
        assert sku in entries, f"corpus names an unknown sku {sku!r} in {item['t']!r}"
        assert unit in UNIT_WORDS, spec
        quantity = None if qty == "-" else int(qty)
        e = entries[sku]
        per = {"case": e.bottles_per_case, "pack": e.bottles_per_pack, "bottle": 1}.get(unit)
        bottles = None if quantity is None else quantity * per
        lines.append(
            (sku, quantity, None if unit == "-" else unit, bottles, frozenset(FLAG_WORDS[f] for f in flags))
        )
    ambiguous = []
    for spec in item.get("a", ()):
        cands, qty, unit, *_ = str(spec).split()
        ambiguous.append(
            (
                _candidates(cands, catalog, item["t"]),
                None if qty == "-" else int(qty),
                None if unit == "-" else unit,
            )
        )
    return Case(item["t"], tuple(lines), tuple(ambiguous), tuple(item.get("u", ())), bool(item.get("q")))


def _candidates(spec: str, catalog: Catalog, text: str) -> frozenset[str]:
    if spec.startswith("brand="):
        found = frozenset(e.sku for e in catalog.entries if e.brand == spec[6:] and e.active)
    elif spec.startswith("category="):
        found = frozenset(e.sku for e in catalog.entries if e.category == spec[9:] and e.active)
    elif spec.startswith("series="):
        found = frozenset(e.sku for e in catalog.entries if e.series == spec[7:] and e.active)
    else:
        found = frozenset(spec.split("|"))
        unknown = found - {e.sku for e in catalog.entries}
        assert not unknown, f"corpus names unknown skus {unknown} in {text!r}"
    assert found, f"corpus candidates {spec!r} match nothing in {text!r}"
    return found


def observed(reading: dict[str, Any]) -> Case:
    """The comparable part of a ``bot.ordering.cli.reading()`` dict."""
    lines = tuple(
        (li["sku"], li["quantity"], li["unit"], li["bottles"],
         frozenset(f for f in li["flags"] if f in FLAG_WORDS.values()))
        for li in reading["lines"]
    )  # fmt: skip
    ambiguous = tuple((frozenset(a["candidates"]), a["quantity"], a["unit"]) for a in reading["ambiguous"])
    return Case(
        reading.get("text", ""), lines, ambiguous, tuple(reading["unmatched"]), reading.get("question", False)
    )


def matches(expected: Case, got: Case) -> bool:
    return (
        expected.lines == got.lines
        and expected.ambiguous == got.ambiguous
        and tuple(u.replace(" ", "") for u in expected.unmatched)
        == tuple(u.replace(" ", "") for u in got.unmatched)
        and expected.question == got.question
    )
