"""Mass send (群发, WECHAT_PROTOCOL.md section 5): ``message/mass/sendall`` to a tag or to every
follower of a service account.

A service account's follower receives at most ``Limits.mass_per_month`` (4) mass sends per
calendar month (Beijing time). The simulator holds WeChat to the strict reading: a send whose
audience holds anyone past that limit is refused as a whole with 45028 (nobody receives it), so a
sender that does not count per follower is caught. ``clientmsgid`` makes a send idempotent: the
same id twice answers 45065 and sends nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wechat_sim.clock import BEIJING_OFFSET
from wechat_sim.errors import OK, WxError
from wechat_sim.host import SimHost
from wechat_sim.model import Member

MASS_TYPES = {"text": "content", "mpnews": "media_id", "image": "media_id", "voice": "media_id"}


def beijing_month(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp + BEIJING_OFFSET, UTC).strftime("%Y-%m")


class MassSending(SimHost):
    def mass_sendall(self, appid: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.app(appid).kind != "oa":
            raise WxError(48001)
        msgtype = body.get("msgtype")
        if msgtype not in MASS_TYPES or not isinstance(body.get(msgtype), dict):
            raise WxError(40008)
        payload: dict[str, Any] = body[msgtype]
        if payload.get(MASS_TYPES[msgtype]) in (None, ""):
            raise WxError(44004 if msgtype == "text" else 47001)
        rt = self.runtime(appid)
        clientmsgid = body.get("clientmsgid")
        if clientmsgid is not None:
            if not isinstance(clientmsgid, str) or len(clientmsgid) > 64:
                raise WxError(45067)
            if clientmsgid in rt.mass_jobs:
                raise WxError(45065)
        audience = self._mass_audience(appid, body.get("filter") or {})
        month = beijing_month(self.now())
        spent = [
            m
            for m in audience
            if rt.mass_received.get(f"{m.openid}|{month}", 0) >= self.limits.mass_per_month
        ]
        if spent:
            error = WxError(45028)
            self.record_outbound(appid, spent[0].openid, "mass", str(msgtype), payload, error)
            raise error
        msg_id = rt.next_mass_id
        rt.next_mass_id += 1
        for member in audience:
            key = f"{member.openid}|{month}"
            rt.mass_received[key] = rt.mass_received.get(key, 0) + 1
            self.record_outbound(appid, member.openid, "mass", str(msgtype), payload, msgid=msg_id)
        if clientmsgid is not None:
            rt.mass_jobs[clientmsgid] = msg_id
        self.touch()
        return {**OK, "errmsg": "send job submission success", "msg_id": msg_id, "msg_data_id": msg_id * 10}

    def _mass_audience(self, appid: str, target: dict[str, Any]) -> list[Member]:
        followers = [m for m in self.members(appid) if m.following]
        if target.get("is_to_all"):
            return followers
        tag = self.runtime(appid).tags.get(str(target.get("tag_id")))
        if tag is None:
            raise WxError(40035)
        tagged = [m for m in followers if tag.id in m.tagids]
        if not tagged:
            raise WxError(40035, "invalid args: nobody under the tag")
        return tagged

    def mass_count(self, appid: str, openid: str, month: str | None = None) -> int:
        """Python API: mass sends the follower received in ``month`` (default: this month)."""
        return self.runtime(appid).mass_received.get(f"{openid}|{month or beijing_month(self.now())}", 0)
