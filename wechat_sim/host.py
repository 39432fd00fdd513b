"""What the parts of ``Simulator`` use of each other, declared for the type checker.

``Simulator`` is assembled from mixins (records, user actions, sending, QR codes, menus, users);
each mixin subclasses ``SimHost`` so that its methods may use the simulator's state and the other
parts' methods. The declarations exist only for the checker: ``Simulator`` provides all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections import Counter, deque

    from wechat_sim.config import Limits
    from wechat_sim.driver import DeliveryResult
    from wechat_sim.errors import WxError
    from wechat_sim.model import App, AppRuntime, Entry, Member, Outbound, QrTicket
    from wechat_sim.records import ApiCall
    from wechat_sim.store import Store


class SimHost:
    if TYPE_CHECKING:
        store: Store
        limits: Limits
        api_log: deque[ApiCall]
        api_counts: Counter[tuple[str | None, str, int]]
        received: Counter[tuple[str, str, str]]
        client_msg_ids: dict[tuple[str, str, str], int]

        # the simulator's core (wechat_sim.simulator)
        def touch(self) -> None: ...
        def now(self) -> float: ...
        def push_time(self) -> float: ...
        def app(self, appid: str) -> App: ...
        def runtime(self, appid: str) -> AppRuntime: ...
        def member(self, person_id: str, appid: str) -> Member: ...
        def members(self, appid: str) -> list[Member]: ...
        def by_openid(self, appid: str, openid: str | None) -> Member | None: ...
        def unionid(self, person_id: str, group: str) -> str: ...
        async def deliver(self, appid: str, fields: dict[str, Any]) -> DeliveryResult: ...
        def notify_later(self, appid: str, fields: dict[str, Any]) -> None: ...

        # wechat_sim.records
        def add_entry(
            self,
            appid: str,
            person_id: str,
            direction: str,
            kind: str,
            *,
            channel: str = "",
            payload: dict[str, Any] | None = None,
            errcode: int | None = None,
            error: str | None = None,
        ) -> Entry: ...
        def record_outbound(
            self,
            appid: str,
            openid: str,
            channel: str,
            msgtype: str,
            payload: dict[str, Any],
            error: WxError | None = None,
            msgid: int | None = None,
        ) -> Outbound: ...

        # wechat_sim.qrcodes and wechat_sim.menus
        def find_qr(self, what: str, appid: str | None = None) -> QrTicket | None: ...
        def qr_for_scene(self, appid: str, scene: str) -> QrTicket: ...
        def menu_button(self, member: Member, path: str) -> tuple[dict[str, Any], str]: ...
