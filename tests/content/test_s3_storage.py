"""``S3Storage`` against a local S3 fake that verifies every request's Signature Version 4 with
its own implementation of the algorithm (written from AWS's description, not shared with the
adapter): a wrong secret is refused and writes nothing."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from bot.content.storage_s3 import S3Config, S3Error, S3Storage

ACCESS, SECRET, REGION = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "cn-south-1"


def _expected_signature(request: web.Request, body: bytes) -> tuple[str, str]:
    auth = request.headers.get("Authorization", "")
    fields = dict(part.strip().split("=", 1) for part in auth.removeprefix("AWS4-HMAC-SHA256 ").split(","))
    credential, signed = fields["Credential"], fields["SignedHeaders"].split(";")
    access, day, region, service, terminal = credential.split("/")
    assert (access, region, service, terminal) == (ACCESS, REGION, "s3", "aws4_request")
    payload = request.headers["x-amz-content-sha256"]
    assert payload == hashlib.sha256(body).hexdigest(), "payload hash mismatch"
    lines = [request.method, request.raw_path.split("?")[0], request.query_string]
    lines += [f"{name}:{request.headers[name].strip()}" for name in signed]
    canonical = "\n".join(lines) + "\n\n" + ";".join(signed) + "\n" + payload
    stamp = request.headers["x-amz-date"]
    scope = f"{day}/{REGION}/s3/aws4_request"
    text = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = ("AWS4" + SECRET).encode()
    for part in (day, REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return fields["Signature"], hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
async def fake_s3(aiohttp_server):
    objects: dict[str, bytes] = {}
    refused: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            given, expected = _expected_signature(request, body)
            stamp = datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            fresh = abs(datetime.now(UTC) - stamp) < timedelta(minutes=15)
        except (KeyError, ValueError, AssertionError) as exc:
            refused.append(str(exc))
            return web.Response(status=400, text="AuthorizationHeaderMalformed")
        if not hmac.compare_digest(given, expected) or not fresh:
            refused.append("signature" if fresh else "stale")
            return web.Response(status=403, text="SignatureDoesNotMatch")
        key = request.path
        if request.method == "PUT":
            objects[key] = body
            return web.Response(status=200)
        if key not in objects:
            return web.Response(status=404)
        return web.Response(status=200, body=objects[key] if request.method == "GET" else b"")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = await aiohttp_server(app)
    server.objects, server.refused = objects, refused  # type: ignore[attr-defined]
    return server


def _store(server, secret: str = SECRET) -> S3Storage:  # type: ignore[no-untyped-def]
    return S3Storage(S3Config(str(server.make_url("")).rstrip("/"), "media", REGION, ACCESS, secret))


async def test_put_get_exists_with_signed_requests(fake_s3):
    store = _store(fake_s3)
    key = "m/0123abcd.jpg"
    assert not await store.exists(key) and await store.get(key) is None
    await store.put(key, b"\xff\xd8jpeg-bytes")
    assert await store.get(key) == b"\xff\xd8jpeg-bytes" and await store.exists(key)
    assert fake_s3.objects == {"/media/m/0123abcd.jpg": b"\xff\xd8jpeg-bytes"}
    assert fake_s3.refused == []


async def test_a_wrong_secret_is_refused_and_nothing_is_written(fake_s3):
    with pytest.raises(S3Error, match="403"):
        await _store(fake_s3, secret="not-the-secret").put("m/abc.jpg", b"x")
    assert fake_s3.objects == {} and fake_s3.refused == ["signature"]


async def test_keys_are_checked_and_endpoints_are_http(fake_s3):
    with pytest.raises(ValueError):
        await _store(fake_s3).put("../escape.jpg", b"x")
    with pytest.raises(ValueError):
        S3Storage(S3Config("file:///etc", "b", REGION, ACCESS, SECRET))
