"""The weekly report as JSON, an H5 page (jinja2, charts as inline SVG written by ``charts``) and a PDF
(WeasyPrint; Chinese set in Noto Sans CJK from Debian's fonts-noto-cjk)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.analytics import charts
from bot.analytics.report import Figures, Metric

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@functools.lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html"]),
    )


@functools.lru_cache(maxsize=1)
def labels() -> dict[str, Any]:
    return yaml.safe_load((TEMPLATES / "reports" / "labels.yaml").read_text(encoding="utf-8"))


def shown(metric: Metric) -> str:
    units = labels()["units"]
    v = metric.value
    if v is None:
        return "—"
    if metric.unit == "fen":
        return f"{v / 100:,.2f}{units['fen']}"
    if metric.unit == "pct":
        return f"{100 * v:.1f}{units['pct']}"
    if metric.unit == "ms":
        return f"{v / 1000:,.1f}{units['ms']}"
    return f"{int(v):,}"


def _change(metric: Metric) -> tuple[str, str]:
    words = labels()["change"]
    change = metric.change
    if change is None:
        return ("flat", words["none"] if metric.previous in (None, 0) and metric.value else words["flat"])
    if abs(change) < 0.0005:
        return ("flat", words["flat"])
    pct = f"{100 * change:.1f}"
    return ("up", words["up"].format(pct=pct)) if change > 0 else ("down", words["down"].format(pct=pct))


def _charts(figures: Figures) -> tuple[str, str]:
    names = labels()["charts"]
    trend = charts.line(
        labels()["weekdays"],
        [
            (names["scans"], figures.daily.scans),
            (names["orders"], figures.daily.orders),
            (names["views"], figures.daily.views),
        ],
    )
    skus = [sku for sku, _, _ in figures.top_skus]
    sku_chart = charts.bars(
        skus,
        [
            (names["ordered"], [o for _, o, _ in figures.top_skus]),
            (names["scanned"], [n for _, _, n in figures.top_skus]),
        ],
    )
    return trend, sku_chart


def html(figures: Figures, *, brand: str, generated: datetime) -> str:
    trend_svg, sku_svg = _charts(figures)
    metrics = []
    for m in figures.metrics:
        trend, text = _change(m)
        metrics.append({"key": m.key, "shown": shown(m), "trend": trend, "change_text": text})
    return (
        _env()
        .get_template("pages/weekly_report.html")
        .render(
            labels=labels(),
            brand=brand,
            week=figures.week,
            start=figures.start.isoformat(),
            end=(figures.start + timedelta(days=6)).isoformat(),
            scope=figures.scope.kind,
            scope_code=figures.scope.code,
            metrics=metrics,
            trend_svg=trend_svg,
            sku_svg=sku_svg,
            top_skus=figures.top_skus,
            unreachable=dict(figures.unreachable),
            unreachable_previous=dict(figures.unreachable_previous),
            slow_moving=figures.slow_moving,
            transfers=figures.transfers,
            generated=generated.strftime("%Y-%m-%d %H:%M"),
        )
    )


def pdf(page: str) -> bytes:
    from weasyprint import HTML  # type: ignore[import-untyped]

    return HTML(string=page).write_pdf()
