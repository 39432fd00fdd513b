"""Real PNG images for showqrcode and getwxacodeunlimit (segno)."""

from __future__ import annotations

import io

import segno


def qr_png(payload: str, *, scale: int = 8, dark: str = "#000000") -> bytes:
    out = io.BytesIO()
    segno.make_qr(payload, error="m").save(out, kind="png", scale=scale, border=4, dark=dark)
    return out.getvalue()


def wxacode_png(payload: str, width: int = 430, line_color: str = "#000000") -> bytes:
    """A mini-program code stand-in: a QR code of about the requested width (the real code is a
    round "sun" code that segno cannot draw; scanners in the console read the payload)."""
    qr = segno.make_qr(payload, error="h")
    modules = qr.symbol_size(scale=1, border=2)[0]
    out = io.BytesIO()
    qr.save(out, kind="png", scale=max(1, width // modules), border=2, dark=line_color)
    return out.getvalue()
