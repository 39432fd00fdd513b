"""The SMS port every sender implements (the development outbox, Aliyun, Tencent Cloud)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class SmsSender(Protocol):
    async def send(
        self,
        phone: str,
        text: str,
        *,
        purpose: str,
        params: Mapping[str, str] | None = None,
        client_ip: str | None = None,
    ) -> None:
        """Send to ``phone``; raises ``SmsError`` on failure (the caller tells the user).

        ``text`` is the whole message as jiubot would write it (the outbox keeps it); providers
        send the approved template of ``purpose`` filled with ``params`` instead. ``client_ip``
        is the requester's address where there is one (HTTP), for the per-IP limit.
        """
        ...
