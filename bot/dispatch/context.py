"""What a handler sees: the message, the member, the flow state and the services."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from bot.flows.storage import FlowKey, FlowRecord
from bot.messages import Inbound
from bot.tenancy.registry import AppConfig

if TYPE_CHECKING:
    from bot.services import Services


@dataclass(slots=True)
class MemberLock:
    """The per-member lock; taken before flow state is read (aiogram issue #1317)."""

    acquire_fn: Callable[[str], Awaitable[None]]
    release_fn: Callable[[str], Awaitable[None]] | None
    token: str
    held: bool = False

    async def acquire(self) -> None:
        if not self.held:
            await self.acquire_fn(self.token)
            self.held = True

    async def release(self) -> None:
        if self.held and self.release_fn is not None:
            await self.release_fn(self.token)
            self.held = False


class _Unset(enum.Enum):
    UNSET = enum.auto()


_UNSET: Final = _Unset.UNSET


@dataclass(slots=True)
class EventContext:
    message: Inbound
    app: AppConfig
    services: Services
    lock: MemberLock
    member_id: int | None = None
    # Raw flow record prefetched together with the lock, or _UNSET to load lazily.
    _flow: FlowRecord | _Unset | None = _UNSET
    # Any: whatever filters and middlewares hand on to handlers by parameter name.
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def flow_key(self) -> FlowKey:
        return FlowKey(self.message.appid, self.message.openid)

    def prefetch_flow(self, raw: bytes | None) -> None:
        self._flow = self.services.flows.decode(raw)

    async def flow(self) -> FlowRecord | None:
        if isinstance(self._flow, _Unset):
            self._flow = await self.services.flows.get(self.flow_key)
        return self._flow

    async def flow_state(self) -> str | None:
        record = await self.flow()
        return record.state if record else None

    def forget_flow(self) -> None:
        """Call after a handler changed the flow so that later reads go to storage."""
        self._flow = _UNSET

    def injectables(self) -> dict[str, Any]:  # Any: see ``data``
        return {
            "message": self.message,
            "app": self.app,
            "services": self.services,
            "member_id": self.member_id,
            "ctx": self,
            **self.data,
        }
