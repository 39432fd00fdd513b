"""``S3Storage``: media in an S3-compatible bucket (AWS S3, MinIO, 腾讯云 COS, 阿里云 OSS in S3
mode), path-style URLs, requests signed with AWS Signature Version 4.

Plain HTTP through the standard library in a worker thread (domain packages do not import
aiohttp). Configured by ``JIUBOT_CONTENT_S3_ENDPOINT`` / ``_BUCKET`` / ``_REGION`` /
``_ACCESS_KEY`` / ``_SECRET_KEY`` (see bot/content/runtime.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.content.storage import KEY, media_type

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class S3Config:
    endpoint: str  # https://s3.example.com (no trailing slash)
    bucket: str
    region: str
    access_key: str
    secret_key: str
    timeout: float = 10.0


def sign(
    config: S3Config,
    method: str,
    path: str,
    payload_sha256: str,
    now: datetime,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The headers of a SigV4-signed request for ``path`` (already URI-encoded), no query."""
    host = urllib.parse.urlsplit(config.endpoint).netloc
    amz_date = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    headers = {"host": host, "x-amz-content-sha256": payload_sha256, "x-amz-date": amz_date, **(extra or {})}
    names = sorted(headers)
    canonical = "\n".join(
        [
            method,
            path,
            "",
            "".join(f"{n}:{headers[n].strip()}\n" for n in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{day}/{config.region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(
        _hmac(_hmac(_hmac(f"AWS4{config.secret_key}".encode(), day), config.region), "s3"), "aws4_request"
    )
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={config.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return headers


class S3Error(RuntimeError):
    pass


class S3Storage:
    def __init__(self, config: S3Config) -> None:
        if urllib.parse.urlsplit(config.endpoint).scheme not in ("http", "https"):
            raise ValueError("the S3 endpoint is an http(s) URL")
        self.config = config

    def _path(self, key: str) -> str:
        if not KEY.match(key) or ".." in key:
            raise ValueError(f"bad storage key {key!r}")
        return "/" + urllib.parse.quote(f"{self.config.bucket}/{key}")

    def _call(self, method: str, key: str, data: bytes | None = None) -> tuple[int, bytes]:
        path = self._path(key)
        digest = hashlib.sha256(data).hexdigest() if data is not None else EMPTY_SHA256
        extra = {"content-type": media_type(key)} if data is not None else None
        headers = sign(self.config, method, path, digest, datetime.now(UTC), extra)
        headers.pop("host")
        url = self.config.endpoint + path  # http(s) only: checked in __init__
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as resp:  # noqa: S310
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    async def put(self, key: str, data: bytes) -> None:
        status, body = await asyncio.to_thread(self._call, "PUT", key, data)
        if status != 200:
            raise S3Error(f"PUT {key}: {status} {body[:200]!r}")

    async def get(self, key: str) -> bytes | None:
        status, body = await asyncio.to_thread(self._call, "GET", key)
        if status == 404:
            return None
        if status != 200:
            raise S3Error(f"GET {key}: {status} {body[:200]!r}")
        return body

    async def exists(self, key: str) -> bool:
        status, _body = await asyncio.to_thread(self._call, "HEAD", key)
        if status not in (200, 404):
            raise S3Error(f"HEAD {key}: {status}")
        return status == 200
