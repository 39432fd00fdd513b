"""The callback over real HTTP: verification, the three modes, and every bad input rejected with
nothing dispatched."""

from __future__ import annotations

import time

import pytest

from tests.conftest import OA_APPID, OA_TOKEN
from tests.wechat_client import event_xml, sign, text_xml


async def test_get_echoes_echostr_when_signed(bot_client):
    client, _ = await bot_client("plain")
    ts, nonce = str(int(time.time())), "12345"
    resp = await client.get(
        f"/wechat/{OA_APPID}",
        params={
            "signature": sign(OA_TOKEN, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": "4375120948345356249",
        },
    )
    assert resp.status == 200
    assert await resp.text() == "4375120948345356249"


async def test_get_with_wrong_signature_is_refused(bot_client):
    client, _ = await bot_client("plain")
    ts = str(int(time.time()))
    resp = await client.get(
        f"/wechat/{OA_APPID}", params={"signature": "0" * 40, "timestamp": ts, "nonce": "1", "echostr": "x"}
    )
    assert resp.status == 403
    assert (await resp.json())["error"] == "bad_signature"


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_text_message_gets_a_text_reply_in_each_mode(bot_client, probe, mode):
    _, poster = await bot_client(mode)
    reply = await poster.post(text_xml("openid-a", "echo 你好"))
    assert reply.status == 200
    assert reply.text == "echo:你好"
    assert reply.fields["ToUserName"] == "openid-a"
    assert reply.fields["FromUserName"] == "gh_testaccount"
    if mode != "plain":
        assert b"<Encrypt>" in reply.body and b"MsgSignature" in reply.body
    assert probe.count("echo") == 1


async def test_previous_aes_key_still_works_and_reply_uses_it(bot_client, probe):
    from tests.conftest import OA_AES_KEY, OA_PREV_AES_KEY
    from tests.wechat_client import WeChatPoster

    client, _ = await bot_client("safe", oa_aes_key=OA_AES_KEY, oa_prev_aes_key=OA_PREV_AES_KEY)
    old_sender = WeChatPoster(client, OA_APPID, OA_TOKEN, aes_key=OA_PREV_AES_KEY, mode="safe")
    reply = await old_sender.post(text_xml("openid-k", "echo old"))
    assert reply.text == "echo:old"  # decrypting with the old key proves the reply used it


async def test_help_and_fallback_texts_are_chinese(bot_client):
    _, poster = await bot_client("plain")
    assert "再来一单" in (await poster.post(text_xml("openid-h", "帮助"))).text
    assert "没太明白" in (await poster.post(text_xml("openid-h", "随便说点什么"))).text


def _xxe() -> str:
    return (
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"
    )


def _bomb() -> str:
    ents = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE xml [{ents}]><xml><ToUserName>gh</ToUserName>'
        "<FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
        "<Content>&i;</Content><MsgId>2</MsgId></xml>"
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_xxe(), "forbidden_xml_construct"),
        (_bomb(), "forbidden_xml_construct"),
        ("<xml><ToUserName>gh", "malformed_xml"),
        ("not xml at all", "malformed_xml"),
        ("", "empty_body"),
        (
            "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
            "missing_field:ToUserName",
        ),
        (
            "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>soon</CreateTime>"
            "<MsgType>text</MsgType></xml>",
            "bad_field:CreateTime",
        ),
        (
            "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
            "<MsgType>event</MsgType></xml>",
            "missing_field:Event",
        ),
        ("<other>1</other>", "no_xml_root"),
    ],
)
async def test_bad_plaintext_bodies_are_rejected_without_dispatch(bot_client, probe, body, reason):
    _, poster = await bot_client("plain")
    reply = await poster.post_raw(*poster.build(body))
    assert reply.status == 400
    assert reason in reply.body.decode()
    assert probe.calls == []


async def test_safe_mode_rejects_plaintext(bot_client, probe):
    _, poster = await bot_client("safe")
    poster.mode = "plain"
    reply = await poster.post(text_xml("o1", "echo x"))
    assert (reply.status, probe.calls) == (400, [])


async def test_bad_msg_signature_is_rejected(bot_client, probe):
    _, poster = await bot_client("safe")
    params, body = poster.build(text_xml("o1", "echo x"))
    params["msg_signature"] = "f" * 40
    reply = await poster.post_raw(params, body)
    assert (reply.status, reply.body, probe.calls) == (403, b'{"error": "bad_msg_signature"}', [])


async def test_plain_signature_does_not_replace_msg_signature(bot_client, probe):
    _, poster = await bot_client("safe")
    params, body = poster.build(text_xml("o1", "echo x"))
    del params["msg_signature"]
    reply = await poster.post_raw(params, body)
    assert (reply.status, probe.calls) == (403, [])


