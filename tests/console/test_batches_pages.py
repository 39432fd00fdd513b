"""The batch page on both databases: activating and voiding serial ranges (bad input changes
nothing and says why beside the field; a double submit -- also two at the same moment -- marks
once; another region's batch is a 404), and generating the printer's files with progress and a
download that only the operator who asked can fetch."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import zipfile

from sqlalchemy import func, select

from bot.console.models import AuditEntry
from bot.db import session_scope
from bot.membership import batches
from bot.membership.code_models import CodeRange, SalesRegion
from bot.membership.codes import CodeKeys, parse
from tests.console.test_web import _tree

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
TOKEN = re.compile(r'name="token" value="([^"]+)"')


async def _batches(c) -> dict[str, int]:  # type: ignore[no-untyped-def]
    await _tree(c)
    ids = {}
    async with session_scope(c.services.sessions) as session:
        for region in ("SW", "EC"):
            session.add(
                SalesRegion(tenant_id=c.tenant_id, code=region, name=region, provinces="四川", cities="")
            )
            await session.flush()
            batch = await batches.create_batch(
                session, c.tenant_id, brand="黔酒", sku=f"QJ-{region}", product_name="酱香", size=500,
                region_code=region,
            )  # fmt: skip
            ids[region] = batch.id
    return ids


async def _count(c, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        return int(
            (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
        )


async def _form(c, path: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    text = await (await c.client.get(path)).text()
    return CSRF.search(text).group(1), TOKEN.search(text).group(1)


async def test_activate_and_void_ranges(console_app):
    c = await console_app()
    ids = await _batches(c)
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    page = f"/console/codes/batches/{ids['SW']}"
    csrf, token = await _form(c, page)
    url = f"{page}/ranges"
    base = {"_csrf": csrf, "token": token, "action": "activate", "store": "", "note": ""}
    for bad, field_text in (
        ({"first": "300", "last": "200"}, "序号须在本批次范围内"),
        ({"first": "1", "last": "501"}, "序号须在本批次范围内"),
        ({"first": "abc", "last": ""}, "请输入正整数序号"),
        ({"first": "1", "last": "10", "store": "NO-SUCH-STORE"}, "门店编码不存在"),
        ({"first": "1", "last": "10", "action": "void"}, "作废须填写"),
    ):
        resp = await c.client.post(url, data={**base, **bad})
        text = await resp.text()
        assert resp.status == 400 and field_text in text, bad
        assert 'data-testid="field-error"' in text and f'value="{token}"' in text  # same token kept
    assert (
        await _count(c, CodeRange) == 0
        and await _count(c, AuditEntry, AuditEntry.action.like("codes.%")) == 0
    )

    ok = {**base, "first": "1", "last": "200"}
    first = await c.client.post(url, data=ok, allow_redirects=False)
    assert first.status == 303 and "done=marked_activate" in first.headers["Location"]
    again = await c.client.post(url, data=ok, allow_redirects=False)
    assert again.status == 303 and "done=already_marked" in again.headers["Location"]
    assert await _count(c, CodeRange) == 1
    assert await _count(c, AuditEntry, AuditEntry.action == "codes.activate") == 1
    async with session_scope(c.services.sessions) as session:
        assert (await batches.code_state(session, ids["SW"], 200)).state == "activated"
        assert (await batches.code_state(session, ids["SW"], 201)).state == "generated"

    _, token2 = await _form(c, page)
    void = {**base, "token": token2, "action": "void", "first": "50", "last": "60", "note": "印刷损坏"}
    assert (await c.client.post(url, data=void, allow_redirects=False)).status == 303
    async with session_scope(c.services.sessions) as session:
        assert (await batches.code_state(session, ids["SW"], 55)).state == "voided"
        assert (await batches.code_state(session, ids["SW"], 61)).state == "activated"
    listing = await (await c.client.get(page)).text()
    assert "50–60" in listing and "印刷损坏" in listing


async def test_two_submits_at_the_same_moment_mark_once(console_app):
    c = await console_app()
    ids = await _batches(c)
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    page = f"/console/codes/batches/{ids['EC']}"
    csrf, token = await _form(c, page)
    data = {
        "_csrf": csrf,
        "token": token,
        "action": "activate",
        "first": "1",
        "last": "",
        "store": "",
        "note": "",
    }
    answers = await asyncio.gather(
        *(c.client.post(f"{page}/ranges", data=data, allow_redirects=False) for _ in range(4))
    )
    assert sorted(r.status for r in answers) == [303] * 4
    assert sum("marked_activate" in r.headers["Location"] for r in answers) == 1
    assert await _count(c, CodeRange) == 1
    assert await _count(c, AuditEntry, AuditEntry.action == "codes.activate") == 1


async def test_another_regions_batch_is_a_404_and_untouched(console_app):
    c = await console_app()
    ids = await _batches(c)
    await c.operator("sw", "region_manager", "region", 1)
    assert (await c.login("sw")).status == 303
    listing = await (await c.client.get("/console/codes")).text()
    assert f"#{ids['SW']}" in listing and f"#{ids['EC']}" not in listing
    csrf, token = await _form(c, f"/console/codes/batches/{ids['SW']}")
    other = await c.client.get(f"/console/codes/batches/{ids['EC']}")
    assert other.status == 404 and "不在您的管辖范围" in await other.text()
    post = await c.client.post(
        f"/console/codes/batches/{ids['EC']}/ranges",
        data={"_csrf": csrf, "token": token, "action": "void", "first": "1", "last": "5", "note": "越权作废"},
    )
    assert post.status == 404 and await _count(c, CodeRange) == 0
    # a region manager writes codes but does not generate print files
    page = await (await c.client.get(f"/console/codes/batches/{ids['SW']}")).text()
    assert 'data-testid="range-form"' in page and 'data-testid="generate-form"' not in page
    gen = await c.client.post(
        f"/console/codes/batches/{ids['SW']}/generate", data={"_csrf": csrf, "token": token, "count": "5"}
    )
    assert gen.status == 403 and await _count(c, AuditEntry, AuditEntry.action == "codes.generate") == 0


async def _wait_done(c, job_url: str) -> dict:  # type: ignore[no-untyped-def]
    seen = []
    for _ in range(200):
        doc = await (await c.client.get(job_url)).json()
        seen.append(doc["percent"])
        if doc["state"] != "running":
            return {**doc, "seen": seen}
        await asyncio.sleep(0.05)
    raise AssertionError(f"job did not finish: {seen}")


async def test_generate_files_with_progress_and_a_private_download(console_app):
    c = await console_app()
    ids = await _batches(c)
    await c.operator("boss")
    await c.operator("boss2")
    assert (await c.login("boss")).status == 303
    page = f"/console/codes/batches/{ids['SW']}"
    text = await (await c.client.get(page)).text()
    csrf = CSRF.search(text).group(1)
    token = re.search(
        r'data-testid="generate-form">\s*<input[^>]*>\s*<input type="hidden" name="token" value="([^"]+)"',
        text,
    ).group(1)
    url = f"{page}/generate"
    too_many = await c.client.post(url, data={"_csrf": csrf, "token": token, "count": "30000", "zip": "1"})
    assert too_many.status == 400 and "最多 20,000" in await too_many.text()
    assert await _count(c, AuditEntry, AuditEntry.action == "codes.generate") == 0

    data = {"_csrf": csrf, "token": token, "start": "101", "count": "40", "zip": "1"}
    resp = await c.client.post(url, data=data, allow_redirects=False)
    assert resp.status == 303 and f"job={token}" in resp.headers["Location"]
    again = await c.client.post(url, data=data, allow_redirects=False)
    assert "done=already_generating" in again.headers["Location"]
    assert await _count(c, AuditEntry, AuditEntry.action == "codes.generate") == 1

    job_url = f"/console/codes/jobs/{token}"
    doc = await _wait_done(c, job_url)
    assert (
        doc["state"] == "done" and doc["percent"] == 100 and doc["csv_done"] == 40 and doc["zip_done"] == 40
    )
    shown = await (await c.client.get(resp.headers["Location"])).text()
    assert 'data-testid="download-csv"' in shown and 'data-testid="download-zip"' in shown

    got = await c.client.get(f"{job_url}/csv")
    assert got.status == 200 and "attachment" in got.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(await got.text())))
    assert rows[0] == ["batch", "serial", "code", "url"] and len(rows) == 41
    assert [int(r[1]) for r in rows[1:]] == list(range(101, 141))
    keys = CodeKeys(b"console-test-code-key-0123456789abcdef")
    ref = parse(keys, rows[1][2])
    assert (ref.tenant_id, ref.batch_id, ref.serial) == (c.tenant_id, ids["SW"], 101)
    archive = zipfile.ZipFile(io.BytesIO(await (await c.client.get(f"{job_url}/zip")).read()))
    assert len(archive.namelist()) == 40

    # another operator of the same tenant, even an HQ admin, gets nothing
    c.client.session.cookie_jar.clear()
    assert (await c.login("boss2")).status == 303
    assert (await c.client.get(job_url)).status == 404
    assert (await c.client.get(f"{job_url}/csv")).status == 404
