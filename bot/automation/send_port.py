"""What a campaign worker needs from the channel its messages leave by (the port), and the
outcome of one send. The WeChat implementation is bot/wechat/campaign_channel.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Outcome:
    """``sent``, ``unreachable`` (``reason`` says why), ``unknown`` (may have been delivered: never
    resent), ``retry`` (WeChat asked us to wait: back to pending) or ``fenced`` (another worker
    took the row over: not ours to record)."""

    status: str
    reason: str = ""
    retry_after: float = 0.0

    def encode(self) -> str:
        return f"{self.status}:{self.reason}"

    @classmethod
    def decode(cls, text: str) -> Outcome:
        status, _, reason = text.partition(":")
        return cls(status, reason)


class CampaignChannel(Protocol):
    """How campaign messages leave (bot/wechat/campaign_channel.py), with the in-flight ledger."""

    async def open(self, campaign_id: int, *, fresh: bool) -> None:
        """Before sending: ``fresh`` (no row of the campaign ever left ``pending``) creates the
        ledger's sentinel; otherwise a missing sentinel stays missing (the ledger was lost, and
        the rows it knew about must be treated as possibly delivered)."""
        ...

    async def fence(self, campaign_id: int, member_ids: Sequence[int], token: str) -> list[str] | None:
        """For rows a dead worker leased, per member: ``""`` never started (now only ``token``
        may start it), ``"started"`` (in flight when it died), or the encoded ``Outcome`` it
        recorded. None when the ledger is gone."""
        ...

    async def forget(self, campaign_id: int, member_ids: Sequence[int]) -> None:
        """Drop the markers of rows going back to pending (a later worker starts them afresh)."""
        ...

    async def note(self, campaign_id: int, token: str, done: tuple[int, str]) -> None:
        """Record a send's outcome in the ledger now (a lane about to wait for rows)."""
        ...

    async def send(
        self,
        campaign_id: int,
        token: str,
        member_id: int,
        appid: str,
        openid: str,
        text: str,
        done: tuple[int, str] | None,
    ) -> Outcome:
        """Mark the member started (unless fenced), take a customer-service slot of the reach
        budget, send; ``done`` is the previous send's (member, encoded outcome) of this lane."""
        ...


@dataclass(frozen=True, slots=True)
class MassResult:
    """A mass send's answer: ``sent`` (or ``already_sent``: the ``clientmsgid`` went out before),
    ``refused`` (``reason`` says why, e.g. ``mass_quota`` for 45028: nothing was sent) or
    ``unknown`` (no answer: sending again with the same ``clientmsgid`` is safe)."""

    status: str
    msg_id: str = ""
    reason: str = ""


class MassChannel(Protocol):
    """Mass send (群发) by tag (bot/wechat/campaign_channel.py)."""

    async def ensure_tag(self, appid: str, name: str) -> int: ...

    async def tag(self, appid: str, tag_id: int, openids: Sequence[str]) -> None: ...

    async def send_to_tag(self, appid: str, tag_id: int, text: str, clientmsgid: str) -> MassResult: ...

    async def drop_tag(self, appid: str, tag_id: int) -> None: ...
