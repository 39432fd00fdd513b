"""The vocabulary every layer shares: an inbound WeChat push and the replies a handler can give.

These are frozen dataclasses; wechatpy objects and raw XML never leave ``bot.wechat``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Events after which WeChat accepts a passive reply. Notification events get a bare ack.
NOTIFICATION_EVENTS = frozenset(
    {
        "templatesendjobfinish",
        "masssendjobfinish",
        "subscribe_msg_popup_event",
        "subscribe_msg_change_event",
        "subscribe_msg_sent_event",
        "unsubscribe",
        "location",
        "view",
        "view_miniprogram",
    }
)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One push from WeChat, normalised.

    ``event`` is lower-cased (WeChat mixes ``SCAN`` and ``subscribe``); ``event_key`` of a
    ``subscribe`` through a parametric QR keeps WeChat's ``qrscene_`` prefix, and ``scene`` holds
    the scene without it for both ``subscribe`` and ``SCAN``.
    """

    appid: str
    to_user: str
    openid: str
    create_time: int
    msg_type: str
    msg_id: str | None = None
    event: str | None = None
    event_key: str | None = None
    content: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        """WeChat's own identity of a push: MsgId, else sender + time + event (+ key)."""
        if self.msg_id:
            return f"m:{self.msg_id}"
        # Notification events carry the MsgID of the send they report on; two of them can share
        # a second, so it joins the key.
        extra = self.fields.get("MsgID") or ""
        return (
            f"e:{self.openid}:{self.create_time}:{self.event or self.msg_type}:{self.event_key or ''}:{extra}"
        )

    @property
    def scene(self) -> str | None:
        """The parametric QR scene of a subscribe or SCAN event, without ``qrscene_``."""
        if self.event == "subscribe" and self.event_key and self.event_key.startswith("qrscene_"):
            return self.event_key[len("qrscene_") :]
        if self.event == "scan":
            return self.event_key or None
        return None

    @property
    def is_notification(self) -> bool:
        return self.msg_type == "event" and (self.event or "") in NOTIFICATION_EVENTS

    @property
    def trigger(self) -> str | None:
        """What this push does to the customer-service window (WECHAT_PROTOCOL.md section 5)."""
        if self.msg_type != "event":
            return "message"
        if self.event == "subscribe":
            return "follow"
        if self.event == "scan":
            return "scan"
        if self.event in {"click", "scancode_push", "scancode_waitmsg"}:
            return "click"
        return None


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    description: str = ""
    url: str = ""
    picurl: str = ""


class Reply:
    """Base of everything a handler may answer with."""

    passive: bool = True


@dataclass(frozen=True, slots=True)
class NoReply(Reply):
    """Acknowledge with ``success``: nothing is shown to the user."""


@dataclass(frozen=True, slots=True)
class TextReply(Reply):
    content: str


@dataclass(frozen=True, slots=True)
class NewsReply(Reply):
    """One article: WeChat drops the rest when answering a user message (since 2018-10)."""

    article: Article


@dataclass(frozen=True, slots=True)
class ImageReply(Reply):
    media_id: str


@dataclass(frozen=True, slots=True)
class TransferToKf(Reply):
    kf_account: str | None = None


@dataclass(frozen=True, slots=True)
class MenuItem:
    id: str
    content: str


@dataclass(frozen=True, slots=True)
class MsgMenuReply(Reply):
    """Numbered quick choices; only the customer-service API can send it, never a passive reply."""

    head: str
    items: tuple[MenuItem, ...]
    tail: str = ""
    fallback_text: str = ""
    passive = False


@dataclass(frozen=True, slots=True)
class MiniProgramPageReply(Reply):
    title: str
    appid: str
    pagepath: str
    thumb_media_id: str = ""
    passive = False


@dataclass(frozen=True, slots=True)
class Replies(Reply):
    """Several messages: the first passive one answers now, the rest go through the Notifier."""

    items: tuple[Reply, ...]
