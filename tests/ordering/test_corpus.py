"""The corpus of store-owner messages (corpus.yaml) read through ``jiubot order-parse``'s code path.

Done means (issue 5): at least 300 utterances, at least 95% read exactly. Exactly = the same lines
(sku, quantity, unit, bottles, over-limit and assumed-unit flags), the same ambiguous mentions
(candidate set, quantity, unit), the same unmatched words and the same question flag.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from bot.ordering.catalog_source import load_catalog
from bot.ordering.cli import parser_for, reading
from tests.ordering.corpus import load_corpus, matches, observed

REPO = Path(__file__).resolve().parents[2]
REQUIRED_ACCURACY = 0.95


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def cases(catalog):
    return load_corpus(catalog)


def _describe(case, got) -> str:
    return (
        f"{case.text!r}\n    expected {case.lines} {case.ambiguous} {case.unmatched}"
        f"\n    read     {got.lines} {got.ambiguous} {got.unmatched}"
    )


def test_corpus_is_large_and_has_no_duplicates(cases):
    texts = [c.text for c in cases]
    assert len(texts) >= 300
    assert len(set(texts)) == len(texts)


def test_corpus_covers_every_kind_of_reading(cases):
    assert sum(1 for c in cases if len(c.lines) >= 2) >= 40
    assert sum(1 for c in cases if c.ambiguous) >= 30
    assert sum(1 for c in cases if c.unmatched) >= 15
    assert sum(1 for c in cases if not (c.lines or c.ambiguous or c.unmatched)) >= 25
    assert sum(1 for c in cases for li in c.lines if "over_limit" in li[4]) >= 10


def test_order_parse_reads_at_least_95_percent_of_the_corpus_exactly(catalog, cases):
    parser = parser_for(catalog)
    failures = []
    for case in cases:
        got = observed(reading(parser.parse(case.text)))
        if not matches(case, got):
            failures.append(_describe(case, got))
    accuracy = 1 - len(failures) / len(cases)
    print(f"\ncorpus: {len(cases) - len(failures)}/{len(cases)} read exactly ({accuracy:.1%})")
    for failure in failures:
        print("  MISREAD", failure)
    assert accuracy >= REQUIRED_ACCURACY, (
        f"{len(failures)} of {len(cases)} misread ({accuracy:.1%}):\n" + "\n".join(failures)
    )


@pytest.mark.parametrize(
    "text",
    ["飞天 2箱 普五3件", "mt 1箱", "五粮夜 3件", "可口可乐 5箱"],
)
def test_the_real_command_prints_the_same_reading(catalog, cases, text):
    case = next(c for c in cases if c.text == text)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("JIUBOT_CORE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "order-parse", text, "--store", "S-001"],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    printed = orjson.loads(done.stdout)
    assert set(printed) >= {"lines", "ambiguous", "unmatched"}
    assert printed["store"] == "S-001"
    for line in printed["lines"]:
        assert set(line) >= {"sku", "name", "quantity", "unit", "bottles"}
    for amb in printed["ambiguous"]:
        assert set(amb) >= {"text", "candidates"}
    assert all(isinstance(u, str) for u in printed["unmatched"])
    assert matches(case, observed(printed)), _describe(case, observed(printed))
