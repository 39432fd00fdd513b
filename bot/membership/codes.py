"""Bottle codes (一物一码): unguessable, verifiable without a database read.

A code is 20 bytes written as 32 Crockford base32 characters (case-insensitive, no 0/O 1/I/L
confusion): ``version(1) | tenant(2) | batch(3) | serial(3) | mac(11)``. The MAC is 88 bits of
HMAC-SHA256 over the first 9 bytes with the tenant's code key, itself derived from the
deployment's code master key. Anyone can read the batch and serial; nobody without the key can
make a code another serial will accept (1 in 2^88 per guess). Forged, truncated or altered text
is refused by ``parse`` with no I/O at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

VERSION = 1
MAC_BYTES = 11
CODE_LENGTH = 32
MAX_TENANT = (1 << 16) - 1
MAX_BATCH = (1 << 24) - 1
MAX_SERIAL = (1 << 24) - 1

_RFC = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCKFORD = bytes.maketrans(_RFC, _CROCKFORD)
_FROM_CROCKFORD = bytes.maketrans(_CROCKFORD, _RFC)
_CLEAN = re.compile(r"[\s\-]")
_VALID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{32}$")
_PATH = re.compile(r"/[cC]/([0-9A-Za-z\-]{16,64})/?$")


class InvalidCode(Exception):
    """``reason``: format (not a code at all), version, signature (forged or altered)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CodeRef:
    tenant_id: int
    batch_id: int
    serial: int
    text: str  # canonical form

    @property
    def code_id(self) -> str:
        return f"{self.batch_id}:{self.serial}"


class CodeKeys:
    """Derives each tenant's code key from the master key (no database, no state)."""

    def __init__(self, master: bytes) -> None:
        if len(master) < 16:
            raise ValueError("the code master key is too short")
        self._master = master
        self._key = lru_cache(maxsize=1024)(self._derive)

    def _derive(self, tenant_id: int, version: int) -> bytes:
        return hmac.new(
            self._master, f"jiubot/bottle-code/v{version}/tenant/{tenant_id}".encode(), hashlib.sha256
        ).digest()

    def key(self, tenant_id: int, version: int = VERSION) -> bytes:
        return self._key(tenant_id, version)


def _payload(tenant_id: int, batch_id: int, serial: int, version: int = VERSION) -> bytes:
    return (
        bytes((version,))
        + tenant_id.to_bytes(2, "big")
        + batch_id.to_bytes(3, "big")
        + serial.to_bytes(3, "big")
    )


def sign(key: bytes, tenant_id: int, batch_id: int, serial: int) -> str:
    """The printed code of one bottle, given the tenant's key."""
    if not (0 < tenant_id <= MAX_TENANT and 0 < batch_id <= MAX_BATCH and 0 < serial <= MAX_SERIAL):
        raise ValueError("tenant, batch or serial out of range")
    payload = _payload(tenant_id, batch_id, serial)
    mac = hmac.digest(key, payload, "sha256")[:MAC_BYTES]
    return base64.b32encode(payload + mac).translate(_TO_CROCKFORD).decode()


def make(keys: CodeKeys, tenant_id: int, batch_id: int, serial: int) -> str:
    return sign(keys.key(tenant_id), tenant_id, batch_id, serial)


def normalise(text: str) -> str:
    cleaned = _CLEAN.sub("", text).upper()
    return cleaned.replace("O", "0").replace("I", "1").replace("L", "1")


def parse(keys: CodeKeys, text: str, *, tenant_id: int | None = None) -> CodeRef:
    """Check a code's form and MAC; raises ``InvalidCode``. Pure CPU, a few microseconds."""
    if not isinstance(text, str) or len(text) > 64:
        raise InvalidCode("format")
    canonical = normalise(text)
    if not _VALID.match(canonical):
        raise InvalidCode("format")
    raw = base64.b32decode(canonical.encode().translate(_FROM_CROCKFORD))
    if raw[0] != VERSION:
        raise InvalidCode("version")
    tenant = int.from_bytes(raw[1:3], "big")
    batch = int.from_bytes(raw[3:6], "big")
    serial = int.from_bytes(raw[6:9], "big")
    if tenant == 0 or batch == 0 or serial == 0 or (tenant_id is not None and tenant != tenant_id):
        raise InvalidCode("signature")
    expected = hmac.digest(keys.key(tenant, raw[0]), raw[:9], "sha256")[:MAC_BYTES]
    if not hmac.compare_digest(expected, raw[9:]):
        raise InvalidCode("signature")
    return CodeRef(tenant, batch, serial, canonical)


def extract(scanned: str) -> str:
    """The code inside what a scanner read: the printed URL, the mini-program's URL-encoded
    ``q``, or a bare code typed by hand. Returns the candidate text (not yet verified)."""
    text = (scanned or "").strip()
    if len(text) > 2048:
        return ""
    for _ in range(2):  # q arrives URL-encoded once; tolerate a double encoding
        if "%" in text:
            text = unquote(text)
    if "://" in text or text.startswith("/"):
        path = urlsplit(text).path if "://" in text else text
        match = _PATH.search(path)
        return match.group(1) if match else ""
    return text


def url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/c/{code}"
