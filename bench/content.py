"""Share-page throughput with attribution against the same page without it, and posters/s.

One process: jiubot's app (membership + content features, PostgreSQL and Redis) on a loopback
port, and an aiohttp client with ``--clients`` concurrent viewers (each a signed-in member):

  attributed  GET /s/<token>: token check, item, one Redis round trip (the view onto the view
              stream, the radar minute, the viewer's own share code and the forwarder's name),
              the page; the stream's writer runs in the same process (a worker of the app) and
              stores the views in batches (view, daily-unique, touch rows) during the run, so
              its database work is paid inside the measured rate; the stream is drained
              (and counted against the views served) after each round
  plain       the same page from the same token, item and brand (``content_pages._load``, one
              transaction, as the share page), with no attribution and a fixed forwarder name

The two run interleaved in rounds (A B A B ...) so drift hits both; the ratio attributed/plain is
printed against the goal (>= 0.6). Then posters/s: ``poster.compose`` (1280 px cover, CJK text,
QR) in one thread, uncached, and the cached path (storage read).

    .venv/bin/python bench/content.py [--seconds 5] [--clients 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_DSN = os.environ.get("JIUBOT_BENCH_PG_DSN", "postgresql://jiubot:jiubot@127.0.0.1:5432/jiubot")
REDIS_URL = os.environ.get("JIUBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
UA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI"


def _cover() -> bytes:
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (1600, 1000), (120, 30, 30))
    draw = ImageDraw.Draw(picture)
    for i in range(0, 1600, 80):
        draw.rectangle((i, 600, i + 40, 1000), fill=(190, 140, 60))
    out = io.BytesIO()
    picture.save(out, "JPEG")
    return out.getvalue()


async def _run(db_url: str, args: argparse.Namespace) -> dict[str, float]:
    import aiohttp
    from aiohttp import web
    from sqlalchemy import func, select

    from bot import keys
    from bot.app import create_app
    from bot.config import load_settings
    from bot.content import attribution, images, library, poster, storage
    from bot.content.models import ContentView
    from bot.db import session_scope
    from bot.membership import actions as members
    from bot.web import content_pages
    from bot.web.h5auth import COOKIE, _mac
    from bot.web.member_pages import render
    from bot.wiring.features import CONTENT, MEMBERSHIP

    os.environ["JIUBOT_CONTENT_DIR"] = tempfile.mkdtemp(prefix="bench-content-")
    settings = load_settings(
        database_url=db_url, redis_url=REDIS_URL, redis_prefix=f"bench:content:{os.getpid()}:",
        oa_appid="wxbenchoa0000001", oa_token="benchToken123", log_level="WARNING",
        secret_key="bench-secret-0123456789", public_base_url="http://127.0.0.1", _env_file=None,
    )  # fmt: skip

    async def plain(request: web.Request) -> web.StreamResponse:
        _share, item, brand = await content_pages._load(request)
        member = content_pages.current_member(request)
        assert member is not None
        return render(
            "content_share", brand=brand, item=item, forwarder="经销商", image_url="", share_url="",
            follow_url="", beacon_url="", view_token="", wx=None, jssdk_url="", paragraphs=[item.body],
        )  # fmt: skip

    app = create_app(settings, features=[MEMBERSHIP, CONTENT], background=False)
    app.router.add_get("/bench/plain/{token}", plain)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    services = app[keys.SERVICES]
    tenant = next(a.tenant_id for a in services.registry.all())
    data, ext = images.sanitise(_cover())
    key = storage.content_key(data, ext)
    await services.content.storage.put(key, data)
    async with session_scope(services.sessions) as session:
        item = await library.create(session, tenant, kind="article", title="酱香型白酒的十二道工序",
                                    body="端午制曲，重阳下沙。", image_key=key)  # fmt: skip
        await library.submit(session, tenant, item.id)
        await library.approve(session, tenant, item.id, by="bench")
        forwarder = await members.ensure_member(session, tenant, "wx-bench-other", "o-forwarder")
        viewers = [
            await members.ensure_member(session, tenant, "wx-bench-other", f"o-v{i}")
            for i in range(args.clients)
        ]
        share = await attribution.share_for(session, tenant, item.id, forwarder)
    token = attribution.share_token(services.content.secret, share)

    def cookie(member_id: int) -> str:
        body = f"{tenant}.{member_id}.{int(time.time()) + 86400}"
        return f"{COOKIE}={body}.{_mac(settings.secret_key, body)}"

    async def measure(path: str, *, attributed: bool = False) -> float:
        done = 0
        stop = time.perf_counter() + args.seconds

        async def viewer(member_id: int) -> None:
            nonlocal done
            headers = {"User-Agent": UA, "Cookie": cookie(member_id)}
            async with aiohttp.ClientSession() as http:
                while time.perf_counter() < stop:
                    async with http.get(f"http://127.0.0.1:{port}{path}", headers=headers) as resp:
                        assert resp.status == 200, resp.status
                        await resp.read()
                    done += 1

        began = time.perf_counter()
        await asyncio.gather(*(viewer(v) for v in viewers))
        if attributed:  # the backlog the writer has not stored yet is part of the cost
            await views.drain(services.sessions)
            served.append(done)
        return done / (time.perf_counter() - began)

    rates: dict[str, list[float]] = {"attributed": [], "plain": []}
    served: list[int] = []
    views = services.content.views
    assert views is not None
    await measure(f"/bench/plain/{token}")  # warm-up
    for _ in range(args.rounds):
        rates["attributed"].append(await measure(f"/s/{token}", attributed=True))
        rates["plain"].append(await measure(f"/bench/plain/{token}"))
    async with session_scope(services.sessions) as session:
        stored = (await session.execute(select(func.count()).select_from(ContentView))).scalar_one()
    assert stored == sum(served), (stored, served)  # every attributed view served is in the database
    await runner.cleanup()

    began, drawn = time.perf_counter(), 0
    while time.perf_counter() - began < args.seconds:
        await asyncio.to_thread(
            poster.compose, data, item.title, f"经销商 {drawn}", f"http://x/s/{drawn}", "品牌"
        )
        drawn += 1
    composed = drawn / (time.perf_counter() - began)
    cache_key = poster.cache_key(key, item.title, "经销商", "http://x/s/1")
    await services.content.storage.put(cache_key, b"x" * 200_000)
    began, read = time.perf_counter(), 0
    while time.perf_counter() - began < 1:
        await services.content.storage.get(cache_key)
        read += 1
    cached = read / (time.perf_counter() - began)
    best = {k: max(v) for k, v in rates.items()}
    middle = {k: statistics.median(v) for k, v in rates.items()}
    print(f"ratio of the medians of the rounds: {middle['attributed'] / middle['plain']:.2f}")
    print(
        "rounds (views/s): " + "; ".join(f"{k} " + " ".join(f"{r:.0f}" for r in v) for k, v in rates.items())
    )
    return {**best, "posters_composed": composed, "posters_cached": cached}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import psycopg

    from bot.migrate import upgrade

    name = f"bench_content_{os.getpid()}"
    base = PG_DSN.rsplit("/", 1)[0]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    try:
        upgrade(db_url)
        result = asyncio.run(_run(db_url, args))
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ratio = result["attributed"] / result["plain"]
    print(f"share page, attributed: {result['attributed']:.0f} views/s")
    print(f"share page, plain:      {result['plain']:.0f} views/s")
    print(f"ratio attributed/plain: {ratio:.2f} (goal >= 0.6: {'met' if ratio >= 0.6 else 'missed'})")
    print(
        f"posters composed: {result['posters_composed']:.1f}/s (one thread); cached reads: {result['posters_cached']:.0f}/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
