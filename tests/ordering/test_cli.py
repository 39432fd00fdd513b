"""``jiubot order-parse`` registered on its own parser (the subprocess run is in test_corpus)."""

from __future__ import annotations

import argparse

import orjson
import pytest

from bot.ordering import cli


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="jiubot")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["order-parse", *argv])
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_the_issue_shape(capsys, monkeypatch):
    monkeypatch.delenv("JIUBOT_CORE_URL", raising=False)
    code, out, _ = _run(capsys, "飞天 2箱 茅台 1箱 可乐3箱", "--store", "S-9")
    assert code == 0
    printed = orjson.loads(out)
    line = printed["lines"][0]
    assert {k: line[k] for k in ("sku", "name", "quantity", "unit", "bottles")} == {
        "sku": "MT-FT-53-500",
        "name": "贵州茅台酒 飞天 53%vol 500ml",
        "quantity": 2,
        "unit": "case",
        "bottles": 24,
    }
    assert printed["ambiguous"][0]["text"] == "茅台"
    assert printed["ambiguous"][0]["candidates"][0] == "MT-FT-53-500"
    assert printed["unmatched"] == ["可乐"]
    assert printed["store"] == "S-9"
    assert printed["needs_confirmation"] is True
    assert "\n  " in out  # indented for people


def test_compact_output_is_one_line(capsys):
    code, out, _ = _run(capsys, "你好", "--compact")
    assert code == 0 and out.count("\n") == 1
    assert orjson.loads(out)["lines"] == []


def test_another_catalog_file(capsys, tmp_path):
    path = tmp_path / "store.yaml"
    path.write_text(
        "products:\n"
        "  - {sku: HOUSE-1, name: 店酿高粱酒, brand: 店酿, series: 高粱, bottles_per_case: 6, ml: 500,"
        " aliases: [高粱酒]}\n",
        encoding="utf-8",
    )
    code, out, _ = _run(capsys, "高粱酒 2箱 飞天 1箱", "--catalog", str(path))
    printed = orjson.loads(out)
    assert code == 0
    assert [li["sku"] for li in printed["lines"]] == ["HOUSE-1"]
    assert printed["unmatched"] == ["飞天"]  # not in that catalog
    assert printed["catalog"] == str(path)


def test_a_broken_catalog_exits_2(capsys, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("products: 3\n", encoding="utf-8")
    code, out, err = _run(capsys, "飞天", "--catalog", str(path))
    assert code == 2 and out == ""
    assert "broken.yaml" in err


@pytest.mark.parametrize("core_url", ["", "http://core.example"])
def test_without_a_catalog_option_the_demo_catalog_is_read(capsys, monkeypatch, core_url):
    # JIUBOT_CORE_URL will switch the source to the core's catalog API (cli.catalog_source)
    monkeypatch.setenv("JIUBOT_CORE_URL", core_url)
    _, out, _ = _run(capsys, "飞天")
    assert orjson.loads(out)["catalog"].endswith("reference_core/data/catalog.yaml")
