"""A forwarder's personal poster: the item's image, the title, his name and a QR code to his link.

Composed with Pillow and segno; Chinese text needs a CJK font (Debian's fonts-noto-cjk,
installed by scripts/browser-deps). Pure and synchronous: callers run it in a thread and cache
the PNG under a key of (item image, title, name, link), so a poster is drawn once.
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache
from pathlib import Path

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
WIDTH, HEIGHT = 750, 1200


class FontMissing(RuntimeError):
    pass


@lru_cache(maxsize=1)
def font_path() -> str:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    raise FontMissing("no CJK font: install fonts-noto-cjk (scripts/browser-deps)")


def cache_key(image_key: str, title: str, name: str, link: str) -> str:
    digest = hashlib.sha256("\x00".join((image_key, title, name, link, "v1")).encode()).hexdigest()
    return f"posters/{digest[:32]}.png"


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compose(image: bytes | None, title: str, name: str, link: str, brand: str) -> bytes:
    import segno
    from PIL import Image, ImageDraw, ImageFont, ImageOps

    canvas = Image.new("RGB", (WIDTH, HEIGHT), (250, 246, 238))
    if image:
        with Image.open(io.BytesIO(image)) as picture:
            cover = picture.convert("RGB")
        canvas.paste(ImageOps.fit(cover, (WIDTH, 780)), (0, 0))
    draw = ImageDraw.Draw(canvas)
    path = font_path()
    big, small = ImageFont.truetype(path, 40), ImageFont.truetype(path, 28)
    draw.rectangle((0, 780, WIDTH, HEIGHT), fill=(139, 26, 26))
    # the left column stops short of the QR code (x >= 470): at most 10 big or 14 small characters
    draw.text((40, 810), title[:10], font=big, fill=(255, 255, 255))
    if len(title) > 10:
        draw.text((40, 862), _fit(title[10:], 10), font=big, fill=(255, 255, 255))
    draw.text((40, 950), _fit(name, 14), font=small, fill=(255, 232, 200))
    draw.text((40, 990), "为您推荐", font=small, fill=(255, 232, 200))
    draw.text((40, 1130), _fit(brand, 14), font=small, fill=(255, 232, 200))
    qr = segno.make(link, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=6, border=2)
    with Image.open(io.BytesIO(buffer.getvalue())) as code:
        code_image = code.convert("RGB").resize((240, 240))
    canvas.paste(code_image, (WIDTH - 280, 880))
    draw.text((WIDTH - 258, 1135), "长按识别二维码", font=small, fill=(255, 255, 255))
    out = io.BytesIO()
    canvas.save(out, "PNG", optimize=True)
    return out.getvalue()
