"""The records a conversation is made of: the user's chat lines, every message an app sent (with its
channel and errcode), and the API call log (token fetches for benchmarks and tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wechat_sim.errors import WxError
from wechat_sim.host import SimHost
from wechat_sim.model import Entry, Outbound


@dataclass(frozen=True)
class ApiCall:
    at: float
    api: str
    appid: str | None
    errcode: int


class Records(SimHost):
    """Mixed into :class:`wechat_sim.simulator.Simulator`."""

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
    ) -> Entry:
        entry = Entry(
            seq=self.store.next("entry"),
            at=self.now(),
            appid=appid,
            person_id=person_id,
            direction=direction,
            kind=kind,
            channel=channel,
            payload=payload or {},
            errcode=errcode,
            error=error,
        )
        self.store.entries.append(entry)
        if len(self.store.entries) > 20000:
            del self.store.entries[:5000]
        self.touch()
        return entry

    def conversation(self, person_id: str, appid: str, since: int = 0) -> list[Entry]:
        """The user's chat with the app in order: their messages and actions, passive replies,
        pushed messages (with the errcode of failed sends) and user-visible failures."""
        return [
            e for e in self.store.entries if e.seq > since and e.person_id == person_id and e.appid == appid
        ]

    def record_outbound(
        self,
        appid: str,
        openid: str,
        channel: str,
        msgtype: str,
        payload: dict[str, Any],
        error: WxError | None = None,
        msgid: int | None = None,
    ) -> Outbound:
        member = self.by_openid(appid, openid)
        record = Outbound(
            id=self.store.next("outbound"),
            at=self.now(),
            appid=appid,
            openid=openid,
            person_id=member.person_id if member else "",
            channel=channel,
            msgtype=msgtype,
            payload=payload,
            errcode=error.errcode if error else 0,
            errmsg=error.errmsg if error else "ok",
            msgid=msgid,
        )
        self.store.outbound.append(record)
        if error is None:
            self.received[(appid, channel, openid)] += 1
        if len(self.store.outbound) > 20000:
            del self.store.outbound[:5000]
        if member is not None:
            self.add_entry(
                appid,
                member.person_id,
                "out",
                "push" if channel != "typing" else "typing",
                channel=channel,
                payload={"msgtype": msgtype, **payload},
                errcode=error.errcode if error else None,
                error=error.errmsg if error else None,
            )
        else:
            self.touch()
        return record

    def outbound(
        self, appid: str | None = None, openid: str | None = None, channel: str | None = None
    ) -> list[Outbound]:
        return [
            o
            for o in self.store.outbound
            if (appid is None or o.appid == appid)
            and (openid is None or o.openid == openid)
            and (channel is None or o.channel == channel)
        ]

    def received_counts(self, appid: str, channel: str) -> dict[str, int]:
        """Messages each follower accepted on ``channel`` since the start (not trimmed)."""
        return {o: n for (a, c, o), n in self.received.items() if a == appid and c == channel}

    def log_api(self, api: str, appid: str | None, errcode: int) -> None:
        self.api_log.append(ApiCall(self.now(), api, appid, errcode))
        self.api_counts[(appid, api, errcode)] += 1

    def api_calls(self, appid: str | None = None, api: str | None = None, errcode: int | None = None) -> int:
        return sum(
            n
            for (a, name, code), n in self.api_counts.items()
            if (appid is None or a == appid)
            and (api is None or name == api)
            and (errcode is None or code == errcode)
        )

    def token_fetches(self, appid: str) -> int:
        """Successful calls of /cgi-bin/token and /cgi-bin/stable_token for the app."""
        return sum(self.api_calls(appid, api, 0) for api in ("cgi-bin/token", "cgi-bin/stable_token"))
