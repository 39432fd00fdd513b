"""Chat: the menu's scan button (scancode_waitmsg), 积分, age confirmation, push opt-out."""

from __future__ import annotations

import itertools
import time

from sqlalchemy import select

from bot.db import session_scope
from bot.membership.models import Member
from tests.conftest import OA_AES_KEY, OA_APPID, OA_TOKEN
from tests.web.member_app import member_app  # noqa: F401 - fixture
from tests.wechat_client import WeChatPoster, event_xml, text_xml

_clock = itertools.count(int(time.time()))


def _scan_event(openid: str, scanned: str) -> str:
    info = (
        "<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>"
        f"<ScanResult><![CDATA[{scanned}]]></ScanResult></ScanCodeInfo>"
    )
    # a distinct CreateTime per scan, as WeChat sends (equal ones are deduplicated as retries)
    return event_xml(openid, "scancode_waitmsg", key="scan_bottle", extra=info, create_time=next(_clock))


async def test_menu_scan_age_confirmation_then_points_and_balance(member_app):  # noqa: F811
    m = await member_app()
    poster = WeChatPoster(m.client, OA_APPID, OA_TOKEN, aes_key=OA_AES_KEY, mode="safe")
    batch = await m.batch()
    url = f"https://jb.example.cn/c/{m.code(batch.id, 5)}"
    asked = await poster.post(_scan_event("oa-chat-1", url))
    assert "年满18" not in (asked.text or "") and "我已满18岁" in asked.text
    confirmed = await poster.post(text_xml("oa-chat-1", "我已满18岁"))
    assert "正品验证通过" in confirmed.text and "10 消费积分" in confirmed.text
    again = await poster.post(_scan_event("oa-chat-1", url))
    assert "您已于" in again.text
    other = await poster.post(_scan_event("oa-chat-2", url))
    # the counterfeit warning is consumer protection: shown even before age confirmation
    assert "此码已于" in other.text and "假冒" in other.text
    points = await poster.post(text_xml("oa-chat-1", "积分"))
    assert "消费积分：10 分" in points.text and "普通会员" in points.text
    forged = await poster.post(_scan_event("oa-chat-1", "https://jb.example.cn/c/" + "1" * 32))
    assert "不是本品牌" in forged.text or "防伪码" in forged.text


async def test_push_opt_out_and_back(member_app):  # noqa: F811
    m = await member_app()
    poster = WeChatPoster(m.client, OA_APPID, OA_TOKEN, aes_key=OA_AES_KEY, mode="safe")
    off = await poster.post(text_xml("oa-chat-3", "退订"))
    assert "已为您关闭活动推送" in off.text
    async with session_scope(m.services.sessions) as session:
        assert (await session.execute(select(Member.push_opt_out))).scalar_one() is True
    on = await poster.post(text_xml("oa-chat-3", "恢复推送"))
    assert "恢复活动推送" in on.text
