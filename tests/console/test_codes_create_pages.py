"""Creating a sales region and a code batch from the console, on both databases: the CLI's checks
with a Chinese message beside the field and nothing written, one row (and one audit entry) for a
double submit -- also for submits at the same moment --, the new batch opening on its page with
the generation form, and nobody but those who may manage codes reaching the forms."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from bot.console.models import AuditEntry
from bot.db import session_scope
from bot.membership import batches
from bot.membership.code_models import CodeBatch, CodeRange, SalesRegion
from tests.console.test_web import _tree
from tests.ordering_flows.conftest import (  # noqa: F401  (fixtures)
    CORE_KEY,
    core_db,
    core_seed_pg,
    core_seed_sqlite,
    start_core,
)

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
TOKEN = re.compile(r'name="token" value="([^"]+)"')


async def _count(c, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        return int(
            (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
        )


async def _form(c, path: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    text = await (await c.client.get(path)).text()
    return CSRF.search(text).group(1), TOKEN.search(text).group(1)


async def test_create_a_region_checks_like_the_cli_and_does_it_once(console_app):
    c = await console_app()
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    listing = await (await c.client.get("/console/codes/regions")).text()
    assert 'data-testid="region-new"' in listing
    csrf, token = await _form(c, "/console/codes/regions/new")
    url = "/console/codes/regions/new"
    base = {
        "_csrf": csrf,
        "token": token,
        "code": "SW",
        "name": "西南大区",
        "provinces": "四川,贵州",
        "cities": "",
    }
    for bad, field_text in (
        ({"code": "西南"}, "大区编码须为"),
        ({"name": "  "}, "请填写 1–64 字的大区名称"),
        ({"provinces": "四川,火星"}, "省份名称无法识别"),
        ({"provinces": "", "cities": ""}, "请至少填写一个省份或城市"),
        ({"token": ""}, "表单已过期"),
    ):
        resp = await c.client.post(url, data={**base, **bad})
        text = await resp.text()
        assert resp.status == 400 and field_text in text, bad
        assert 'data-testid="field-error"' in text
    assert await _count(c, SalesRegion) == 0
    assert await _count(c, AuditEntry, AuditEntry.action.like("codes.%")) == 0

    first = await c.client.post(url, data={**base, "provinces": "四川，贵州"}, allow_redirects=False)
    assert first.status == 303 and "done=region_created" in first.headers["Location"]
    again = await c.client.post(url, data=base, allow_redirects=False)
    assert again.status == 303 and "done=region_already_created" in again.headers["Location"]
    async with session_scope(c.services.sessions) as session:
        region = (await session.execute(select(SalesRegion))).scalar_one()
    assert (region.code, region.name, region.provinces) == ("SW", "西南大区", "四川,贵州")
    assert await _count(c, AuditEntry, AuditEntry.action == "codes.region_create") == 1
    assert "西南大区" in await (await c.client.get("/console/codes/regions")).text()

    # the same code from a new form is refused beside the field; the first region is unchanged
    _, token2 = await _form(c, url)
    taken = await c.client.post(url, data={**base, "token": token2, "name": "别的"})
    assert taken.status == 400 and "该大区编码已存在" in await taken.text()
    assert await _count(c, SalesRegion) == 1
    assert await _count(c, SalesRegion, SalesRegion.name == "西南大区") == 1


async def _region(c, code: str = "SW") -> None:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        session.add(SalesRegion(tenant_id=c.tenant_id, code=code, name="西南", provinces="四川", cities=""))


async def test_create_a_batch_checks_like_the_cli_and_opens_its_page(console_app):
    c = await console_app()
    await _region(c)
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    assert 'data-testid="batch-new"' in await (await c.client.get("/console/codes")).text()
    csrf, token = await _form(c, "/console/codes/new")
    url = "/console/codes/new"
    base = {
        "_csrf": csrf, "token": token, "brand": "黔酒", "sku": "QJ-500", "name": "酱香典藏", "size": "1000",
        "region": "SW", "distributor": "", "note": "",
    }  # fmt: skip
    for bad, field_text in (
        ({"brand": ""}, "请填写 1–64 字的品牌"),
        ({"sku": "酱香 500"}, "SKU 须为"),
        ({"name": ""}, "请填写 1–128 字的产品名称"),
        ({"size": "0"}, "批次数量须为 1 到 16,777,215"),
        ({"size": "16777216"}, "批次数量须为 1 到 16,777,215"),
        ({"size": "十"}, "请输入正整数序号"),
        ({"region": "NOPE"}, "该销售大区不存在"),
        ({"note": "长" * 201}, "备注不能超过 200 字"),
    ):
        resp = await c.client.post(url, data={**base, **bad})
        text = await resp.text()
        assert resp.status == 400 and field_text in text, bad
        assert 'data-testid="field-error"' in text and f'value="{token}"' in text  # same token kept
    assert await _count(c, CodeBatch) == 0
    assert await _count(c, AuditEntry, AuditEntry.action.like("codes.%")) == 0

    ok = {**base, "activate": "1"}
    first = await c.client.post(url, data=ok, allow_redirects=False)
    assert first.status == 303 and "done=batch_created" in first.headers["Location"]
    batch_id = int(re.search(r"/codes/batches/(\d+)", first.headers["Location"]).group(1))
    page = await (await c.client.get(first.headers["Location"])).text()
    assert "批次已创建" in page and 'data-testid="generate-form"' in page  # generation with progress
    again = await c.client.post(url, data=ok, allow_redirects=False)
    assert again.status == 303 and "done=batch_already_created" in again.headers["Location"]
    assert await _count(c, CodeBatch) == 1
    assert await _count(c, AuditEntry, AuditEntry.action == "codes.batch_create") == 1
    async with session_scope(c.services.sessions) as session:
        batch = await batches.get_batch(session, batch_id, c.tenant_id)
        assert (batch.sku, batch.size, batch.region_code) == ("QJ-500", 1000, "SW")
        assert (await batches.code_state(session, batch_id, 1000)).state == "activated"
    assert await _count(c, CodeRange, CodeRange.batch_id == batch_id) == 1


async def test_submits_at_the_same_moment_create_one_batch(console_app):
    c = await console_app()
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    csrf, token = await _form(c, "/console/codes/new")
    data = {
        "_csrf": csrf, "token": token, "brand": "黔酒", "sku": "QJ", "name": "酱香", "size": "10",
        "region": "", "distributor": "", "note": "",
    }  # fmt: skip
    answers = await asyncio.gather(
        *(c.client.post("/console/codes/new", data=data, allow_redirects=False) for _ in range(4))
    )
    assert [r.status for r in answers] == [303] * 4
    assert sum("done=batch_created" in r.headers["Location"] for r in answers) == 1
    assert await _count(c, CodeBatch) == 1
    assert await _count(c, AuditEntry, AuditEntry.action == "codes.batch_create") == 1


async def test_only_who_may_manage_codes_reaches_the_forms(console_app):
    c = await console_app()
    await _tree(c)
    await _region(c)
    await c.operator("sw", "region_manager", "region", 1)
    assert (await c.login("sw")).status == 303
    assert 'data-testid="batch-new"' not in await (await c.client.get("/console/codes")).text()
    assert 'data-testid="region-new"' not in await (await c.client.get("/console/codes/regions")).text()
    for path in ("/console/codes/new", "/console/codes/regions/new"):
        assert (await c.client.get(path)).status == 403
    csrf = CSRF.search(await (await c.client.get("/console/codes")).text()).group(1)
    posts = {
        "/console/codes/new": {"brand": "黔酒", "sku": "QJ", "name": "酱香", "size": "10", "region": "SW"},
        "/console/codes/regions/new": {"code": "XX", "name": "某区", "provinces": "四川"},
    }
    for path, data in posts.items():
        resp = await c.client.post(path, data={"_csrf": csrf, "token": "t" * 22, **data})
        assert resp.status == 403, path
    assert await _count(c, CodeBatch) == 0
    assert await _count(c, SalesRegion) == 1


async def test_with_a_core_the_sku_must_be_in_its_catalog(console_app, core_db):  # noqa: F811
    """As ``jiubot codes batch create``: printed codes live for years, a mistyped SKU credits
    nothing. Checked against the reference core over real HTTP."""
    server = await start_core(core_db)
    try:
        c = await console_app(core_url=server.url, core_api_key=CORE_KEY)
        await c.operator("boss")
        assert (await c.login("boss")).status == 303
        csrf, token = await _form(c, "/console/codes/new")
        data = {
            "_csrf": csrf, "token": token, "brand": "茅台", "sku": "MT-FT-53-501", "name": "飞天",
            "size": "10", "region": "", "distributor": "", "note": "",
        }  # fmt: skip
        refused = await c.client.post("/console/codes/new", data=data)
        assert refused.status == 400 and "中台商品目录中没有该 SKU" in await refused.text()
        assert await _count(c, CodeBatch) == 0
        ok = await c.client.post(
            "/console/codes/new", data={**data, "sku": "MT-FT-53-500"}, allow_redirects=False
        )
        assert ok.status == 303 and "done=batch_created" in ok.headers["Location"]
        assert await _count(c, CodeBatch, CodeBatch.sku == "MT-FT-53-500") == 1
    finally:
        await server.runner.cleanup()


async def test_two_forms_racing_for_one_region_code_create_it_once(console_app):
    c = await console_app()
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    forms = [await _form(c, "/console/codes/regions/new") for _ in range(2)]
    answers = await asyncio.gather(
        *(
            c.client.post(
                "/console/codes/regions/new",
                data={"_csrf": csrf, "token": token, "code": "SW", "name": f"西南{n}", "provinces": "四川"},
                allow_redirects=False,
            )
            for n, (csrf, token) in enumerate(forms)
        )
    )
    assert sorted(r.status for r in answers) == [303, 400]
    assert await _count(c, SalesRegion) == 1
    assert await _count(c, AuditEntry, AuditEntry.action == "codes.region_create") == 1
