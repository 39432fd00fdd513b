"""A validly signed mini-program session whose member no longer exists is a 401 with a Chinese
message (log in again), never a 500, on every membership endpoint."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import delete

from bot.db import session_scope
from bot.membership.models import Member

GONE = 987654321


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/mp/api/points", None),
        ("GET", "/mp/api/rewards", None),
        ("GET", "/mp/api/referral", None),
        ("POST", "/mp/api/member/age", {"confirm": True}),
        ("POST", "/mp/api/member/push", {"opt_out": True}),
        ("POST", "/mp/api/rewards/redeem", {"item_id": 1, "request_id": "r-1"}),
        ("POST", "/mp/api/scan", {"q": quote("https://jb.example.cn/c/" + "0" * 32, safe="")}),
    ],
)
async def test_a_session_of_a_missing_member_is_401(member_app, method, path, body):
    m = await member_app()
    ghost = await m.member("mp-ghost")
    async with session_scope(m.services.sessions) as session:
        await session.execute(delete(Member).where(Member.id == ghost))
    for member_id in (ghost, GONE):
        resp = await m.client.request(method, path, json=body, headers=m.bearer(member_id))
        assert resp.status == 401
        answer = await resp.json()
        assert answer["error"] == "session_invalid" and "重新登录" in answer["message"]
