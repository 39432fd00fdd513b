"""API areas mounted on ``WeChatClient`` (``client.message``, ``client.qrcode``...), one small class each.

Each method builds WeChat's body, calls the client's ``_request`` and returns a plain value or a
frozen dataclass; wire dictionaries do not leave ``bot.wechat``. Paths and bodies follow
WECHAT_PROTOCOL.md sections 5-11.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.messages import Article, MenuItem

if TYPE_CHECKING:
    from bot.wechat.outbound import WeChatClient


@dataclass(frozen=True, slots=True)
class QRCode:
    ticket: str
    url: str  # the QR payload: render it yourself, or show ``image_url``
    expire_seconds: int | None

    @property
    def image_url(self) -> str:
        return f"https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket={quote(self.ticket)}"


@dataclass(frozen=True, slots=True)
class UserInfo:
    openid: str
    subscribed: bool
    unionid: str | None = None
    subscribe_time: int | None = None
    subscribe_scene: str | None = None
    qr_scene_str: str | None = None
    tagid_list: tuple[int, ...] = ()
    remark: str = ""

    @classmethod
    def from_wire(cls, doc: Mapping[str, Any]) -> UserInfo:
        return cls(
            openid=str(doc.get("openid", "")),
            subscribed=bool(doc.get("subscribe", 0)),
            unionid=doc.get("unionid") or None,
            subscribe_time=doc.get("subscribe_time"),
            subscribe_scene=doc.get("subscribe_scene") or None,
            qr_scene_str=doc.get("qr_scene_str") or None,
            tagid_list=tuple(int(t) for t in doc.get("tagid_list") or ()),
            remark=str(doc.get("remark") or ""),
        )


@dataclass(frozen=True, slots=True)
class Code2Session:
    """What jscode2session answers; ``session_key`` must never leave the server."""

    openid: str
    session_key: str
    unionid: str | None = None


@dataclass(frozen=True, slots=True)
class PhoneInfo:
    phone_number: str
    pure_phone_number: str
    country_code: str
    watermark_appid: str = ""


def _values(data: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``{"thing1": "x"}`` -> ``{"thing1": {"value": "x"}}`` (color/first/remark are ignored since 2023)."""
    return {key: {"value": str(value)} for key, value in data.items()}


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Area:
    def __init__(self, client: WeChatClient) -> None:
        self.client = client


class MessageAPI(_Area):
    """Customer-service messages, typing, templates, subscription notifications (sections 5-6)."""

    async def send_custom(
        self,
        appid: str,
        openid: str,
        msgtype: str,
        payload: Mapping[str, Any],
        *,
        kf_account: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"touser": openid, "msgtype": msgtype, msgtype: dict(payload)}
        if kf_account:
            body["customservice"] = {"kf_account": kf_account}
        doc: dict[str, Any] = await self.client._request(
            "POST", "/cgi-bin/message/custom/send", appid=appid, body=body
        )
        return doc

    async def send_text(self, appid: str, openid: str, content: str, **kw: Any) -> dict[str, Any]:
        return await self.send_custom(appid, openid, "text", {"content": content}, **kw)

    async def send_news(self, appid: str, openid: str, article: Article, **kw: Any) -> dict[str, Any]:
        # One article only since 2018-10 (45008 otherwise).
        item = {"title": article.title, "description": article.description, "url": article.url}
        if article.picurl:
            item["picurl"] = article.picurl
        return await self.send_custom(appid, openid, "news", {"articles": [item]}, **kw)

    async def send_miniprogram_page(
        self, appid: str, openid: str, *, title: str, mp_appid: str, pagepath: str, thumb_media_id: str = ""
    ) -> dict[str, Any]:
        payload = {"title": title, "appid": mp_appid, "pagepath": pagepath, "thumb_media_id": thumb_media_id}
        return await self.send_custom(appid, openid, "miniprogrampage", payload)

    async def send_msgmenu(
        self, appid: str, openid: str, *, head: str, items: Sequence[MenuItem], tail: str = ""
    ) -> dict[str, Any]:
        payload = {
            "head_content": head,
            "list": [{"id": item.id, "content": item.content} for item in items],
            "tail_content": tail,
        }
        return await self.send_custom(appid, openid, "msgmenu", payload)

    async def typing(self, appid: str, openid: str, *, on: bool = True) -> None:
        body = {"touser": openid, "command": "Typing" if on else "CancelTyping"}
        await self.client._request("POST", "/cgi-bin/message/custom/typing", appid=appid, body=body)

    async def send_template(
        self,
        appid: str,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        url: str = "",
        miniprogram: tuple[str, str] | None = None,
        client_msg_id: str | None = None,
    ) -> str:
        """A template message (service notices only); returns WeChat's msgid.

        ``client_msg_id`` makes the send idempotent on WeChat's side, so it is retried on timeouts.
        """
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": _values(data)}
        if url:
            body["url"] = url
        if miniprogram:
            body["miniprogram"] = {"appid": miniprogram[0], "pagepath": miniprogram[1]}
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        doc = await self.client._request(
            "POST", "/cgi-bin/message/template/send", appid=appid, body=body, idempotent=bool(client_msg_id)
        )
        return str(doc.get("msgid", ""))

    async def send_subscription(
        self,
        appid: str,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        page: str = "",
        miniprogram: tuple[str, str] | None = None,
    ) -> str:
        """An Official Account subscription notification (bizsend); uses one subscribe credit."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": _values(data)}
        if page:
            body["page"] = page
        if miniprogram:
            body["miniprogram"] = {"appid": miniprogram[0], "pagepath": miniprogram[1]}
        doc = await self.client._request("POST", "/cgi-bin/message/subscribe/bizsend", appid=appid, body=body)
        return str(doc.get("msgid", ""))

    async def send_mp_subscribe(
        self,
        appid: str,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        page: str = "",
        state: str = "formal",
        lang: str = "zh_CN",
    ) -> str:
        """A mini-program subscribe message; uses one subscribe credit."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": _values(data),
            "miniprogram_state": state,
            "lang": lang,
        }
        if page:
            body["page"] = page
        doc = await self.client._request("POST", "/cgi-bin/message/subscribe/send", appid=appid, body=body)
        return str(doc.get("msgid", ""))


