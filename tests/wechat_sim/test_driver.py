"""The callback driver against a real loopback callback: modes, signatures, deadline and retries,
acks, the user-visible failure, reply verification and decryption."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from tests.wechat_sim.responder import Responder, text_reply
from wechat_sim.crypto import MessageCipher, sha1_signature
from wechat_sim.driver import OA_FAILURE, CallbackDriver
from wechat_sim.xmlmsg import to_xml

APPID = "wxdrivertest00001"
TOKEN = "driverToken9"
AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@dataclass
class App:
    appid: str = APPID
    token: str = TOKEN
    aes_key: str = AES
    mode: str = "safe"
    callback_url: str = ""
    original_id: str = "gh_drivertest"
    kind: str = "oa"


def text_fields(content: str = "再来一单", msg_id: int = 24000000000000001) -> dict:
    return {
        "ToUserName": "gh_drivertest",
        "FromUserName": "oUSER000000000000000000000001",
        "CreateTime": 1714112445,
        "MsgType": "text",
        "Content": content,
        "MsgId": msg_id,
    }


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def serve(aiohttp_server, responder: Responder, mode: str) -> App:
    server = await aiohttp_server(responder.app())
    return App(mode=mode, callback_url=str(server.make_url("/cb")))


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_each_mode_is_signed_and_encrypted_as_wechat_does(aiohttp_server, http, mode):
    responder = Responder(APPID, TOKEN, AES, mode, answer=lambda f: text_reply(f, "收到：" + f["Content"]))
    target = await serve(aiohttp_server, responder, mode)

    result = await CallbackDriver(http).deliver(target, text_fields())

    assert result.ok and not result.acked
    assert result.reply["Content"] == "收到：再来一单"
    assert result.reply_encrypted is (mode == "safe")
    [got] = responder.received
    assert got.fields["Content"] == "再来一单" and got.fields["MsgId"] == "24000000000000001"
    assert got.params["openid"] == "oUSER000000000000000000000001"
    if mode == "plain":
        assert "encrypt_type" not in got.params and b"<Encrypt>" not in got.body
    else:
        assert got.params["encrypt_type"] == "aes"
    if mode == "compat":
        assert b"<Content><![CDATA[" in got.body and b"<Encrypt>" in got.body
    if mode == "safe":
        assert "再来一单".encode() not in got.body


async def test_get_verification_echoes(aiohttp_server, http):
    responder = Responder(APPID, TOKEN)
    target = await serve(aiohttp_server, responder, "plain")
    result = await CallbackDriver(http).verify_url(target, echostr="4375120948345356249")
    assert result.ok and result.body == "4375120948345356249"


async def test_a_slow_callback_gets_the_identical_message_again_with_new_signatures(aiohttp_server, http):
    responder = Responder(APPID, TOKEN, AES, "safe", delays=[1.5, 1.5], answer=lambda f: "success")
    target = await serve(aiohttp_server, responder, "safe")

    result = await CallbackDriver(http, deadline=0.5, attempts=3).deliver(target, text_fields())

    assert result.ok and result.acked
    assert [a.outcome for a in result.attempts] == ["timeout", "timeout", "ack"]
    assert len(responder.received) == 3
    first, *others = responder.received
    for again in others:
        assert again.body == first.body  # identical ciphertext body
        assert again.fields["MsgId"] == first.fields["MsgId"] == "24000000000000001"
        assert again.fields["CreateTime"] == first.fields["CreateTime"]
        assert again.params["nonce"] != first.params["nonce"]
        assert again.params["msg_signature"] != first.params["msg_signature"]
    assert len({a.nonce for a in result.attempts}) == 3


async def test_no_answer_within_every_deadline_is_the_user_visible_failure(aiohttp_server, http):
    responder = Responder(APPID, TOKEN, AES, "plain", delays=[1.5, 1.5, 1.5])
    target = await serve(aiohttp_server, responder, "plain")

    result = await CallbackDriver(http, deadline=0.5, attempts=3).deliver(target, text_fields())

    assert result.user_error == OA_FAILURE == "该公众号暂时无法提供服务，请稍后再试"
    assert result.reason == "timeout" and len(result.attempts) == 3 == len(responder.received)


async def test_the_attempt_count_is_configurable(aiohttp_server, http):
    responder = Responder(APPID, TOKEN, AES, "plain", delays=[1.5] * 4)
    target = await serve(aiohttp_server, responder, "plain")
    result = await CallbackDriver(http, deadline=0.5, attempts=4).deliver(target, text_fields())
    assert len(result.attempts) == 4 == len(responder.received)


async def test_a_server_error_is_retried(aiohttp_server, http):
    answers = iter([web.Response(status=500, text="handler_failed"), "success"])
    responder = Responder(APPID, TOKEN, AES, "plain", answer=lambda f: next(answers))
    target = await serve(aiohttp_server, responder, "plain")
    result = await CallbackDriver(http).deliver(target, text_fields())
    assert result.acked and [a.outcome for a in result.attempts] == ["http_status", "ack"]


@pytest.mark.parametrize("ack", ["success", ""])
async def test_success_and_empty_are_acks_in_safe_mode_without_encryption(aiohttp_server, http, ack):
    responder = Responder(APPID, TOKEN, AES, "safe", answer=lambda f: ack)
    target = await serve(aiohttp_server, responder, "safe")
    result = await CallbackDriver(http).deliver(target, text_fields())
    assert result.ok and result.acked and result.reply is None


@pytest.mark.parametrize(
    ("mode", "answer", "reason"),
    [
        ("plain", '{"msg": "json is not a reply"}', "malformed:ExpatError"),
        ("plain", "<xml><Content>no fields</Content></xml>", "wrong_ToUserName"),
        ("plain", "ok", "malformed:ExpatError"),
        ("safe", "PLAIN_TEXT_REPLY", "plaintext_reply_in_safe_mode"),
        ("safe", "BAD_SIGNATURE", "bad_reply_signature"),
        ("safe", "OTHER_APPID", "reply_decrypt:appid_mismatch"),
        ("plain", "ENCRYPTED", "encrypted_reply_in_plain_mode"),
        ("plain", "UNKNOWN_TYPE", "bad_MsgType:markdown"),
    ],
)
async def test_a_reply_that_is_neither_an_ack_nor_valid_xml_fails_for_the_user(
    aiohttp_server, http, mode, answer, reason
):
    def answer_for(fields: dict) -> str | bytes:
        plain = text_reply(fields, "hi")
        if answer == "PLAIN_TEXT_REPLY":
            return plain.encode()  # bytes bypass the responder's encryption
        if answer in ("BAD_SIGNATURE", "OTHER_APPID", "ENCRYPTED"):
            appid = "wxsomebodyelse001" if answer == "OTHER_APPID" else APPID
            encrypted = MessageCipher(AES, appid).encrypt(plain)
            signature = sha1_signature(TOKEN, "1", "2", encrypted)
            if answer == "BAD_SIGNATURE":
                signature = "0" * 40
            envelope = {"Encrypt": encrypted, "MsgSignature": signature, "TimeStamp": 1, "Nonce": "2"}
            return to_xml(envelope).encode()  # already encrypted: bytes pass through the responder
        if answer == "UNKNOWN_TYPE":
            return plain.replace("<![CDATA[text]]>", "<![CDATA[markdown]]>")
        return answer

    responder = Responder(APPID, TOKEN, AES, mode, answer=answer_for)
    target = await serve(aiohttp_server, responder, mode)

    result = await CallbackDriver(http).deliver(target, text_fields())

    assert result.user_error == OA_FAILURE
    assert result.reason == reason
    assert len(result.attempts) == 1  # an answer, even a bad one, is not retried
    assert result.reply is None


async def test_an_unreachable_callback_fails_after_every_attempt(http, unused_tcp_port):
    target = App(mode="plain", callback_url=f"http://127.0.0.1:{unused_tcp_port}/cb")
    result = await CallbackDriver(http, attempts=2).deliver(target, text_fields())
    assert result.user_error == OA_FAILURE and result.reason == "connection_error"
    assert [a.outcome for a in result.attempts] == ["connection_error"] * 2
