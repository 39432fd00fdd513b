"""Small SVG charts for the report, written by hand (no plotting dependency): a line chart of
daily series and a grouped bar chart per SKU. Labels are escaped; sizes are in viewBox units
so the charts scale in the H5 page and in the PDF alike."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

COLORS = ("#8c1c24", "#b88a3b", "#7a6f6a")
W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 56


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    return float(((int(value) // step) + 1) * step)


def _frame(top: float, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        'font-family="Noto Sans CJK SC, sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="#fff"/>',
    ]
    plot_h = H - TOP - BOTTOM
    for k in range(5):
        y = TOP + plot_h * k / 4
        value = top * (4 - k) / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#7a6f6a">{value:g}</text>'
        )
    step = (W - LEFT - RIGHT) / max(1, len(labels))
    for i, label in enumerate(labels):
        x = LEFT + step * (i + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle" fill="#2b2220">'
            f"{escape(label)}</text>"
        )
    for n, (name, _) in enumerate(series):
        x = LEFT + n * 120
        parts.append(f'<rect x="{x}" y="{H - 18}" width="12" height="12" fill="{COLORS[n % 3]}"/>')
        parts.append(f'<text x="{x + 16}" y="{H - 8}" fill="#2b2220">{escape(name)}</text>')
    return parts


def line(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> str:
    top = _nice_max(max((v for _, values in series for v in values), default=0))
    parts = _frame(top, labels, series)
    plot_h = H - TOP - BOTTOM
    step = (W - LEFT - RIGHT) / max(1, len(labels))
    for n, (_, values) in enumerate(series):
        points = " ".join(
            f"{LEFT + step * (i + 0.5):.1f},{TOP + plot_h * (1 - v / top):.1f}" for i, v in enumerate(values)
        )
        parts.append(f'<polyline points="{points}" fill="none" stroke="{COLORS[n % 3]}" stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)


def bars(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> str:
    top = _nice_max(max((v for _, values in series for v in values), default=0))
    parts = _frame(top, labels, series)
    plot_h = H - TOP - BOTTOM
    step = (W - LEFT - RIGHT) / max(1, len(labels))
    width = step * 0.7 / max(1, len(series))
    for n, (_, values) in enumerate(series):
        for i, v in enumerate(values):
            height = plot_h * v / top
            x = LEFT + step * i + step * 0.15 + n * width
            parts.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" '
                f'width="{width:.1f}" height="{height:.1f}" '
                f'fill="{COLORS[n % 3]}"/>'
            )
    parts.append("</svg>")
    return "".join(parts)