class QRCodeAPI(_Area):
    PERMANENT_MAX_SCENE_ID = 100_000
    TEMPORARY_MAX_SECONDS = 2_592_000

    async def create(
        self, appid: str, scene: int | str, *, expire_seconds: int | None = None, permanent: bool = False
    ) -> QRCode:
        """A parametric QR code: int scenes use QR_(LIMIT_)SCENE, strings QR_(LIMIT_)STR_SCENE."""
        info: dict[str, int | str]
        if isinstance(scene, int):
            limit = self.PERMANENT_MAX_SCENE_ID if permanent else 2**31 - 1
            if not 0 < scene <= limit:
                raise ValueError(f"scene_id must be 1..{limit}")
            action, info = ("QR_LIMIT_SCENE" if permanent else "QR_SCENE"), {"scene_id": scene}
        else:
            if not 1 <= len(scene) <= 64:
                raise ValueError("scene_str must be 1-64 characters")
            action, info = ("QR_LIMIT_STR_SCENE" if permanent else "QR_STR_SCENE"), {"scene_str": scene}
        body: dict[str, Any] = {"action_name": action, "action_info": {"scene": info}}
        if not permanent:
            body["expire_seconds"] = min(
                expire_seconds or self.TEMPORARY_MAX_SECONDS, self.TEMPORARY_MAX_SECONDS
            )
        doc = await self.client._request("POST", "/cgi-bin/qrcode/create", appid=appid, body=body)
        expires = doc.get("expire_seconds")
        return QRCode(str(doc["ticket"]), str(doc.get("url", "")), int(expires) if expires else None)


class MenuAPI(_Area):
    async def create(self, appid: str, buttons: Sequence[Mapping[str, Any]]) -> None:
        await self.client._request(
            "POST", "/cgi-bin/menu/create", appid=appid, body={"button": list(buttons)}, idempotent=True
        )

    async def get(self, appid: str) -> dict[str, Any]:
        doc: dict[str, Any] = await self.client._request(
            "GET", "/cgi-bin/menu/get", appid=appid, idempotent=True
        )
        return doc

    async def delete(self, appid: str) -> None:
        await self.client._request("GET", "/cgi-bin/menu/delete", appid=appid, idempotent=True)


class UserAPI(_Area):
    async def info(self, appid: str, openid: str, *, lang: str = "zh_CN") -> UserInfo:
        doc = await self.client._request(
            "GET", "/cgi-bin/user/info", appid=appid, params={"openid": openid, "lang": lang}, idempotent=True
        )
        return UserInfo.from_wire(doc)

    async def batchget(self, appid: str, openids: Sequence[str], *, lang: str = "zh_CN") -> list[UserInfo]:
        """User info for any number of openids, 100 per call."""
        users: list[UserInfo] = []
        for chunk in _chunks(openids, 100):
            body = {"user_list": [{"openid": o, "lang": lang} for o in chunk]}
            doc = await self.client._request(
                "POST", "/cgi-bin/user/info/batchget", appid=appid, body=body, idempotent=True
            )
            users.extend(UserInfo.from_wire(u) for u in doc.get("user_info_list") or ())
        return users

    async def followers(self, appid: str, next_openid: str = "") -> tuple[list[str], str]:
        """One page (up to 10 000) of follower openids and the cursor for the next page ('' at the end)."""
        doc = await self.client._request(
            "GET", "/cgi-bin/user/get", appid=appid, params={"next_openid": next_openid}, idempotent=True
        )
        openids = list((doc.get("data") or {}).get("openid") or [])
        return openids, (str(doc.get("next_openid") or "") if openids else "")


