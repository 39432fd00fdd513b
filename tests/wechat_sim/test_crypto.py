"""The simulator's own signing and encryption against the official vectors (WECHAT_PROTOCOL.md 1.6)."""

from __future__ import annotations

import base64
import json

import pytest

from wechat_sim.crypto import CryptoError, MessageCipher, pad32, sha1_signature, unpad32

TOKEN = "AAAAA"
AES_KEY = "A" * 43
APPID = "wxba5fad812f8e6fb9"
PUSH_ENCRYPT = (
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzaz"
    "hZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSq"
    "FIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
)
PUSH_MSG = (
    '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,'
    '"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}'
)
REPLY_ENCRYPT = "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ=="


def test_get_verification_signature_matches_the_official_vector():
    assert sha1_signature(TOKEN, "1714036504", "1514711492") == "f464b24fc39322e44b38aa78f5edd27bd1441696"


def test_plain_post_signature_matches_the_official_vector():
    assert sha1_signature(TOKEN, "1714037059", "486452656") == "899cf89e464efb63f54ddac96b0a0a235f53aa78"


def test_safe_post_signature_and_msg_signature_match_the_official_vector():
    assert sha1_signature(TOKEN, "1714112445", "415670741") == "6c5c811b55cc85e0e1b54100749188c20beb3f5d"
    assert (
        sha1_signature(TOKEN, "1714112445", "415670741", PUSH_ENCRYPT)
        == "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
    )


def test_the_official_push_decrypts_layer_by_layer():
    raw = base64.b64decode(PUSH_ENCRYPT)
    assert len(raw) == 224
    random16, msg, appid = MessageCipher(AES_KEY, APPID).decrypt_full(PUSH_ENCRYPT)
    assert random16.decode() == "a8eedb185eb2fecf"
    assert len(msg) == 167
    assert msg.decode() == PUSH_MSG
    assert json.loads(msg)["debug_str"] == "hello world"
    assert appid == APPID
    # 16 + 4 + 167 + 18 = 205 bytes before padding: 19 bytes of value 19
    assert len(pad32(b"x" * 205)) == 224 and pad32(b"x" * 205)[-1] == 19


def test_the_official_reply_encrypts_to_the_exact_ciphertext_and_signature():
    cipher = MessageCipher(AES_KEY, APPID)
    encrypted = cipher.encrypt('{"demo_resp":"good luck"}', random16=b"707722b803182950")
    assert encrypted == REPLY_ENCRYPT
    assert len(base64.b64decode(encrypted)) == 64
    assert (
        sha1_signature(TOKEN, "1713424427", "415670741", encrypted)
        == "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1"
    )
    assert cipher.decrypt(encrypted) == b'{"demo_resp":"good luck"}'


def test_a_ciphertext_for_another_appid_is_refused():
    with pytest.raises(CryptoError) as exc:
        MessageCipher(AES_KEY, "wxotherapp000000").decrypt(PUSH_ENCRYPT)
    assert exc.value.reason == "appid_mismatch"


@pytest.mark.parametrize(
    ("encrypted", "reason"),
    [("not base64!", "bad_base64"), (base64.b64encode(b"x" * 15).decode(), "bad_block_length")],
)
def test_broken_ciphertexts_name_what_failed(encrypted, reason):
    with pytest.raises(CryptoError) as exc:
        MessageCipher(AES_KEY, APPID).decrypt(encrypted)
    assert exc.value.reason == reason


def test_padding_is_to_32_bytes_and_checked():
    assert len(pad32(b"")) == 32 and pad32(b"")[-1] == 32
    assert unpad32(pad32(b"abc")) == b"abc"
    with pytest.raises(CryptoError):
        unpad32(b"abc" + bytes([3, 3, 2]))
    with pytest.raises(CryptoError):
        unpad32(b"a" * 31 + bytes([33]))


def test_wechatpy_decrypts_what_the_simulator_encrypts():
    from wechatpy.crypto import WeChatCrypto

    from wechat_sim.xmlmsg import to_xml

    xml = to_xml({"ToUserName": "gh_x", "FromUserName": "oUser", "CreateTime": 1, "Content": "你好]]>"})
    encrypted = MessageCipher(AES_KEY, APPID).encrypt(xml)
    envelope = to_xml({"ToUserName": "gh_x", "Encrypt": encrypted})
    plain = WeChatCrypto(TOKEN, AES_KEY, APPID).decrypt_message(
        envelope, sha1_signature(TOKEN, "1", "2", encrypted), "1", "2"
    )
    assert plain == xml
    assert "你好]]>" in plain.replace("]]]]><![CDATA[>", "]]>")
