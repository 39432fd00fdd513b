"""Uploaded images are decoded, bounded and re-encoded: what is stored is pixels we wrote.

SVG (and anything that is not JPEG/PNG/WebP/GIF pixels) is refused, so no script can ride in an
image; EXIF and other metadata are dropped by re-encoding; the byte size and the pixel count are
capped before decoding (decompression bombs), the longest side is scaled down to ``max_side``.
"""

from __future__ import annotations

import io

from bot.content.errors import BadMedia

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
ACCEPTED = {"JPEG", "PNG", "WEBP", "GIF"}


def sanitise(data: bytes, *, max_side: int = 1280, max_bytes: int = MAX_BYTES) -> tuple[bytes, str]:
    """(re-encoded bytes, extension "jpg"|"png"); ``BadMedia`` with a reason otherwise."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise BadMedia("empty")
    if len(data) > max_bytes:
        raise BadMedia("too_large")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype", b"<html")) or b"<svg" in head:
        raise BadMedia("svg_refused")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            if fmt not in ACCEPTED:
                raise BadMedia("unsupported_format")
            width, height = probe.size
            if width * height > MAX_PIXELS or width < 1 or height < 1:
                raise BadMedia("too_many_pixels")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            has_alpha = (
                image.mode in ("RGBA", "LA", "P") and "transparency" in image.info
            ) or image.mode == "RGBA"
            picture = image.convert("RGBA" if has_alpha else "RGB")
    except BadMedia:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise BadMedia("not_an_image") from exc
    picture.thumbnail((max_side, max_side))
    out = io.BytesIO()
    if has_alpha:
        picture.save(out, "PNG", optimize=True)
        return out.getvalue(), "png"
    picture.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue(), "jpg"
