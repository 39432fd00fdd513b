"""The XML WeChat pushes (built the way WeChat writes it: CDATA strings, bare numbers) and the
checks WeChat applies to a passive reply before the user sees it (WECHAT_PROTOCOL.md 2.3, 3)."""

from __future__ import annotations

from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict

Fields = dict[str, Any]


class BadXml(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _element(tag: str, value: Any) -> str:
    if isinstance(value, list):
        return "".join(_element(tag, item) for item in value)
    if isinstance(value, dict):
        return f"<{tag}>{''.join(_element(k, v) for k, v in value.items())}</{tag}>"
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int | float):
        return f"<{tag}>{value}</{tag}>"
    return f"<{tag}>{_cdata(str(value))}</{tag}>"


def to_xml(fields: Fields) -> str:
    return "<xml>" + "".join(_element(k, v) for k, v in fields.items()) + "</xml>"


def parse_xml(body: bytes | str) -> Fields:
    """Parse an ``<xml>`` document; entities and DTDs are refused (xmltodict >= 1.0.4)."""
    try:
        doc = xmltodict.parse(body)
    except (ExpatError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise BadXml(f"malformed:{type(exc).__name__}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("xml"), dict):
        raise BadXml("no_xml_root")
    return dict(doc["xml"])


_REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "text": [("Content",)],
    "image": [("Image", "MediaId")],
    "voice": [("Voice", "MediaId")],
    "video": [("Video", "MediaId")],
    "music": [("Music",)],
    "news": [("ArticleCount",), ("Articles", "item")],
    "transfer_customer_service": [],
}


def _get(fields: Fields, path: tuple[str, ...]) -> Any:
    node: Any = fields
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check_reply(fields: Fields, *, user_openid: str, account_id: str) -> str | None:
    """Why WeChat would refuse this passive reply, or None when it is deliverable."""
    if fields.get("ToUserName") != user_openid:
        return "wrong_ToUserName"
    if fields.get("FromUserName") != account_id:
        return "wrong_FromUserName"
    if not str(fields.get("CreateTime", "")).isdigit():
        return "bad_CreateTime"
    msg_type = fields.get("MsgType")
    if msg_type not in _REQUIRED:
        return f"bad_MsgType:{msg_type}"
    for path in _REQUIRED[msg_type]:
        if _get(fields, path) in (None, ""):
            return "missing:" + ".".join(path)
    if msg_type == "news" and not str(fields["ArticleCount"]).isdigit():
        return "bad_ArticleCount"
    return None


def news_items(fields: Fields) -> list[Fields]:
    items = _get(fields, ("Articles", "item"))
    if isinstance(items, dict):
        return [items]
    return [item for item in items or [] if isinstance(item, dict)]
