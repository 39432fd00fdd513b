"""The simulator's state object (``wechat_sim.app.SIM_STATE``): apps, simulated people, tokens,
conversations, the outbound message log, codes, faults and persistence.

Acting as a user lives in ``actions.py``, what an app may send in ``sending.py``, QR codes, menus,
users and tags in ``qrcodes.py``, ``menus.py`` and ``users.py``, the conversation and call logs in
``records.py``; :class:`Simulator` combines them. Everything runs on one event
loop and mutates in-memory records; with ``state_path`` set, changes are written to a JSON file
shortly after they happen and on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections import Counter, deque
from pathlib import Path
from typing import Any

import aiohttp

from wechat_sim.actions import UserActions
from wechat_sim.clock import Clock, SystemClock
from wechat_sim.config import SimConfig
from wechat_sim.crypto import jsapi_signature, same
from wechat_sim.driver import CallbackDriver, DeliveryResult
from wechat_sim.errors import WxError
from wechat_sim.faults import Faults
from wechat_sim.mass import MassSending
from wechat_sim.menus import Menus
from wechat_sim.model import ROLES, App, AppRuntime, Code, Member, Person
from wechat_sim.phone import Phone
from wechat_sim.qrcodes import QrCodes
from wechat_sim.records import ApiCall, Records
from wechat_sim.sending import Sending
from wechat_sim.store import Store, load_file, save_file
from wechat_sim.tokens import TokenIssuer
from wechat_sim.users import Users

log = logging.getLogger(__name__)

_OPENID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


class SimError(ValueError):
    """A misuse of the simulator's own API (unknown person, not following, ...): not a WeChat errcode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _wxid(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_OPENID_CHARS) for _ in range(length - len(prefix)))


