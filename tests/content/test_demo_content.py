"""The demo's content is created once: a second `jiubot demo` run finds it."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.content import library
from bot.content.demo import seed_demo_content
from bot.content.models import ContentItem, Livestream
from bot.db import session_scope
from tests.membership.conftest import engine, sessions, tenant_id  # noqa: F401 - fixtures


async def test_demo_content_is_seeded_once(sessions, tenant_id):  # noqa: F811
    await seed_demo_content(sessions, tenant_id, "MT-FT-53-500")
    await seed_demo_content(sessions, tenant_id, "MT-FT-53-500")
    async with session_scope(sessions) as session:
        assert (await session.execute(select(func.count()).select_from(ContentItem))).scalar_one() == 1
        assert (await session.execute(select(func.count()).select_from(Livestream))).scalar_one() == 1
        shown = await library.visible(session, tenant_id, role="distributor_staff", region=None)
    assert [i.title for i in shown] == ["酱香型白酒的十二道工序"]
