"""WeChat's callback signatures and message encryption, written for the simulator on purpose:
jiubot has its own implementation, and both must pass the official vectors of WECHAT_PROTOCOL.md 1.6.

* signature = sha1 of the sorted, concatenated strings (token, timestamp, nonce[, Encrypt]).
* Encrypt = base64(AES-256-CBC(key, iv=key[:16], pad32(random16 || len32be || msg || appid))).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAD_BLOCK = 32  # WeChat's PKCS#7 pads to 32 bytes, not to AES's 16


class CryptoError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode(), usedforsecurity=False).hexdigest()


def jsapi_signature(ticket: str, noncestr: str, timestamp: str | int, url: str) -> str:
    """JS-SDK ``wx.config`` signature (section 10.2): the URL without its ``#`` fragment."""
    url = url.split("#", 1)[0]
    string1 = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(string1.encode(), usedforsecurity=False).hexdigest()


def same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def pad32(data: bytes) -> bytes:
    n = PAD_BLOCK - len(data) % PAD_BLOCK
    return data + bytes([n]) * n


def unpad32(data: bytes) -> bytes:
    if not data:
        raise CryptoError("empty")
    n = data[-1]
    if not 1 <= n <= PAD_BLOCK or data[-n:] != bytes([n]) * n:
        raise CryptoError("bad_padding")
    return data[:-n]


def aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise CryptoError("bad_aes_key")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise CryptoError("bad_aes_key") from None
    if len(key) != 32:
        raise CryptoError("bad_aes_key")
    return key


class MessageCipher:
    """Encrypts pushes and decrypts replies for one app (one EncodingAESKey, one appid)."""

    def __init__(self, encoding_aes_key: str, appid: str) -> None:
        self.key = aes_key(encoding_aes_key)
        self.appid = appid

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: str | bytes, random16: bytes | None = None) -> str:
        msg = message.encode() if isinstance(message, str) else message
        random16 = os.urandom(16) if random16 is None else random16
        if len(random16) != 16:
            raise ValueError("the random prefix is 16 bytes")
        plain = pad32(random16 + struct.pack(">I", len(msg)) + msg + self.appid.encode())
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode()

    def decrypt_full(self, encrypted: str) -> tuple[bytes, bytes, str]:
        """(random prefix, message, trailing appid); checks every layer and names what failed."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("bad_base64") from None
        if not raw or len(raw) % 16:
            raise CryptoError("bad_block_length")
        dec = self._cipher().decryptor()
        plain = unpad32(dec.update(raw) + dec.finalize())
        if len(plain) < 20:
            raise CryptoError("too_short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError("bad_length")
        msg = plain[20 : 20 + length]
        try:
            appid = plain[20 + length :].decode("ascii")
        except UnicodeDecodeError:
            raise CryptoError("bad_appid") from None
        return plain[:16], msg, appid

    def decrypt(self, encrypted: str) -> bytes:
        _, msg, appid = self.decrypt_full(encrypted)
        if not hmac.compare_digest(appid.encode(), self.appid.encode()):
            raise CryptoError("appid_mismatch")
        return msg
