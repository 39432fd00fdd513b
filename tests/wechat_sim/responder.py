"""A tiny callback app for the simulator's tests (not jiubot): verifies signatures and decrypts with
wechatpy (an implementation nobody here wrote), records what arrived and answers as told."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import xmltodict
from aiohttp import web
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature

from wechat_sim.crypto import sha1_signature


@dataclass
class Received:
    params: dict[str, str]
    body: bytes
    fields: dict
    at: float


def text_reply(fields: dict, content: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{fields['FromUserName']}]]></ToUserName>"
        f"<FromUserName><![CDATA[{fields['ToUserName']}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content></xml>"
    )


@dataclass
class Responder:
    appid: str
    token: str
    aes_key: str = ""
    mode: str = "plain"
    delays: list[float] = field(default_factory=list)  # per attempt, in order
    answer: Callable[[dict], str | bytes | web.Response] = lambda fields: "success"
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    @property
    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.token, self.aes_key, self.appid)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cb", self.get)
        app.router.add_post("/cb", self.post)
        return app

    async def get(self, request: web.Request) -> web.Response:
        q = request.query
        check_signature(self.token, q["signature"], q["timestamp"], q["nonce"])
        return web.Response(text=q["echostr"])

    async def post(self, request: web.Request) -> web.StreamResponse:
        q = dict(request.query)
        body = await request.read()
        check_signature(self.token, q["signature"], q["timestamp"], q["nonce"])
        if q.get("encrypt_type") == "aes":
            outer = xmltodict.parse(body)["xml"]
            assert q["msg_signature"] == sha1_signature(
                self.token, q["timestamp"], q["nonce"], outer["Encrypt"]
            )
            plain = self.crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
            fields = xmltodict.parse(plain)["xml"]
        else:
            fields = xmltodict.parse(body)["xml"]
        number = len(self.received)
        self.received.append(Received(q, body, fields, time.monotonic()))
        if number < len(self.delays) and self.delays[number]:
            await asyncio.sleep(self.delays[number])
        answer = self.answer(fields)
        if isinstance(answer, web.Response):
            return answer
        if isinstance(answer, str) and answer.startswith("<xml>") and self.mode == "safe":
            answer = self.crypto.encrypt_message(answer, q["nonce"], q["timestamp"])
        return web.Response(body=answer.encode() if isinstance(answer, str) else answer)
