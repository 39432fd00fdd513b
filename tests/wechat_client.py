"""Plays WeChat's servers in tests: signs, encrypts (with wechatpy, an implementation nobody here
wrote) and posts callbacks over real HTTP, then verifies and decrypts the reply."""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from dataclasses import dataclass

import xmltodict
from aiohttp.test_utils import TestClient
from wechatpy.crypto import WeChatCrypto

_msg_ids = itertools.count(int(time.time()) * 1000)


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def next_msg_id() -> str:
    return str(next(_msg_ids))


def text_xml(
    openid: str,
    content: str,
    *,
    msg_id: str | None = None,
    to: str = "gh_testaccount",
    create_time: int | None = None,
) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or next_msg_id()}</MsgId></xml>"
    )


def event_xml(
    openid: str,
    event: str,
    *,
    key: str | None = None,
    extra: str = "",
    to: str = "gh_testaccount",
    create_time: int | None = None,
) -> str:
    key_xml = f"<EventKey><![CDATA[{key}]]></EventKey>" if key is not None else ""
    return (
        f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{key_xml}{extra}</xml>"
    )


@dataclass
class Reply:
    status: int
    body: bytes
    fields: dict | None  # parsed (decrypted) reply XML, None for an ack or an error

    @property
    def text(self) -> str | None:
        return self.fields.get("Content") if self.fields else None

    @property
    def is_ack(self) -> bool:
        return self.status == 200 and self.body in (b"success", b"")


class WeChatPoster:
    def __init__(
        self, client: TestClient, appid: str, token: str, *, aes_key: str | None = None, mode: str = "plain"
    ) -> None:
        self.client = client
        self.appid = appid
        self.token = token
        self.mode = mode
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None

    def build(
        self, xml: str, *, timestamp: str | None = None, nonce: str | None = None
    ) -> tuple[dict, bytes]:
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or str(secrets.randbelow(10**9))
        params = {
            "timestamp": timestamp,
            "nonce": nonce,
            "signature": sign(self.token, timestamp, nonce),
            "openid": "ignored",
        }
        if self.mode == "plain":
            return params, xml.encode()
        assert self.crypto is not None
        envelope = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        encrypted = envelope["Encrypt"]
        params.update(encrypt_type="aes", msg_signature=sign(self.token, timestamp, nonce, encrypted))
        if self.mode == "safe":
            body = (
                "<xml><ToUserName><![CDATA[gh_testaccount]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            )
        else:  # compat: plaintext fields and the ciphertext side by side
            body = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        return params, body.encode()

    async def post_raw(self, params: dict, body: bytes) -> Reply:
        resp = await self.client.post(f"/wechat/{self.appid}", params=params, data=body)
        raw = await resp.read()
        return Reply(resp.status, raw, self._open(resp.status, raw, params))

    async def post(self, xml: str, **kw: str) -> Reply:
        params, body = self.build(xml, **kw)
        return await self.post_raw(params, body)

    def _open(self, status: int, raw: bytes, params: dict) -> dict | None:
        if status != 200 or raw in (b"success", b""):
            return None
        doc = xmltodict.parse(raw)["xml"]
        if "Encrypt" in doc:
            assert self.crypto is not None
            # wechatpy verifies MsgSignature and the appid, then returns the plain XML
            plain = self.crypto.decrypt_message(raw, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"])
            return xmltodict.parse(plain)["xml"]
        return doc
