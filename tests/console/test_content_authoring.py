"""Content authoring in the console on both databases: a regional operator writes a draft with a
cover image (stored through the content storage, re-encoded), edits it, submits it and publishes
it; another region's operator gets 404 for that item on every page and action and does not see it
listed; HQ's items are readable but not writable below HQ; bad input is refused whole (4xx, a
Chinese sentence, nothing written); the per-item leaderboard lists only the reader's forwarders."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from bot.console import org
from bot.content import attribution, library, views
from bot.content.models import ContentItem
from bot.db import session_scope
from bot.membership.models import Member
from bot.wiring.features import CONTENT

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (800, 500), (150, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def _world(c) -> None:  # type: ignore[no-untyped-def]
    specs = [
        org.NodeSpec("region", 1, "EAST", "华东营销中心", "/r1/", None),
        org.NodeSpec("region", 2, "SOUTH", "华南营销中心", "/r2/", None),
    ]
    async with session_scope(c.services.sessions) as session:
        await org.apply_tree(session, c.tenant_id, specs, now=c.clock())
    await c.operator("boss")
    await c.operator("east", "region_operator", "region", 1)
    await c.operator("south", "region_operator", "region", 2)


async def _as(c, username: str) -> str:  # type: ignore[no-untyped-def]
    assert (await c.login(username)).status == 303
    return await c.csrf("/console/content")


async def _item(c, item_id: int) -> ContentItem:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        return await session.get(ContentItem, item_id)


async def _count(c) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        return (await session.execute(select(func.count()).select_from(ContentItem))).scalar_one()


def _form(csrf: str, **fields: object) -> dict:
    return {"_csrf": csrf, "kind": "article", "title": "秋季品鉴会", "summary": "十月品鉴",
            "body": "第一段\n第二段", "tag_aroma": "酱香", "tag_campaign": "秋季品鉴",
            "publish_at": "2026-12-10T20:00", "expire_at": "2027-01-10T20:00", **fields}  # fmt: skip


async def test_a_regional_operator_authors_and_publishes_its_regions_item(console_app, tmp_path):
    c = await console_app(extra_features=[CONTENT], content_dir=str(tmp_path / "media"))
    await _world(c)
    csrf = await _as(c, "east")
    made = await c.client.post(
        "/console/content/items/new", data={**_form(csrf), "image": io.BytesIO(png())}, allow_redirects=False
    )
    assert made.status == 303, await made.text()
    item_id = int(re.search(r"/content/items/(\d+)", made.headers["Location"]).group(1))
    row = await _item(c, item_id)
    assert (row.state, row.region_code, row.regions, row.created_by) == ("draft", "EAST", "EAST", "east")
    assert row.tags == "aroma:酱香,campaign:秋季品鉴" and row.image_key.endswith(".jpg")
    assert row.publish_at.isoformat().startswith("2026-12-10T12:00")  # 20:00 in Shanghai
    stored = await c.services.content.storage.get(row.image_key)
    assert stored and stored[:3] == b"\xff\xd8\xff"  # re-encoded to JPEG, not the uploaded PNG

    page = await c.client.get(f"/console/content/items/{item_id}")
    assert page.status == 200 and "秋季品鉴会" in await page.text()
    saved = await c.client.post(
        f"/console/content/items/{item_id}",
        data=_form(csrf, title="秋季品鉴会（成都站）"),
        allow_redirects=False,
    )
    assert saved.status == 303
    row = await _item(c, item_id)
    assert row.title == "秋季品鉴会（成都站）" and row.image_key.endswith(".jpg")  # cover kept
    assert (await c.client.post(f"/console/content/items/{item_id}/submit", data={"_csrf": csrf},
                                allow_redirects=False)).status == 303  # fmt: skip
    late = await c.client.post(f"/console/content/items/{item_id}", data=_form(csrf, title="改"))
    assert late.status == 409 and "不能再修改" in await late.text()
    assert (await _item(c, item_id)).title == "秋季品鉴会（成都站）"
    published = await c.client.post(
        f"/console/content/{item_id}/approve", data={"_csrf": csrf}, allow_redirects=False
    )
    assert published.status == 303
    row = await _item(c, item_id)
    assert (row.state, row.reviewed_by) == ("published", "east")


async def test_another_regions_operator_gets_404_for_the_item(console_app, tmp_path):
    c = await console_app(extra_features=[CONTENT], content_dir=str(tmp_path / "media"))
    await _world(c)
    async with session_scope(c.services.sessions) as session:
        east = await library.create(
            session, c.tenant_id, kind="article", title="华东新品", region_code="EAST"
        )
        await library.submit(session, c.tenant_id, east.id)
        hq = await library.create(session, c.tenant_id, kind="article", title="总部通稿")
        await library.submit(session, c.tenant_id, hq.id)
    csrf = await _as(c, "south")
    listing = await (await c.client.get("/console/content")).text()
    assert "华东新品" not in listing and "总部通稿" in listing
    for path in (f"/console/content/items/{east.id}", f"/console/content/items/{east.id}/board"):
        assert (await c.client.get(path)).status == 404
    for path in (
        f"/console/content/{east.id}/approve",
        f"/console/content/{east.id}/reject",
        f"/console/content/items/{east.id}",
        f"/console/content/items/{east.id}/submit",
    ):
        assert (await c.client.post(path, data=_form(csrf))).status == 404, path
    assert (await _item(c, east.id)).state == "review" and (await _item(c, east.id)).title == "华东新品"
    # HQ's item: readable below HQ, not publishable there
    assert (await c.client.get(f"/console/content/items/{hq.id}")).status == 200
    assert (await c.client.post(f"/console/content/{hq.id}/approve", data={"_csrf": csrf})).status == 404
    assert (await _item(c, hq.id)).state == "review"
    # HQ publishes either
    csrf = await _as(c, "boss")
    for item_id in (east.id, hq.id):
        done = await c.client.post(
            f"/console/content/{item_id}/approve", data={"_csrf": csrf}, allow_redirects=False
        )
        assert done.status == 303 and (await _item(c, item_id)).state == "published"


async def test_bad_input_is_refused_whole(console_app, tmp_path):
    c = await console_app(extra_features=[CONTENT], content_dir=str(tmp_path / "media"))
    await _world(c)
    csrf = await _as(c, "boss")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    cases = [
        ({"image": io.BytesIO(svg)}, "不支持 SVG"),
        ({"title": ""}, "标题必填"),
        ({"expire_at": "2026-12-01T08:00"}, "下架时间须晚于发布时间"),
        ({"publish_at": "明天"}, "时间格式不正确"),
        ({"channels_url": "http://channels.weixin.qq.com/x"}, "https://"),
    ]
    for fields, sentence in cases:
        resp = await c.client.post("/console/content/items/new", data=_form(csrf, **fields))
        assert resp.status == 400 and sentence in await resp.text(), fields
    assert await _count(c) == 0
    assert not [p for p in (tmp_path / "media").rglob("*") if p.is_file()]  # no file stored either


async def test_the_item_leaderboard_lists_the_readers_forwarders(console_app, tmp_path):
    c = await console_app(extra_features=[CONTENT], content_dir=str(tmp_path / "media"))
    await _world(c)
    async with session_scope(c.services.sessions) as session:
        item = await library.create(session, c.tenant_id, kind="article", title="全国通稿")
        await library.submit(session, c.tenant_id, item.id)
        await library.approve(session, c.tenant_id, item.id, by="hq")
        people = {}
        for name, region in (("east_a", "EAST"), ("east_b", "EAST"), ("south_a", "SOUTH")):
            member = Member(tenant_id=c.tenant_id, role="distributor_staff", region_code=region)
            session.add(member)
            await session.flush()
            people[name] = member.id
        readers = []
        for _ in range(4):
            reader = Member(tenant_id=c.tenant_id, role="consumer")
            session.add(reader)
            await session.flush()
            readers.append(reader.id)
        for name, n in (("east_a", 1), ("east_b", 3), ("south_a", 4)):
            share = await attribution.share_for(session, c.tenant_id, item.id, people[name])
            for reader in readers[:n]:
                await views.record_view(session, share, reader)
    await _as(c, "boss")
    text = await (await c.client.get(f"/console/content/items/{item.id}/board?by=views")).text()
    order = [int(m) for m in re.findall(r'/console/members/(\d+)"', text)]
    assert order == [people["south_a"], people["east_b"], people["east_a"]]
    await _as(c, "east")
    text = await (await c.client.get(f"/console/content/items/{item.id}/board?by=orders")).text()
    order = [int(m) for m in re.findall(r'/console/members/(\d+)"', text)]
    assert order == [people["east_b"], people["east_a"]]  # ties by unique viewers; SOUTH's hidden
