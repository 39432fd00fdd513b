"""What an app may send, and when (WECHAT_PROTOCOL.md sections 5 and 6): customer-service messages
inside the window, typing, template messages to followers, one-time subscription notifications.
Every send is recorded with its channel and errcode, delivered or not."""

from __future__ import annotations

import secrets
from typing import Any

from wechat_sim.errors import OK, WxError
from wechat_sim.host import SimHost
from wechat_sim.model import Member
from wechat_sim.window import take

KF_TYPES = {
    "text": ("content",),
    "image": ("media_id",),
    "voice": ("media_id",),
    "video": ("media_id",),
    "music": ("musicurl",),
    "news": ("articles",),
    "mpnews": ("media_id",),
    "mpnewsarticle": ("article_id",),
    "msgmenu": ("list",),
    "wxcard": ("card_id",),
    "miniprogrampage": ("title", "pagepath"),
    "link": ("title", "url"),  # mini-program customer service
}


def _member_of(sim: SimHost, appid: str, body: dict[str, Any]) -> Member:
    touser = body.get("touser")
    if not isinstance(touser, str) or not touser:
        raise WxError(40003)
    member = sim.by_openid(appid, touser)
    if member is None:
        raise WxError(40003)
    return member


def _check_kf_body(sim: SimHost, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    msgtype = body.get("msgtype")
    if msgtype not in KF_TYPES or not isinstance(body.get(msgtype), dict):
        raise WxError(40008)
    payload: dict[str, Any] = body[msgtype]
    for name in KF_TYPES[msgtype]:
        if payload.get(name) in (None, "", []):
            raise WxError(44004 if msgtype == "text" else 47001, f"data format error: {msgtype}.{name}")
    if msgtype == "text" and len(str(payload["content"]).encode()) > sim.limits.max_text_bytes:
        raise WxError(45002)
    if msgtype == "news" and (
        not isinstance(payload["articles"], list) or len(payload["articles"]) > sim.limits.max_news_articles
    ):
        raise WxError(45008)
    if msgtype == "msgmenu" and not all(
        isinstance(i, dict) and i.get("id") is not None and i.get("content") for i in payload["list"]
    ):
        raise WxError(47001, "data format error: msgmenu.list")
    return msgtype, payload


class Sending(SimHost):
    """Mixed into :class:`wechat_sim.simulator.Simulator`."""

    # customer service --------------------------------------------------------------------------
    def kf_send(self, appid: str, body: dict[str, Any]) -> dict[str, Any]:
        msgtype = str(body.get("msgtype", ""))
        payload: dict[str, Any] = body[msgtype] if isinstance(body.get(msgtype), dict) else {}
        try:
            msgtype, payload = _check_kf_body(self, body)
            member = _member_of(self, appid, body)
            if self.app(appid).kind == "oa" and not member.following:
                raise WxError(45015)
            take(member, self.now())
        except WxError as exc:
            self.record_outbound(appid, str(body.get("touser", "")), "kf", msgtype, payload, exc)
            raise
        member.typing_until = 0.0  # sending a message cancels typing
        self.record_outbound(appid, member.openid, "kf", msgtype, payload)
        return dict(OK)

    def kf_typing(self, appid: str, body: dict[str, Any]) -> dict[str, Any]:
        member = _member_of(self, appid, body)
        command = body.get("command")
        if command not in ("Typing", "CancelTyping"):
            raise WxError(45072)
        now = self.now()
        if now - member.last_interaction > self.limits.typing_needs_interaction_within:
            raise WxError(45080)
        if command == "Typing":
            if member.typing_until > now:
                raise WxError(45081)
            member.typing_until = now + self.limits.typing_lasts
        else:
            member.typing_until = 0.0
        payload = {"command": command, "until": member.typing_until}
        self.record_outbound(appid, member.openid, "typing", "typing", payload)
        return dict(OK)

    # template messages -------------------------------------------------------------------------
    def template_send(self, appid: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.app(appid).kind != "oa":
            raise WxError(45109)
        template = self.runtime(appid).templates.get(str(body.get("template_id", "")))
        payload: dict[str, Any] = {
            k: body.get(k) for k in ("template_id", "url", "miniprogram", "data") if k in body
        }
        if template is not None:
            payload["title"] = template.title
        try:
            member = _member_of(self, appid, body)
            if template is None or template.kind != "template":
                raise WxError(40037)
            if not isinstance(body.get("data"), dict):
                raise WxError(47003, "data")
            if self.limits.template_requires_follow and not member.following:
                raise WxError(43004)
        except WxError as exc:
            self.record_outbound(appid, str(body.get("touser", "")), "template", "template", payload, exc)
            raise
        key = (appid, member.openid, str(body.get("client_msg_id") or ""))
        if key[2] and key in self.client_msg_ids:
            return {**OK, "msgid": self.client_msg_ids[key]}  # idempotent: no second message
        msgid = self.store.next("template_msgid", start=3_000_000_001)
        if key[2]:
            self.client_msg_ids[key] = msgid
        self.record_outbound(appid, member.openid, "template", "template", payload, msgid=msgid)
        status = "failed:user block" if member.blocks_templates else "success"
        self.notify_later(appid, self._event(member, "TEMPLATESENDJOBFINISH", MsgID=msgid, Status=status))
        return {**OK, "msgid": msgid}

    # subscription notifications --------------------------------------------------------------
    def subscribe_send(self, appid: str, body: dict[str, Any], *, channel: str) -> dict[str, Any]:
        """``bizsend`` (OA subscription notification) or the mini-program ``subscribe/send``:
        each send spends one credit the user granted for that template (43101 when none)."""
        kind = "oa" if channel == "bizsend" else "mp"
        if self.app(appid).kind != kind:
            raise WxError(48001)
        template_id = str(body.get("template_id", ""))
        template = self.runtime(appid).templates.get(template_id)
        keys = ("template_id", "page", "miniprogram", "data", "miniprogram_state", "lang")
        payload = {k: body.get(k) for k in keys if k in body}
        if template is not None:
            payload["title"] = template.title
        try:
            member = _member_of(self, appid, body)
            if template is None or template.kind != "subscribe":
                raise WxError(40037)
            if not isinstance(body.get("data"), dict):
                raise WxError(47003, "data")
            if member.credits.get(template_id, 0) <= 0:
                raise WxError(43101)
        except WxError as exc:
            self.record_outbound(appid, str(body.get("touser", "")), channel, "subscribe", payload, exc)
            raise
        member.credits[template_id] -= 1
        msgid = self.store.next("subscribe_msgid", start=2_000_000_001)
        self.record_outbound(appid, member.openid, channel, "subscribe", payload, msgid=msgid)
        row = {"TemplateId": template_id, "MsgID": msgid, "ErrorCode": 0, "ErrorStatus": "success"}
        fields = self._event(member, "subscribe_msg_sent_event", SubscribeMsgSentEvent={"List": row})
        self.notify_later(appid, fields)
        return {**OK, "msgid": msgid}

    def _event(self, member: Member, event: str, **extra: Any) -> dict[str, Any]:
        return {
            "ToUserName": self.app(member.appid).original_id,
            "FromUserName": member.openid,
            "CreateTime": int(self.push_time()),
            "MsgType": "event",
            "Event": event,
            **extra,
        }

    # templates ---------------------------------------------------------------------------------
    def add_template(
        self,
        appid: str,
        title: str,
        content: str = "",
        *,
        kind: str = "template",
        template_id: str | None = None,
    ) -> str:
        """Add a template message template (``kind="template"``) or a subscription notification
        template (``kind="subscribe"``) to the app; returns its template_id."""
        from wechat_sim.model import Template

        if kind not in ("template", "subscribe"):
            raise ValueError("kind is template or subscribe")
        self.app(appid)
        template_id = template_id or secrets.token_urlsafe(32)[:43]
        self.runtime(appid).templates[template_id] = Template(template_id, title, content, kind)
        self.touch()
        return template_id

    def grant_subscription(self, person_id: str, appid: str, template_id: str, n: int = 1) -> None:
        """Give credits without the popup event (for tests that only exercise sending)."""
        member = self.member(person_id, appid)
        member.credits[template_id] = member.credits.get(template_id, 0) + n
        self.touch()
