"""Acting as a simulated user: every action becomes the XML WeChat would push, goes through the
callback driver, and lands in the user's conversation with the passive reply or the failure.

WeChat's side effects happen first (a follow is recorded, the customer-service window opens), as
on the real platform, so that an app answering late through the API finds the window open.
"""

from __future__ import annotations

from typing import Any

from wechat_sim.driver import DeliveryResult
from wechat_sim.host import SimHost
from wechat_sim.model import Member, QrTicket
from wechat_sim.window import open_grant, trigger_of
from wechat_sim.xmlmsg import Fields, news_items

# replies WeChat does not show for these pushes
_NO_REPLY_EVENTS = {
    "unsubscribe",
    "TEMPLATESENDJOBFINISH",
    "MASSSENDJOBFINISH",
    "subscribe_msg_popup_event",
    "subscribe_msg_change_event",
    "subscribe_msg_sent_event",
    "LOCATION",
    "VIEW",
    "view_miniprogram",
}
# user messages after which a news reply may carry only one article (section 2.3)
_ONE_ARTICLE_AFTER = {"text", "image", "voice", "video", "shortvideo", "location", "link"}
MSGID_START = 24_000_000_000_000_001


def _sim_error(code: str, message: str) -> Exception:
    from wechat_sim.simulator import SimError

    return SimError(code, message)


def reply_payload(reply: Fields, *, max_articles: int | None) -> dict[str, Any]:
    """A passive reply as the console shows it (JSON-ish, like the customer-service bodies)."""
    msg_type = reply.get("MsgType")
    if msg_type == "text":
        return {"msgtype": "text", "content": reply.get("Content") or ""}
    if msg_type == "news":
        items = news_items(reply)
        kept = items[:max_articles] if max_articles else items
        articles = [
            {
                "title": i.get("Title") or "",
                "description": i.get("Description") or "",
                "url": i.get("Url") or "",
                "picurl": i.get("PicUrl") or "",
            }
            for i in kept
        ]
        return {"msgtype": "news", "articles": articles, "dropped": len(items) - len(kept)}
    if msg_type in ("image", "voice", "video", "music"):
        body = reply.get(msg_type.capitalize()) or {}
        return {"msgtype": msg_type, **{k.lower(): v for k, v in body.items()}}
    return {"msgtype": str(msg_type)}


