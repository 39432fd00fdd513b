"""Uploads are decoded and re-encoded (no SVG, no metadata, bounded size); the poster draws
Chinese text with the CJK font; local storage refuses keys that could leave its folder."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.content import images, poster, storage
from bot.content.errors import BadMedia


def _jpeg(size=(3000, 2000), exif: bool = False) -> bytes:
    picture = Image.new("RGB", size, (140, 30, 40))
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x8825] = {2: (30.0, 39.0, 0.0)}  # GPS
        picture.save(out, "JPEG", exif=data)
    else:
        picture.save(out, "JPEG")
    return out.getvalue()


def test_a_large_photo_is_scaled_down_and_its_metadata_dropped():
    raw = _jpeg(exif=True)
    assert b"SecretCam" in raw
    clean, ext = images.sanitise(raw)
    assert ext == "jpg" and b"SecretCam" not in clean
    with Image.open(io.BytesIO(clean)) as shown:
        assert max(shown.size) == 1280 and not shown.getexif()


@pytest.mark.parametrize(
    "data,reason",
    [
        (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "svg_refused",
        ),
        (b"<svg onload=alert(1)></svg>", "svg_refused"),
        (b"  \n<!DOCTYPE html><html><svg/></html>", "svg_refused"),
        (b"GIF89a" + b"\x00" * 20, "not_an_image"),
        (b"not an image at all", "not_an_image"),
        (b"", "empty"),
    ],
)
def test_svg_and_garbage_are_refused(data, reason):
    with pytest.raises(BadMedia) as caught:
        images.sanitise(data)
    assert caught.value.reason == reason


def test_size_limits():
    with pytest.raises(BadMedia) as caught:
        images.sanitise(_jpeg((200, 200)), max_bytes=100)
    assert caught.value.reason == "too_large"
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, "PNG")  # small file, 81 megapixels
    with pytest.raises(BadMedia) as caught:
        images.sanitise(bomb.getvalue())
    assert caught.value.reason == "too_many_pixels"


def test_transparent_png_stays_png():
    out = io.BytesIO()
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(out, "PNG")
    clean, ext = images.sanitise(out.getvalue())
    assert ext == "png"
    with Image.open(io.BytesIO(clean)) as shown:
        assert shown.mode == "RGBA"


def test_poster_is_drawn_with_the_cjk_font_and_its_cache_key_follows_its_inputs():
    png = poster.compose(
        _jpeg((800, 600)), "酱香型白酒的十二道工序", "经销商 王经理", "https://jb.example.cn/s/x.y", "黔酒"
    )
    with Image.open(io.BytesIO(png)) as shown:
        assert shown.size == (poster.WIDTH, poster.HEIGHT)
    assert poster.font_path().endswith(".ttc")
    a = poster.cache_key("m/a.jpg", "t", "王", "https://x/s/1")
    assert a == poster.cache_key("m/a.jpg", "t", "王", "https://x/s/1")
    assert a != poster.cache_key("m/a.jpg", "t", "李", "https://x/s/1")


async def test_local_storage_round_trip_and_key_guard(tmp_path):
    store = storage.LocalStorage(tmp_path)
    key = storage.content_key(b"abc", "jpg")
    await store.put(key, b"abc")
    assert await store.get(key) == b"abc" and await store.exists(key)
    assert await store.get(storage.content_key(b"other", "jpg")) is None
    for bad in ("../etc/passwd.jpg", "/abs.jpg", "m/x.svg", "m/../../x.jpg"):
        with pytest.raises(ValueError):
            await store.put(bad, b"x")
