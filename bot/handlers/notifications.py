"""Outcomes WeChat reports about our pushes: recorded, never answered."""

from __future__ import annotations

from typing import Any

from bot.db import session_scope
from bot.dispatch import Router
from bot.messages import Inbound, NoReply, Reply
from bot.messaging import actions as messaging
from bot.messaging.interface import Receipt
from bot.services import Services
from bot.tenancy.registry import AppConfig

router = Router("notifications")


def _items(node: Any) -> list[dict[str, Any]]:
    """A single <List> parses to a dict and several to a list (WECHAT_PROTOCOL.md 2.2)."""
    if node is None:
        return []
    if isinstance(node, dict):
        inner = node.get("List", node)
        return [inner] if isinstance(inner, dict) else [i for i in inner or [] if isinstance(i, dict)]
    if isinstance(node, list):
        return [i for i in node if isinstance(i, dict)]
    return []


def receipts_of(message: Inbound) -> list[Receipt]:
    f = message.fields
    event = message.event
    if event == "templatesendjobfinish":
        return [Receipt("template", str(f.get("Status", "")), msgid=_s(f.get("MsgID")))]
    if event == "masssendjobfinish":
        detail = f"total={f.get('TotalCount')} sent={f.get('SentCount')} errors={f.get('ErrorCount')}"
        return [Receipt("mass", str(f.get("Status", "")), msgid=_s(f.get("MsgID")), detail=detail)]
    if event == "subscribe_msg_popup_event":
        return [
            Receipt(
                "subscribe_popup",
                _s(i.get("SubscribeStatusString")) or "",
                template_id=_s(i.get("TemplateId")),
                detail=f"scene={_s(i.get('PopupScene')) or ''}",
            )
            for i in _items(f.get("SubscribeMsgPopupEvent"))
        ]
    if event == "subscribe_msg_change_event":
        # The official sample wraps this in SubscribeMsgPopupEvent by mistake: accept both.
        node = f.get("SubscribeMsgChangeEvent") or f.get("SubscribeMsgPopupEvent")
        return [
            Receipt(
                "subscribe_change",
                _s(i.get("SubscribeStatusString")) or "",
                template_id=_s(i.get("TemplateId")),
            )
            for i in _items(node)
        ]
    if event == "subscribe_msg_sent_event":
        return [
            Receipt(
                "subscribe_sent",
                _s(i.get("ErrorStatus")) or "",
                msgid=_s(i.get("MsgID")),
                template_id=_s(i.get("TemplateId")),
                detail=f"code={_s(i.get('ErrorCode')) or ''}",
            )
            for i in _items(f.get("SubscribeMsgSentEvent"))
        ]
    return []


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@router.event(
    "templatesendjobfinish",
    "masssendjobfinish",
    "subscribe_msg_popup_event",
    "subscribe_msg_change_event",
    "subscribe_msg_sent_event",
)
async def on_receipt(message: Inbound, app: AppConfig, services: Services) -> Reply:
    receipts = receipts_of(message)
    if receipts:
        async with session_scope(services.sessions) as session:
            await messaging.record_receipts(session, app.tenant_id, message.appid, message.openid, receipts)
        for hook in services.receipt_hooks:
            await hook(app, message, receipts)
    return NoReply()
