"""What the ordering flows share: the turn being answered, their dependencies, state helpers.

Flows sit below the dispatcher and the services in the layers, so the handlers' store-member
middleware (``bot/handlers/store_member.py``) builds a ``Turn`` (who, what they wrote, whether a
msgmenu can be sent) and a ``Kit`` (flow storage and memos, the ordering runtime, the template
renderer) and the handler calls the flow; the flow returns a ``Reply``. Which function answers
which state is decided by the router's filters (``state_is``), not inside the flows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.flows.storage import FlowKey, FlowRecord, FlowStorage
from bot.messages import MenuItem, MsgMenuReply, Reply, TextReply
from bot.ordering.numerals import parse_number
from bot.ordering.runtime import OrderingRuntime
from bot.ordering.views import Binding

Render = Callable[..., str]
QrMaker = Callable[[str, str, int], Awaitable[str]]  # (appid, scene, seconds) -> image URL

YES = frozenset(
    {"确认", "确定", "是", "是的", "对", "好", "好的", "可以", "行", "ok", "嗯", "下单", "提交", "确认下单"}
)


@dataclass(frozen=True, slots=True)
class Turn:
    key: FlowKey
    tenant_id: int
    member_id: int
    text: str  # what the member wrote, stripped ("" for events)
    source: str  # the inbound message's identity (app + dedupe key)
    rich: bool  # a msgmenu may be sent now (reach budget allows the customer-service channel)
    binding: Binding
    menu_id: str | None = None  # bizmsgmenuid when the text is a tap on a msgmenu item

    @property
    def appid(self) -> str:
        return self.key.appid

    @property
    def openid(self) -> str:
        return self.key.openid

    @property
    def word(self) -> str:
        return self.text.strip().lower().rstrip("。.!！~")


@dataclass
class Kit:
    flows: FlowStorage
    runtime: OrderingRuntime
    render: Render
    sessions: async_sessionmaker[AsyncSession]
    make_qr: QrMaker | None = None

    def say(self, name: str, **values: Any) -> TextReply:
        return TextReply(self.render(name, **values))

    async def record(self, turn: Turn) -> FlowRecord | None:
        return await self.flows.get(turn.key)

    async def go(
        self, turn: Turn, state: str, data: dict[str, Any], *, previous: FlowRecord | None = None
    ) -> None:
        version = (previous.version + 1) if previous else 1
        await self.flows.set(turn.key, FlowRecord(state, data, version))

    async def leave(self, turn: Turn) -> None:
        await self.flows.clear(turn.key)

    async def remember(self, turn: Turn, name: str, value: str, *, ttl: int) -> None:
        await self.flows.remember(turn.key, name, value, ttl=ttl)

    async def recall(self, turn: Turn, name: str) -> str | None:
        return await self.flows.recall(turn.key, name)

    def choices(self, turn: Turn, head: str, items: list[tuple[str, str]], tail: str) -> Reply:
        """Numbered choices: a msgmenu when the reach budget allows one, else numbered text.
        ``items`` are (id, label); the label is what a tap sends back."""
        numbered = "\n".join(
            [head, *(f"{n}. {label}" for n, (_, label) in enumerate(items, 1)), tail]
        ).strip()
        if not turn.rich:
            return TextReply(numbered)
        menu = tuple(MenuItem(item_id, label) for item_id, label in items)
        return MsgMenuReply(head=head, items=menu, tail=tail, fallback_text=numbered)


def pick(turn: Turn, labels: list[str], serial: int) -> int | None:
    """Which numbered choice the member meant: "2", "第2个", a tapped msgmenu item (its id
    carries the question's serial, so a tap on an older menu is not taken for this one), or the
    label itself. Returns a 0-based index or None."""
    if turn.menu_id:
        try:
            value = int(turn.menu_id)
        except ValueError:
            return None
        if value // 100 != serial:
            return None
        index = value % 100 - 1
        return index if 0 <= index < len(labels) else None
    word = turn.word.removeprefix("第").removesuffix("个").removesuffix("款").strip()
    if word.isdigit():
        index = int(word) - 1
        return index if 0 <= index < len(labels) else None
    number = parse_number(word) if word else None
    if number is not None and 0 < number <= len(labels) and len(word) <= 2:
        return number - 1
    exact = [n for n, label in enumerate(labels) if turn.text.strip() == label]
    return exact[0] if exact else None