class MassAPI(_Area):
    """Mass send (群发) to a tag's followers. ``clientmsgid`` makes it idempotent on WeChat's side:
    a second call with the same id answers 45065 (``MassAlreadySent``) and sends nothing."""

    async def send_text_to_tag(self, appid: str, tag_id: int, content: str, *, clientmsgid: str) -> int:
        body = {
            "filter": {"is_to_all": False, "tag_id": tag_id},
            "text": {"content": content},
            "msgtype": "text",
            "send_ignore_reprint": 0,
            "clientmsgid": clientmsgid,
        }
        doc = await self.client._request("POST", "/cgi-bin/message/mass/sendall", appid=appid, body=body)
        return int(doc["msg_id"])


class TagsAPI(_Area):
    async def create(self, appid: str, name: str) -> int:
        doc = await self.client._request(
            "POST", "/cgi-bin/tags/create", appid=appid, body={"tag": {"name": name}}
        )
        return int(doc["tag"]["id"])

    async def list(self, appid: str) -> list[dict[str, Any]]:
        doc = await self.client._request("GET", "/cgi-bin/tags/get", appid=appid, idempotent=True)
        return list(doc.get("tags") or [])

    async def delete(self, appid: str, tag_id: int) -> None:
        await self.client._request(
            "POST", "/cgi-bin/tags/delete", appid=appid, body={"tag": {"id": tag_id}}, idempotent=True
        )

    async def tag(self, appid: str, tag_id: int, openids: Sequence[str]) -> None:
        for chunk in _chunks(openids, 50):
            body = {"openid_list": list(chunk), "tagid": tag_id}
            await self.client._request(
                "POST", "/cgi-bin/tags/members/batchtagging", appid=appid, body=body, idempotent=True
            )

    async def untag(self, appid: str, tag_id: int, openids: Sequence[str]) -> None:
        for chunk in _chunks(openids, 50):
            body = {"openid_list": list(chunk), "tagid": tag_id}
            await self.client._request(
                "POST", "/cgi-bin/tags/members/batchuntagging", appid=appid, body=body, idempotent=True
            )

    async def of_user(self, appid: str, openid: str) -> builtins.list[int]:  # ``list`` is a method here
        doc = await self.client._request(
            "POST", "/cgi-bin/tags/getidlist", appid=appid, body={"openid": openid}, idempotent=True
        )
        return [int(t) for t in doc.get("tagid_list") or ()]


class WxaAPI(_Area):
    """Mini-program server APIs (section 11)."""

    async def jscode2session(self, appid: str, code: str) -> Code2Session:
        secret = await self.client.secrets(appid)
        params = {"appid": appid, "secret": secret, "js_code": code, "grant_type": "authorization_code"}
        # Single-use code: never retried after WeChat may have consumed it.
        doc = await self.client._request(
            "GET", "/sns/jscode2session", appid=appid, params=params, token=False
        )
        return Code2Session(str(doc["openid"]), str(doc["session_key"]), doc.get("unionid") or None)

    async def phone_number(self, appid: str, code: str, *, openid: str | None = None) -> PhoneInfo:
        body = {"code": code, **({"openid": openid} if openid else {})}
        doc = await self.client._request("POST", "/wxa/business/getuserphonenumber", appid=appid, body=body)
        info = doc.get("phone_info") or {}
        return PhoneInfo(
            phone_number=str(info.get("phoneNumber", "")),
            pure_phone_number=str(info.get("purePhoneNumber", "")),
            country_code=str(info.get("countryCode", "")),
            watermark_appid=str((info.get("watermark") or {}).get("appid", "")),
        )

    async def wxacode_unlimited(
        self,
        appid: str,
        scene: str,
        *,
        page: str = "",
        check_path: bool = True,
        env_version: str = "release",
        width: int = 430,
    ) -> bytes:
        """A mini-program code image (PNG/JPEG bytes); errors come back as JSON and raise."""
        if not 1 <= len(scene) <= 32:
            raise ValueError("scene must be 1-32 visible characters")
        body: dict[str, Any] = {
            "scene": scene,
            "check_path": check_path,
            "env_version": env_version,
            "width": width,
        }
        if page:
            body["page"] = page.lstrip("/")
        image: bytes = await self.client._request(
            "POST", "/wxa/getwxacodeunlimit", appid=appid, body=body, binary=True, idempotent=True
        )
        return image


class JsApiAPI(_Area):
    async def ticket(self, appid: str) -> str:
        return await self.client.tickets.get(appid)

    async def signature(self, appid: str, url: str, *, noncestr: str, timestamp: int) -> dict[str, Any]:
        """What ``wx.config`` needs for the page at ``url`` (signed without the ``#fragment``)."""
        ticket = await self.ticket(appid)
        page = url.split("#", 1)[0]
        plain = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={page}"
        return {
            "appId": appid,
            "timestamp": timestamp,
            "nonceStr": noncestr,
            "signature": hashlib.sha1(plain.encode()).hexdigest(),  # noqa: S324 - WeChat's algorithm
        }
