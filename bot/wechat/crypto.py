"""WeChat callback signatures and message encryption (WECHAT_PROTOCOL.md sections 1.2-1.6).

Signatures are compared in constant time. Decryption validates what wechatpy does not: base64,
block alignment, PKCS#7 padding to 32 bytes, the length field and the trailing appid, so that each
failure has its own reason. During an EncodingAESKey change both the current and the previous key
are tried, and the reply is encrypted with whichever key opened the message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16


class CryptoError(Exception):
    """Decryption failed; ``reason`` is a stable machine code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signature(*parts: str) -> str:
    """sha1 hex of the parts sorted lexicographically and joined without a separator."""
    return hashlib.sha1("".join(sorted(parts)).encode(), usedforsecurity=False).hexdigest()


def signature_ok(given: str | None, *parts: str) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.lower().encode(), signature(*parts).encode())


def aes_key_bytes(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


def _pad(data: bytes) -> bytes:
    n = BLOCK - (len(data) % BLOCK)
    return data + bytes([n]) * n


class MessageCrypto:
    """Encrypts and decrypts one app's messages with its current (and previous) AES key."""

    __slots__ = ("_appid", "_keys", "token")

    def __init__(self, token: str, appid: str, aes_keys: list[str]) -> None:
        if not aes_keys:
            raise ValueError("at least one EncodingAESKey is required")
        self.token = token
        self._appid = appid.encode()
        self._keys = [aes_key_bytes(k) for k in aes_keys if k]

    def _decrypt_with(self, key: bytes, raw: bytes) -> bytes:
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if pad < 1 or pad > BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad_padding")
        body = plain[16:-pad]
        if len(body) < 4:
            raise CryptoError("bad_length")
        (length,) = struct.unpack(">I", body[:4])
        if length > len(body) - 4:
            raise CryptoError("bad_length")
        message, appid = body[4 : 4 + length], body[4 + length :]
        if not hmac.compare_digest(appid, self._appid):
            raise CryptoError("appid_mismatch")
        return message

    def decrypt(self, encrypted: str) -> tuple[bytes, int]:
        """Return ``(plaintext, index of the key that worked)``; raise CryptoError otherwise."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("bad_base64") from None
        if not raw or len(raw) % 16:
            raise CryptoError("bad_block_size")
        first_error: CryptoError | None = None
        for index, key in enumerate(self._keys):
            try:
                return self._decrypt_with(key, raw), index
            except CryptoError as exc:
                # A wrong key yields garbage padding; an appid mismatch means the key was right.
                if exc.reason == "appid_mismatch":
                    raise
                first_error = first_error or exc
        assert first_error is not None
        raise first_error

    def encrypt(self, message: bytes, key_index: int = 0, *, random16: bytes | None = None) -> str:
        key = self._keys[key_index]
        layout = (random16 or os.urandom(16)) + struct.pack(">I", len(message)) + message + self._appid
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        return base64.b64encode(encryptor.update(_pad(layout)) + encryptor.finalize()).decode()

    def envelope(self, message: bytes, nonce: str, timestamp: str, key_index: int = 0) -> bytes:
        """The encrypted reply body of section 1.5."""
        encrypted = self.encrypt(message, key_index)
        sig = signature(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        ).encode()