async def test_ciphertext_for_another_appid_is_rejected(bot_client, probe):
    from tests.conftest import OA_AES_KEY
    from tests.wechat_client import WeChatPoster

    client, _ = await bot_client("safe")
    forger = WeChatPoster(client, "wxanotherapp0001", OA_TOKEN, aes_key=OA_AES_KEY, mode="safe")
    params, body = forger.build(text_xml("o1", "echo x"))
    resp = await client.post(f"/wechat/{OA_APPID}", params=params, data=body)
    assert resp.status == 403
    assert (await resp.json())["error"] == "decrypt:appid_mismatch"
    assert probe.calls == []


async def test_garbage_ciphertext_is_rejected(bot_client, probe):
    _, poster = await bot_client("safe")
    ts, nonce, enc = str(int(time.time())), "7", "bm90IGEgcmVhbCBjaXBoZXJ0ZXh0IGF0IGFsbCEhISEhISEhISEhISE="
    params = {
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": sign(OA_TOKEN, ts, nonce, enc),
        "signature": sign(OA_TOKEN, ts, nonce),
    }
    reply = await poster.post_raw(params, f"<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode())
    assert reply.status == 400
    assert b"decrypt:" in reply.body
    assert probe.calls == []


async def test_unknown_appid_is_404(bot_client, probe):
    client, poster = await bot_client("plain")
    params, body = poster.build(text_xml("o1", "echo x"))
    resp = await client.post("/wechat/wxnotconfigured01", params=params, data=body)
    assert resp.status == 404
    assert probe.calls == []


async def test_oversized_body_is_413(bot_client, probe):
    _, poster = await bot_client("plain", max_body_bytes=2048)
    reply = await poster.post(text_xml("o1", "echo " + "x" * 4000))
    assert (reply.status, probe.calls) == (413, [])


@pytest.mark.parametrize("skew", [-302, 303, 3600])
async def test_stale_or_future_timestamp_is_refused(bot_client, probe, skew):
    _, poster = await bot_client("plain")
    reply = await poster.post(text_xml("o1", "echo x"), timestamp=str(int(time.time()) + skew))
    assert (reply.status, probe.calls) == (403, [])
    assert b"stale_timestamp" in reply.body


async def test_missing_query_parameters_are_400(bot_client, probe):
    client, _ = await bot_client("plain")
    resp = await client.post(f"/wechat/{OA_APPID}", data=text_xml("o1", "echo x"))
    assert resp.status == 400
    assert probe.calls == []


async def test_nonce_replayed_with_another_message_is_refused(bot_client, probe):
    _, poster = await bot_client("plain")
    ts, nonce = str(int(time.time())), "424242"
    first = await poster.post(text_xml("o1", "echo one"), timestamp=ts, nonce=nonce)
    assert first.text == "echo:one"
    forged = await poster.post(text_xml("o1", "echo two"), timestamp=ts, nonce=nonce)
    assert forged.status == 403 and b"nonce_replayed" in forged.body
    assert probe.count("echo") == 1


async def test_retry_with_same_nonce_and_body_is_answered(bot_client, probe):
    _, poster = await bot_client("plain")
    ts, nonce, xml = str(int(time.time())), "515151", text_xml("o1", "echo same")
    first = await poster.post(xml, timestamp=ts, nonce=nonce)
    second = await poster.post(xml, timestamp=ts, nonce=nonce)
    assert first.text == second.text == "echo:same"
    assert probe.count("echo") == 1


async def test_unknown_message_type_is_acknowledged_and_counted(bot_client, probe):
    from bot.observability import metrics

    _, poster = await bot_client("plain")
    before = metrics.unknown_types.labels(msg_type="hologram")._value.get()
    xml = (
        "<xml><ToUserName>gh</ToUserName><FromUserName>o9</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>hologram</MsgType><MsgId>99</MsgId></xml>"
    )
    reply = await poster.post(xml)
    assert reply.is_ack
    assert metrics.unknown_types.labels(msg_type="hologram")._value.get() == before + 1
    assert probe.calls == []


async def test_unknown_event_is_acknowledged(bot_client):
    _, poster = await bot_client("plain")
    reply = await poster.post(event_xml("o9", "some_future_event"))
    assert reply.is_ack


async def test_wrong_account_is_refused_when_original_id_is_configured(bot_client, probe):
    _, poster = await bot_client("plain", oa_original_id="gh_realaccount")
    reply = await poster.post(text_xml("o1", "echo x", to="gh_someoneelse"))
    assert (reply.status, probe.calls) == (400, [])
    ok = await poster.post(text_xml("o1", "echo y", to="gh_realaccount"))
    assert ok.text == "echo:y"
