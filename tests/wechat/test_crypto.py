"""The official vectors of WECHAT_PROTOCOL.md section 1.6, and each way decryption can fail."""

from __future__ import annotations

import base64

import pytest

from bot.wechat.crypto import CryptoError, MessageCrypto, signature, signature_ok

TOKEN = "AAAAA"
AES_KEY = "A" * 43
APPID = "wxba5fad812f8e6fb9"
SAFE_ENCRYPT = (
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6"
    "JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M"
    "8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
)
SAFE_MSG = (
    '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,'
    '"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}'
)


def test_get_verification_vector():
    assert signature(TOKEN, "1714036504", "1514711492") == "f464b24fc39322e44b38aa78f5edd27bd1441696"


def test_plain_post_signature_vector():
    assert signature(TOKEN, "1714037059", "486452656") == "899cf89e464efb63f54ddac96b0a0a235f53aa78"


def test_safe_post_plain_signature_vector():
    assert signature(TOKEN, "1714112445", "415670741") == "6c5c811b55cc85e0e1b54100749188c20beb3f5d"


def test_safe_post_msg_signature_vector():
    assert signature_ok(
        "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3", TOKEN, "1714112445", "415670741", SAFE_ENCRYPT
    )


def test_safe_post_decrypts_to_the_official_message():
    plain, key_index = MessageCrypto(TOKEN, APPID, [AES_KEY]).decrypt(SAFE_ENCRYPT)
    assert plain.decode() == SAFE_MSG
    assert len(plain) == 167
    assert key_index == 0


def test_safe_post_layout_vector():
    # 224 bytes of ciphertext, 19 bytes of padding, random prefix a8eedb185eb2fecf
    raw = base64.b64decode(SAFE_ENCRYPT)
    assert len(raw) == 224
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = bytes(32)
    plain = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor().update(raw)
    assert plain[-1] == 19
    assert plain[:16] == b"a8eedb185eb2fecf"
    assert int.from_bytes(plain[16:20], "big") == 167
    assert plain[20 + 167 : -19] == APPID.encode()


def test_reply_encryption_vector():
    crypto = MessageCrypto(TOKEN, APPID, [AES_KEY])
    encrypted = crypto.encrypt(b'{"demo_resp":"good luck"}', random16=b"707722b803182950")
    assert (
        encrypted
        == "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ=="
    )
    assert (
        signature(TOKEN, "1713424427", "415670741", encrypted) == "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1"
    )


def test_signature_comparison_rejects_wrong_and_missing():
    assert not signature_ok("0" * 40, TOKEN, "1714036504", "1514711492")
    assert not signature_ok(None, TOKEN, "1714036504", "1514711492")
    assert not signature_ok("", TOKEN, "1714036504", "1514711492")
    assert signature_ok("F464B24FC39322E44B38AA78F5EDD27BD1441696", TOKEN, "1714036504", "1514711492")


def test_round_trip_with_unicode():
    crypto = MessageCrypto(TOKEN, APPID, [AES_KEY])
    message = "<xml><Content><![CDATA[飞天 2箱 普五3件]]></Content></xml>".encode()
    assert crypto.decrypt(crypto.encrypt(message)) == (message, 0)


def test_previous_key_still_opens_messages_during_a_key_change():
    old_key = "B" * 43
    sender = MessageCrypto(TOKEN, APPID, [old_key])
    receiver = MessageCrypto(TOKEN, APPID, [AES_KEY, old_key])
    plain, key_index = receiver.decrypt(sender.encrypt(b"<xml/>"))
    assert (plain, key_index) == (b"<xml/>", 1)
    # and the reply goes back under the key that opened the message
    assert sender.decrypt(receiver.encrypt(b"<ok/>", key_index)) == (b"<ok/>", 0)


def test_ciphertext_for_another_appid_is_refused():
    other = MessageCrypto(TOKEN, "wx0000000000000000", [AES_KEY])
    with pytest.raises(CryptoError) as err:
        MessageCrypto(TOKEN, APPID, [AES_KEY]).decrypt(other.encrypt(b"<xml/>"))
    assert err.value.reason == "appid_mismatch"


@pytest.mark.parametrize(
    ("ciphertext", "reason"),
    [
        ("not base64 !!", "bad_base64"),
        (base64.b64encode(b"x" * 15).decode(), "bad_block_size"),
        (base64.b64encode(bytes(32)).decode(), "bad_padding"),
    ],
)
def test_broken_ciphertexts_have_reasons(ciphertext, reason):
    with pytest.raises(CryptoError) as err:
        MessageCrypto(TOKEN, APPID, [AES_KEY]).decrypt(ciphertext)
    assert err.value.reason == reason


def test_wrong_key_is_refused():
    sender = MessageCrypto(TOKEN, APPID, ["C" * 43])
    with pytest.raises(CryptoError):
        MessageCrypto(TOKEN, APPID, [AES_KEY]).decrypt(sender.encrypt(b"<xml>hello</xml>" * 3))