class Simulator(Records, UserActions, Sending, MassSending, QrCodes, Menus, Users):
    def __init__(self, config: SimConfig | None = None, store: Store | None = None) -> None:
        self.config = config or SimConfig()
        self.limits = self.config.limits
        self.clock: Clock = self.config.clock or SystemClock()
        path = self.config.state_path
        self.store = store if store is not None else (load_file(Path(path)) if path else Store())
        self.tokens = TokenIssuer(self.store, self.clock, self.limits)
        self.faults = Faults()
        self.phone = Phone()  # SMS inbox and printed codes (wechat_sim.phone)
        self.driver: CallbackDriver | None = None
        self.deliveries: deque[DeliveryResult] = deque(maxlen=2000)
        self.api_log: deque[ApiCall] = deque(maxlen=20000)
        self.api_counts: Counter[tuple[str | None, str, int]] = Counter()
        # messages accepted per (appid, channel, openid), never trimmed (the outbound list is)
        self.received: Counter[tuple[str, str, str]] = Counter()
        self.client_msg_ids: dict[tuple[str, str, str], int] = {}
        self._session: aiohttp.ClientSession | None = None
        self._own_session = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed: asyncio.Event | None = None
        self.closing = False
        self._save_handle: asyncio.TimerHandle | None = None
        self._openids = {m.openid: key for key, m in self.store.members.items()}
        for app in self.config.apps:
            self.add_app(app)

    # lifecycle ---------------------------------------------------------------------------------
    async def start(self, session: aiohttp.ClientSession | None = None) -> None:
        if session is None:
            session = aiohttp.ClientSession()
            self._own_session = True
        self._session = session
        self.driver = CallbackDriver(
            session,
            deadline=self.config.callback_deadline,
            attempts=self.config.callback_attempts,
            clock=self.config.callback_clock or self.clock,
        )

    async def stop(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), timeout=self.config.callback_deadline + 1)
        pending = list(self._tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._save_handle is not None:
            self._save_handle.cancel()
        self.save()
        if self._own_session and self._session is not None:
            await self._session.close()
        self.driver = None

    async def drain(self) -> None:
        """Wait until every queued callback (TEMPLATESENDJOBFINISH, ...) has been delivered."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # persistence -------------------------------------------------------------------------------
    def save(self) -> None:
        self._save_handle = None
        if self.config.state_path:
            save_file(self.store, Path(self.config.state_path))

    def touch(self) -> None:
        """Something changed: wake the console's long polls and schedule a save."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None
        if not self.config.state_path or self._save_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.save()
            return
        self._save_handle = loop.call_later(self.config.save_delay, self.save)

    def wake_all(self) -> None:
        """Shutting down: answer every long poll now instead of at its timeout."""
        self.closing = True
        if self._changed is not None:
            self._changed.set()

    async def wait_change(self, seconds: float) -> bool:
        if self._changed is None:
            self._changed = asyncio.Event()
        try:
            await asyncio.wait_for(self._changed.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def now(self) -> float:
        return self.clock.now()

    def push_time(self) -> float:
        """CreateTime of pushes (the callback clock, the simulator's clock by default)."""
        return (self.config.callback_clock or self.clock).now()

    def advance(self, seconds: float) -> None:
        """Move simulated time (ManualClock or OffsetClock)."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise SimError("clock_fixed", "this simulator runs on the system clock; pass a ManualClock")
        advance(seconds)
        self.touch()

    # apps ----------------------------------------------------------------------------------------
    def add_app(self, app: App | None = None, **fields: Any) -> App:
        app = app or App(**fields)
        if app.mode not in ("plain", "compat", "safe"):
            raise SimError("bad_mode", f"mode must be plain, compat or safe, not {app.mode!r}")
        if app.mode != "plain" and len(app.aes_key) != 43:
            raise SimError("bad_aes_key", f"{app.mode} mode needs a 43-character EncodingAESKey")
        if app.kind not in ("oa", "mp"):
            raise SimError("bad_kind", "kind is oa or mp")
        if not app.original_id:
            app.original_id = "gh_" + hashlib.sha1(app.appid.encode(), usedforsecurity=False).hexdigest()[:12]
        if not app.name:
            app.name = app.appid
        self.store.apps[app.appid] = app
        self.store.runtime.setdefault(app.appid, AppRuntime())
        self.touch()
        return app

    def update_app(self, appid: str, **fields: Any) -> App:
        app = self.app(appid)
        for name, value in fields.items():
            if not hasattr(app, name) or name == "appid":
                raise SimError("bad_field", f"apps have no settable field {name!r}")
            setattr(app, name, value)
        return self.add_app(app)

    def app(self, appid: str) -> App:
        app = self.store.apps.get(appid)
        if app is None:
            raise SimError("unknown_app", f"no app {appid!r} in the simulator")
        return app

    def apps(self) -> list[App]:
        return list(self.store.apps.values())

    def runtime(self, appid: str) -> AppRuntime:
        return self.store.runtime.setdefault(appid, AppRuntime())

    # people --------------------------------------------------------------------------------------
    def add_person(
        self,
        name: str = "",
        role: str = "consumer",
        *,
        phone: str = "",
        nickname: str = "",
        person_id: str | None = None,
    ) -> Person:
        if role not in ROLES:
            raise SimError("bad_role", f"role is one of {', '.join(ROLES)}")
        n = self.store.next("person")
        pid = person_id or f"u{n}"
        if pid in self.store.persons:
            raise SimError("duplicate_person", f"person {pid!r} exists")
        name = name or f"{ROLES[role]}{n}"
        person = Person(
            id=pid,
            name=name,
            role=role,
            nickname=nickname or name,
            phone=phone or f"138{n:08d}",
            created_at=self.now(),
        )
        self.store.persons[pid] = person
        self.touch()
        return person

    def ensure_person(self, person_id: str, name: str = "", role: str = "consumer", **fields: str) -> Person:
        """The person with this id, created on first use (seeding that survives restarts)."""
        existing = self.store.persons.get(person_id)
        return existing or self.add_person(name, role, person_id=person_id, **fields)

    def person(self, person_id: str) -> Person:
        person = self.store.persons.get(person_id)
        if person is None:
            raise SimError("unknown_person", f"no simulated person {person_id!r}")
        return person

    def persons(self) -> list[Person]:
        return list(self.store.persons.values())

    def unionid(self, person_id: str, group: str) -> str:
        person = self.person(person_id)
        if group not in person.unionids:
            person.unionids[group] = _wxid("o", 28)
            self.touch()
        return person.unionids[group]

    def member(self, person_id: str, appid: str) -> Member:
        """The person as the app sees them; the openid is allocated on first contact."""
        self.person(person_id)
        self.app(appid)
        key = f"{appid}/{person_id}"
        member = self.store.members.get(key)
        if member is None:
            member = Member(appid=appid, person_id=person_id, openid=_wxid("o", 28))
            self.store.members[key] = member
            self._openids[member.openid] = key
            self.touch()
        return member

    def openid(self, person_id: str, appid: str) -> str:
        return self.member(person_id, appid).openid

    def by_openid(self, appid: str, openid: str | None) -> Member | None:
        key = self._openids.get(openid or "")
        member = self.store.members.get(key) if key else None
        return member if member is not None and member.appid == appid else None

    def members(self, appid: str) -> list[Member]:
        return [m for m in self.store.members.values() if m.appid == appid]

    # callbacks -----------------------------------------------------------------------------------
    async def deliver(self, appid: str, fields: dict[str, Any]) -> DeliveryResult:
        app = self.app(appid)
        if not app.callback_url:
            result = DeliveryResult(
                appid, fields, b"", (), False, None, None, False, None, "no_callback_url", 0
            )
        else:
            if self.driver is None:
                raise SimError("not_started", "the simulator is not running (await sim.start())")
            result = await self.driver.deliver(app, fields)
        self.deliveries.append(result)
        return result

    def notify_later(self, appid: str, fields: dict[str, Any]) -> None:
        """Queue a notification event (no passive reply is shown for these)."""

        async def later() -> None:
            await asyncio.sleep(self.limits.event_delay)
            try:
                await self.deliver(appid, fields)
            except SimError as exc:
                log.warning("notification not delivered: %s", exc)

        self.spawn(later())

    # codes ---------------------------------------------------------------------------------------
    def issue_code(self, kind: str, person_id: str, appid: str, scope: str = "") -> str:
        self.member(person_id, appid)
        code = secrets.token_hex(16)
        now = self.now()
        self.store.codes[code] = Code(
            code, kind, appid, person_id, now, now + self.limits.code_ttl, scope=scope
        )
        self._prune_codes(now)
        self.touch()
        return code

    def wx_login(self, person_id: str, appid: str) -> str:
        """What ``wx.login()`` returns inside the mini-program for this person."""
        return self.issue_code("jscode", person_id, appid)

    def phone_code(self, person_id: str, appid: str) -> str:
        """What ``<button open-type="getPhoneNumber">`` hands to the page (``e.detail.code``)."""
        return self.issue_code("phone", person_id, appid)

    def redeem_code(self, code: str | None, kind: str, appid: str, *, used: int, expired: int) -> Code:
        record = self.store.codes.get(code or "")
        if record is None or record.kind != kind or record.appid != appid:
            raise WxError(40029)
        if record.used_at is not None:
            raise WxError(used)
        if self.now() >= record.expires_at:
            raise WxError(expired)
        record.used_at = self.now()
        self.touch()
        return record

    def _prune_codes(self, now: float) -> None:
        if len(self.store.codes) > 1000:
            for code, record in list(self.store.codes.items()):
                if record.expires_at + 3600 < now:
                    del self.store.codes[code]

    def check_jsapi_signature(
        self, appid: str, url: str, noncestr: str, timestamp: str | int, signature: str
    ) -> bool:
        """Would ``wx.config`` accept this signature for the page at ``url`` (current ticket)?"""
        rt = self.runtime(appid)
        if not rt.jsapi_ticket or self.now() >= rt.jsapi_expires_at:
            return False
        return same(signature, jsapi_signature(rt.jsapi_ticket, noncestr, timestamp, url))

    # faults --------------------------------------------------------------------------------------
    def inject(self, appid: str = "*", **plan: Any) -> None:
        """Fault injection: ``latency``, ``error_rate``, ``fail_next``, ``errcode``, ``apis``."""
        self.faults.set(appid, **plan)

    def invalidate_tokens(self, appid: str, family: str | None = None, errcode: int = 40001) -> int:
        killed = self.tokens.invalidate(appid, family, errcode)
        self.touch()
        return killed
