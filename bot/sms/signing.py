"""Request signing of the two providers, as pure functions (unit-tested against the providers'
documented examples in tests/sms/test_signing.py).

* Aliyun RPC style (SignatureVersion 1.0): the parameters, sorted by name, percent-encoded with
  RFC 3986 rules ("+" -> %20, "*" -> %2A, "~" kept), joined with "&"; the string to sign is
  ``METHOD&%2F&`` + the percent-encoded canonical query; the signature is
  Base64(HMAC-SHA1(AccessKeySecret + "&", string to sign)).
* Tencent Cloud API 3.0 (TC3-HMAC-SHA256): a canonical request (method, "/", query, the signed
  headers content-type and host, SHA-256 of the body), a string to sign with the timestamp and
  the credential scope ``date/service/tc3_request``, and a key derived by chaining HMAC-SHA256
  over "TC3" + SecretKey, the UTC date, the service and "tc3_request".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

TC3 = "TC3-HMAC-SHA256"


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun's POP gateway expects it (unreserved: A-Z a-z 0-9 - _ . ~)."""
    return quote(value, safe="-_.~")


def aliyun_canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()) if k != "Signature"
    )


def aliyun_string_to_sign(params: Mapping[str, str], method: str = "GET") -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(aliyun_canonical_query(params))}"


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "GET") -> str:
    digest = hmac.digest(f"{secret}&".encode(), aliyun_string_to_sign(params, method).encode(), hashlib.sha1)
    return base64.b64encode(digest).decode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tc3_date(timestamp: int) -> str:
    """The credential scope's date: UTC, whatever the local time zone (2019-02-26 00:44 in
    Shanghai is still 2019-02-25)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def tc3_canonical_request(
    body: bytes, *, host: str, content_type: str, method: str = "POST", query: str = ""
) -> str:
    headers = f"content-type:{content_type.lower()}\nhost:{host.lower()}\n"
    return f"{method}\n/\n{query}\n{headers}\ncontent-type;host\n{sha256_hex(body)}"


def tc3_string_to_sign(canonical_request: str, *, timestamp: int, service: str) -> str:
    scope = f"{tc3_date(timestamp)}/{service}/tc3_request"
    return f"{TC3}\n{timestamp}\n{scope}\n{sha256_hex(canonical_request.encode())}"


def tc3_signature(secret_key: str, *, date: str, service: str, string_to_sign: str) -> str:
    def step(key: bytes, msg: str) -> bytes:
        return hmac.digest(key, msg.encode(), hashlib.sha256)

    signing = step(step(step(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_authorization(
    body: bytes,
    *,
    secret_id: str,
    secret_key: str,
    host: str,
    service: str,
    timestamp: int,
    content_type: str,
) -> str:
    """The ``Authorization`` header of a POST with a JSON ``body``."""
    canonical = tc3_canonical_request(body, host=host, content_type=content_type)
    to_sign = tc3_string_to_sign(canonical, timestamp=timestamp, service=service)
    date = tc3_date(timestamp)
    signature = tc3_signature(secret_key, date=date, service=service, string_to_sign=to_sign)
    return (
        f"{TC3} Credential={secret_id}/{date}/{service}/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )
