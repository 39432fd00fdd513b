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
