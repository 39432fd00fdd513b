"""Parametric QR codes (WECHAT_PROTOCOL.md section 8): temporary and permanent tickets with a scene,
expiry, and the cap on permanent codes (40053 once it is reached)."""

from __future__ import annotations

import base64
import os
import secrets
from typing import Any

from wechat_sim.errors import WxError
from wechat_sim.host import SimHost
from wechat_sim.model import QrTicket

ACTIONS = {"QR_SCENE", "QR_STR_SCENE", "QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"}
QR_URL_PREFIX = "http://weixin.qq.com/q/"


def _new_ticket() -> str:
    # real tickets are standard base64 (they may hold + / =): clients must URL-encode them
    return "gQ" + base64.b64encode(os.urandom(66)).decode()


class QrCodes(SimHost):
    """Mixed into :class:`wechat_sim.simulator.Simulator`."""

    def qr_create(self, appid: str, body: dict[str, Any]) -> dict[str, Any]:
        action = body.get("action_name")
        if action not in ACTIONS:
            raise WxError(40053, "action_name")
        scene = (body.get("action_info") or {}).get("scene") or {}
        permanent = action.startswith("QR_LIMIT")
        scene_id, scene_str = None, None
        if action.endswith("STR_SCENE"):
            scene_str = scene.get("scene_str")
            if not isinstance(scene_str, str) or not 1 <= len(scene_str) <= 64:
                raise WxError(40053, "scene_str")
        else:
            scene_id = scene.get("scene_id")
            top = 100_000 if permanent else 2**32 - 1
            if isinstance(scene_id, str) and scene_id.isdigit():
                scene_id = int(scene_id)
            if not isinstance(scene_id, int) or isinstance(scene_id, bool) or not 1 <= scene_id <= top:
                raise WxError(40053, "scene_id")
        now = self.now()
        if permanent:
            for ticket in self.store.qr.values():
                same_scene = (ticket.scene_id, ticket.scene_str) == (scene_id, scene_str)
                if ticket.appid == appid and ticket.expires_at is None and same_scene:
                    return {"ticket": ticket.ticket, "url": ticket.url}
            count = sum(1 for t in self.store.qr.values() if t.appid == appid and t.expires_at is None)
            if count >= self.limits.qr_permanent_cap:
                raise WxError(40053)
            expires_at = None
        else:
            seconds = body.get("expire_seconds") or self.limits.qr_default_expire
            if not isinstance(seconds, int) or seconds <= 0:
                raise WxError(40035, "expire_seconds")
            seconds = min(seconds, self.limits.qr_max_expire)
            expires_at = now + seconds
        ticket = QrTicket(
            ticket=_new_ticket(),
            appid=appid,
            action_name=action,
            code=secrets.token_urlsafe(16),
            scene_id=scene_id,
            scene_str=scene_str,
            created_at=now,
            expires_at=expires_at,
        )
        self.store.qr[ticket.ticket] = ticket
        self._prune_qr(now)
        self.touch()
        answer: dict[str, Any] = {"ticket": ticket.ticket, "url": ticket.url}
        if expires_at is not None:
            answer["expire_seconds"] = int(expires_at - now)
        return answer

    def _prune_qr(self, now: float) -> None:
        if len(self.store.qr) > 5000:
            for key, ticket in list(self.store.qr.items()):
                if ticket.expires_at is not None and ticket.expires_at + 86400 < now:
                    del self.store.qr[key]

    def find_qr(self, what: str, appid: str | None = None) -> QrTicket | None:
        """A ticket by its ticket string or its URL; with an appid, also by scene value (newest
        live ticket first)."""
        what = what.strip()
        ticket = self.store.qr.get(what)
        if ticket is None and what.startswith(QR_URL_PREFIX):
            code = what[len(QR_URL_PREFIX) :]
            ticket = next((t for t in self.store.qr.values() if t.code == code), None)
        if ticket is None and appid is not None:
            now = self.now()
            live = [
                t
                for t in self.store.qr.values()
                if t.appid == appid and t.scene == what and (t.expires_at is None or t.expires_at > now)
            ]
            ticket = max(live, key=lambda t: t.created_at) if live else None
        if ticket is not None and appid is not None and ticket.appid != appid:
            return None
        return ticket

    def qr_for_scene(self, appid: str, scene: str) -> QrTicket:
        """The app's live ticket for this scene, or one the simulator issues (a typed scene)."""
        ticket = self.find_qr(scene, appid)
        if ticket is not None:
            return ticket
        now = self.now()
        is_int = scene.isdigit() and 0 < int(scene) < 2**32
        ticket = QrTicket(
            ticket=_new_ticket(),
            appid=appid,
            action_name="QR_SCENE" if is_int else "QR_STR_SCENE",
            code=secrets.token_urlsafe(16),
            scene_id=int(scene) if is_int else None,
            scene_str=None if is_int else scene,
            created_at=now,
            expires_at=now + self.limits.qr_max_expire,
            sim_issued=True,
        )
        self.store.qr[ticket.ticket] = ticket
        self.touch()
        return ticket

    def qr_codes(self, appid: str, *, include_expired: bool = False) -> list[QrTicket]:
        """The app's QR codes, newest first (the console lists them for scanning)."""
        now = self.now()
        return sorted(
            (
                t
                for t in self.store.qr.values()
                if t.appid == appid
                and not t.sim_issued
                and (include_expired or t.expires_at is None or t.expires_at > now)
            ),
            key=lambda t: -t.created_at,
        )