class UserActions(SimHost):
    """Mixed into :class:`wechat_sim.simulator.Simulator`."""

    async def act(
        self, person_id: str, appid: str, msg_type: str, extra: Fields, shown: dict[str, Any]
    ) -> DeliveryResult:
        app = self.app(appid)
        member = self.member(person_id, appid)
        now = self.now()
        fields: Fields = {
            "ToUserName": app.original_id,
            "FromUserName": member.openid,
            "CreateTime": int(self.push_time()),
            "MsgType": msg_type,
            **extra,
        }
        trigger = trigger_of(fields)
        if trigger:
            open_grant(member, trigger, now, self.limits.kf_rules)
        member.last_interaction = now
        kind = msg_type if msg_type in ("text", "event") else "message"
        self.add_entry(appid, person_id, "in", kind, payload=shown)
        result = await self.deliver(appid, fields)
        self._show(member, fields, result)
        return result

    def _show(self, member: Member, fields: Fields, result: DeliveryResult) -> None:
        appid, pid = member.appid, member.person_id
        if result.reason == "no_callback_url":
            self.add_entry(
                appid, pid, "system", "note", payload={"text": "该账号未配置服务器地址，消息未推送"}
            )
        elif result.user_error and fields.get("Event") in _NO_REPLY_EVENTS:
            # nothing is shown to the user for these; the console still tells the developer
            note = f"推送失败（用户不可见）：{result.reason}"
            self.add_entry(appid, pid, "system", "note", payload={"text": note}, error=result.reason)
        elif result.user_error:
            self.add_entry(
                appid, pid, "system", "error", payload={"text": result.user_error}, error=result.reason
            )
        elif result.reply is not None and fields.get("Event") not in _NO_REPLY_EVENTS:
            if result.reply.get("MsgType") == "transfer_customer_service":
                self.add_entry(appid, pid, "system", "note", payload={"text": "已转接人工客服"})
                return
            limit = self.limits.max_news_articles if fields["MsgType"] in _ONE_ARTICLE_AFTER else 8
            payload = reply_payload(result.reply, max_articles=limit)
            self.add_entry(appid, pid, "out", "reply", channel="passive", payload=payload)

    def _msg_id(self) -> int:
        return self.store.next("msgid", start=MSGID_START)

    def _require_follower(self, member: Member) -> None:
        if self.app(member.appid).kind == "oa" and not member.following:
            raise _sim_error("not_following", "请先关注公众号")

    # following ----------------------------------------------------------------------------------
    async def follow(
        self,
        person_id: str,
        appid: str,
        *,
        scene: str | int | None = None,
        ticket: QrTicket | None = None,
        subscribe_scene: str = "ADD_SCENE_SEARCH",
    ) -> DeliveryResult:
        """Follow the account, plainly or through a parametric QR code (its ticket or its scene)."""
        if self.app(appid).kind != "oa":
            raise _sim_error("not_an_oa", "only Official Accounts can be followed")
        if ticket is None and scene is not None:
            ticket = self.qr_for_scene(appid, str(scene))
        member = self.member(person_id, appid)
        if member.following:
            if ticket is not None:
                return await self._scan_event(person_id, ticket)
            raise _sim_error("already_following", "已关注该公众号")
        now = int(self.now())
        member.following = True
        member.subscribe_time = now
        member.unsubscribe_time = 0
        member.subscribe_scene = "ADD_SCENE_QR_CODE" if ticket else subscribe_scene
        member.qr_scene = (ticket.scene_id or 0) if ticket else 0
        member.qr_scene_str = (ticket.scene_str or "") if ticket else ""
        extra: Fields = {"Event": "subscribe", "EventKey": f"qrscene_{ticket.scene}" if ticket else ""}
        if ticket:
            extra["Ticket"] = ticket.ticket
        label = f"扫码关注（场景 {ticket.scene}）" if ticket else "关注了公众号"
        return await self.act(person_id, appid, "event", extra, {"event": "subscribe", "label": label})

    async def unfollow(self, person_id: str, appid: str) -> DeliveryResult:
        member = self.member(person_id, appid)
        if not member.following:
            raise _sim_error("not_following", "未关注该公众号")
        member.following = False
        member.unsubscribe_time = int(self.now())
        member.grants = []
        extra = {"Event": "unsubscribe", "EventKey": ""}
        return await self.act(person_id, appid, "event", extra, {"event": "unsubscribe", "label": "取消关注"})

    async def scan(self, person_id: str, what: str, appid: str | None = None) -> DeliveryResult:
        """Scan a parametric QR code: its ticket, its URL (http://weixin.qq.com/q/...) or, with an
        appid, a scene value (the simulator issues a temporary ticket for a typed scene)."""
        ticket = self.find_qr(what, appid)
        if ticket is None:
            if appid is None or "://" in what:
                raise _sim_error("not_a_qr", "不是该公众号的带参数二维码")
            ticket = self.qr_for_scene(appid, what)
        if ticket.expires_at is not None and self.now() >= ticket.expires_at:
            raise _sim_error("qr_expired", "二维码已过期")
        member = self.member(person_id, ticket.appid)
        if not member.following:
            return await self.follow(person_id, ticket.appid, ticket=ticket)
        return await self._scan_event(person_id, ticket)

    async def _scan_event(self, person_id: str, ticket: QrTicket) -> DeliveryResult:
        extra = {"Event": "SCAN", "EventKey": ticket.scene, "Ticket": ticket.ticket}
        shown = {"event": "SCAN", "label": f"扫描二维码（场景 {ticket.scene}）"}
        return await self.act(person_id, ticket.appid, "event", extra, shown)

    # messages -----------------------------------------------------------------------------------
    async def send_text(
        self, person_id: str, appid: str, text: str, *, bizmsgmenuid: str | None = None
    ) -> DeliveryResult:
        member = self.member(person_id, appid)
        self._require_follower(member)
        extra: Fields = {"Content": text, "MsgId": self._msg_id()}
        shown: dict[str, Any] = {"msgtype": "text", "content": text}
        if bizmsgmenuid is not None:
            extra["bizmsgmenuid"] = bizmsgmenuid
            shown["bizmsgmenuid"] = bizmsgmenuid
        return await self.act(person_id, appid, "text", extra, shown)

    async def send_location(
        self, person_id: str, appid: str, lat: float, lng: float, label: str = "", scale: int = 15
    ) -> DeliveryResult:
        self._require_follower(self.member(person_id, appid))
        extra = {
            "Location_X": lat,
            "Location_Y": lng,
            "Scale": scale,
            "Label": label,
            "MsgId": self._msg_id(),
        }
        shown = {"msgtype": "location", "label": label, "lat": lat, "lng": lng}
        return await self.act(person_id, appid, "location", extra, shown)

    async def report_location(
        self, person_id: str, appid: str, lat: float, lng: float, precision: float = 65.0
    ) -> DeliveryResult:
        """The LOCATION event sent on entering the chat when the user shares their location."""
        extra = {"Event": "LOCATION", "Latitude": lat, "Longitude": lng, "Precision": precision}
        shown = {"event": "LOCATION", "label": f"上报地理位置 {lat:.4f},{lng:.4f}"}
        return await self.act(person_id, appid, "event", extra, shown)

    async def enter_session(self, person_id: str, appid: str, session_from: str = "") -> DeliveryResult:
        """Mini-program: the user opens the customer-service session (2 messages in 1 minute)."""
        extra = {"Event": "user_enter_tempsession", "SessionFrom": session_from}
        shown = {"event": "user_enter_tempsession", "label": "进入客服会话"}
        return await self.act(person_id, appid, "event", extra, shown)

    async def event(self, person_id: str, appid: str, event: str, **fields: Any) -> DeliveryResult:
        """Any other event, fields as WeChat names them (``EventKey=...``)."""
        return await self.act(
            person_id, appid, "event", {"Event": event, **fields}, {"event": event, "label": event}
        )

    # menu ---------------------------------------------------------------------------------------
    async def click(self, person_id: str, appid: str, key: str) -> DeliveryResult:
        self._require_follower(self.member(person_id, appid))
        extra = {"Event": "CLICK", "EventKey": key}
        return await self.act(
            person_id, appid, "event", extra, {"event": "CLICK", "label": f"点击菜单 {key}"}
        )

    async def tap_menu(
        self, person_id: str, appid: str, path: str, *, scan_result: str | None = None
    ) -> tuple[dict[str, Any], DeliveryResult | None]:
        """Tap the button at ``path`` ("1" = second top button, "0.2" = its third sub-button) of the
        menu this user sees. Returns the button and the delivery (None when WeChat pushes nothing)."""
        member = self.member(person_id, appid)
        self._require_follower(member)
        button, menuid = self.menu_button(member, path)
        kind, name = button.get("type"), button.get("name", "")
        label = f"菜单「{name}」"
        if kind == "click":
            extra: Fields = {"Event": "CLICK", "EventKey": button.get("key", "")}
        elif kind in ("view", "miniprogram"):
            event = "VIEW" if kind == "view" else "view_miniprogram"
            key = button.get("url", "") if kind == "view" else button.get("pagepath", "")
            extra = {"Event": event, "EventKey": key}
            if menuid:
                extra["MenuId"] = menuid
        elif kind in ("scancode_push", "scancode_waitmsg"):
            if scan_result is None:
                raise _sim_error("scan_needed", "this button scans a code: pass scan_result")
            info = {"ScanType": "qrcode", "ScanResult": scan_result}
            extra = {"Event": kind, "EventKey": button.get("key", ""), "ScanCodeInfo": info}
            label += f" 扫码：{scan_result}"
        elif kind == "location_select":
            place = {
                "Location_X": 31.2304,
                "Location_Y": 121.4737,
                "Scale": 15,
                "Label": "上海市",
                "Poiname": "",
            }
            extra = {"Event": kind, "EventKey": button.get("key", ""), "SendLocationInfo": place}
        elif kind in ("pic_sysphoto", "pic_photo_or_album", "pic_weixin"):
            pics = {"Count": 1, "PicList": {"item": [{"PicMd5Sum": "1b5f7c23b5bf75682a53e7b6d163e185"}]}}
            extra = {"Event": kind, "EventKey": button.get("key", ""), "SendPicsInfo": pics}
        else:  # media_id, article_id, ...: WeChat shows the material itself and pushes nothing
            self.add_entry(appid, person_id, "in", "event", payload={"event": kind, "label": label})
            return button, None
        result = await self.act(person_id, appid, "event", extra, {"event": extra["Event"], "label": label})
        return button, result

    # subscription notifications ---------------------------------------------------------------
    async def subscribe_popup(
        self, person_id: str, appid: str, choices: dict[str, bool], *, scene: int = 1
    ) -> DeliveryResult:
        """The user answers a subscribe popup (H5 ``wx-open-subscribe`` or ``wx.requestSubscribeMessage``):
        each accepted template grants one send."""
        member = self.member(person_id, appid)
        templates = self.runtime(appid).templates
        rows = []
        for template_id, accept in choices.items():
            if template_id not in templates:
                raise _sim_error("unknown_template", f"template {template_id!r} does not exist")
            if accept:
                member.credits[template_id] = member.credits.get(template_id, 0) + 1
            status = "accept" if accept else "reject"
            rows.append({"TemplateId": template_id, "SubscribeStatusString": status, "PopupScene": scene})
        extra = {"Event": "subscribe_msg_popup_event", "SubscribeMsgPopupEvent": {"List": rows}}
        names = "、".join(f"{templates[t].title}{'✓' if ok else '✗'}" for t, ok in choices.items())
        shown = {"event": "subscribe_msg_popup_event", "label": f"订阅通知：{names}"}
        return await self.act(person_id, appid, "event", extra, shown)

    async def cancel_subscription(self, person_id: str, appid: str, template_id: str) -> DeliveryResult:
        """The user turns a notification off in the settings (only rejects are pushed)."""
        member = self.member(person_id, appid)
        member.credits.pop(template_id, None)
        rows = [{"TemplateId": template_id, "SubscribeStatusString": "reject"}]
        extra = {"Event": "subscribe_msg_change_event", "SubscribeMsgChangeEvent": {"List": rows}}
        shown = {"event": "subscribe_msg_change_event", "label": "关闭了订阅通知"}
        return await self.act(person_id, appid, "event", extra, shown)

    def block_templates(self, person_id: str, appid: str, blocked: bool = True) -> None:
        """The user refuses this account's template messages (TEMPLATESENDJOBFINISH says user block)."""
        self.member(person_id, appid).blocks_templates = blocked
        self.touch()
