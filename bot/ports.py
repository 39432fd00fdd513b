"""Ports: what the inner layers need from the outside world, as small protocols.

``bot.wechat.outbound`` implements ``Notifier`` against WeChat's API; tests and the pipeline's
own unit tests use ``RecordingNotifier``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bot.messages import Reply


@dataclass(frozen=True, slots=True)
class Recipient:
    appid: str
    openid: str
    member_id: int | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to a pushed message: ``channel`` is customer_service, subscribe, template or none."""

    delivered: bool
    channel: str
    reason: str = ""
    msgid: str | None = None


class Notifier(Protocol):
    async def deliver_late_reply(self, recipient: Recipient, reply: Reply, *, source_key: str) -> Delivery:
        """Send a reply that missed WeChat's 5-second window through the customer-service API.

        ``source_key`` identifies the inbound message; an implementation must not send twice for
        the same key.
        """
        ...


@dataclass
class RecordingNotifier:
    """Keeps every late reply in memory; for tests and for running without WeChat credentials."""

    sent: list[tuple[Recipient, Reply, str]] = field(default_factory=list)

    async def deliver_late_reply(self, recipient: Recipient, reply: Reply, *, source_key: str) -> Delivery:
        if any(key == source_key for _, _, key in self.sent):
            return Delivery(delivered=False, channel="none", reason="duplicate")
        self.sent.append((recipient, reply, source_key))
        return Delivery(delivered=True, channel="recorded")


# Later pushes (order updates, coupons, livestream invites) ---------------------------------------
class Purpose:
    """Why a push is sent; it decides which WeChat channels may carry it (bot/wechat/reach.py).

    ``reply``: an answer to the user's own message (customer-service window only); ``service``:
    a service notice such as an order status (may use a template message when the window is
    closed); ``marketing``: coupons, invites (never a template message).
    """

    REPLY = "reply"
    SERVICE = "service"
    MARKETING = "marketing"


@dataclass(frozen=True, slots=True)
class MiniProgramLink:
    appid: str
    pagepath: str


@dataclass(frozen=True, slots=True)
class TemplateMessage:
    """An Official Account template message: ``data`` maps keyword names (``thing1``, ``time2``)
    to values; ``miniprogram`` wins over ``url`` on clients that support it."""

    template_id: str
    data: tuple[tuple[str, str], ...]
    url: str = ""
    miniprogram: MiniProgramLink | None = None

    @classmethod
    def of(cls, template_id: str, data: dict[str, str], **kw: object) -> TemplateMessage:
        return cls(template_id, tuple(data.items()), **kw)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class SubscribeMessage:
    """A subscription notification (OA bizsend) or mini-program subscribe message; each send uses
    one credit the user granted for ``template_id``. ``page`` is an H5 URL (OA) or a page path (MP)."""

    template_id: str
    data: tuple[tuple[str, str], ...]
    page: str = ""
    miniprogram: MiniProgramLink | None = None

    @classmethod
    def of(cls, template_id: str, data: dict[str, str], **kw: object) -> SubscribeMessage:
        return cls(template_id, tuple(data.items()), **kw)  # type: ignore[arg-type]


class PushNotifier(Notifier, Protocol):
    async def notify(
        self,
        recipient: Recipient,
        purpose: str,
        *,
        key: str,
        text: Reply | str | None = None,
        template: TemplateMessage | None = None,
        subscribe: SubscribeMessage | None = None,
    ) -> Delivery:
        """Push through the channel the reach budget allows: customer-service (``text``) inside
        the window, else a subscribe credit (``subscribe``), else a template (``template``,
        service notices only). ``key`` is the idempotency key derived from the cause (e.g.
        ``order:123:shipped``): the same key never sends twice. With no open channel nothing is
        sent and the message is recorded as undeliverable."""
        ...


@dataclass
class RecordingPushNotifier(RecordingNotifier):
    """``RecordingNotifier`` that also keeps ``notify`` calls (for tests of features that push)."""

    notified: list[tuple[Recipient, str, str, dict]] = field(default_factory=list)

    async def notify(
        self,
        recipient: Recipient,
        purpose: str,
        *,
        key: str,
        text: Reply | str | None = None,
        template: TemplateMessage | None = None,
        subscribe: SubscribeMessage | None = None,
    ) -> Delivery:
        if any(k == key for _, _, k, _ in self.notified):
            return Delivery(delivered=False, channel="none", reason="duplicate")
        self.notified.append(
            (recipient, purpose, key, {"text": text, "template": template, "subscribe": subscribe})
        )
        return Delivery(delivered=True, channel="recorded")
