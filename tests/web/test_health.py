"""/healthz, /readyz and /metrics; request ids; no raw openid in logs."""

from __future__ import annotations

import json

from bot.app import create_app
from bot.observability import hash_openid, mask_phone
from tests.conftest import OA_AES_KEY, OA_APPID, OA_TOKEN
from tests.wechat_client import WeChatPoster, text_xml


async def test_health_ready_and_metrics(aiohttp_client, settings):
    client = await aiohttp_client(create_app(settings, background=False))
    resp = await client.get("/healthz")
    assert (resp.status, await resp.json()) == (200, {"status": "ok"})
    assert resp.headers["X-Request-Id"]

    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 200
    assert body["checks"] == {"database": "ok", "redis": "ok"}

    assert settings.oa_mode == "safe"
    good = WeChatPoster(client, OA_APPID, OA_TOKEN, aes_key=OA_AES_KEY, mode="safe")
    assert "再来一单" in (await good.post(text_xml("o-metrics", "帮助"))).text
    plain = WeChatPoster(client, OA_APPID, OA_TOKEN, mode="plain")  # refused in safe mode, and counted
    assert (await plain.post(text_xml("o-metrics", "帮助"))).status == 400
    text = await (await client.get("/metrics")).text()
    for name in (
        "jiubot_callbacks_total",
        "jiubot_callback_seconds_bucket",
        "jiubot_dedupe_hits_total",
        "jiubot_deadline_overruns_total",
        'jiubot_rejected_requests_total{reason="encryption_required"}',
    ):
        assert name in text


async def test_readyz_reports_an_unreachable_database(aiohttp_client, pg_url, redis_prefix):
    """PostgreSQL refusing connections after start-up makes the app not ready, with the reason."""
    import psycopg

    from bot.config import load_settings
    from tests.conftest import PG_DSN, REDIS_URL

    settings = load_settings(
        database_url=pg_url,
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        secret_key="x" * 20,
        _env_file=None,
    )
    client = await aiohttp_client(create_app(settings, background=False))
    dbname = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))
    try:
        resp = await client.get("/readyz")
        body = await resp.json()
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
    assert resp.status == 503
    assert body["status"] == "not_ready"
    assert body["checks"]["redis"] == "ok"
    assert body["checks"]["database"] == "unavailable"  # a reason code, not the exception's text
    assert dbname not in await resp.text() and "connections" not in await resp.text()
    assert (await client.get("/healthz")).status == 200  # alive, just not ready


async def test_request_id_is_echoed(aiohttp_client, settings):
    client = await aiohttp_client(create_app(settings, background=False))
    resp = await client.get("/healthz", headers={"X-Request-Id": "abc123"})
    assert resp.headers["X-Request-Id"] == "abc123"


async def test_logs_carry_a_hashed_openid_never_the_raw_one(aiohttp_client, settings, capfd):
    client = await aiohttp_client(create_app(settings, background=False))
    poster = WeChatPoster(client, OA_APPID, OA_TOKEN, mode="plain")
    secret_openid = "oSECRET-openid-123456"
    params, body = poster.build(text_xml(secret_openid, "x"))
    params["openid"] = secret_openid
    resp = await client.post(f"/wechat/{OA_APPID}", params=params, data=body)
    assert resp.status == 400  # refused: safe mode wants ciphertext
    err = capfd.readouterr().err
    assert "callback_rejected" in err
    assert secret_openid not in err
    assert hash_openid(secret_openid) in err


def test_openid_hash_is_stable_and_short_and_phone_is_masked():
    assert hash_openid("o1") == hash_openid("o1") != hash_openid("o2")
    assert len(hash_openid("o1")) == 12
    assert hash_openid("") == ""
    assert mask_phone("13800138000") == "*******8000"
    json.dumps({"h": hash_openid("x")})


async def test_sql_errors_never_carry_their_parameters(aiohttp_client, settings):
    """500 tracebacks print the exception: the app's engine hides the statement's values."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from bot import keys

    client = await aiohttp_client(create_app(settings, background=False))
    engine = client.app[keys.ENGINE]
    with pytest.raises(DBAPIError) as caught:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT * FROM no_such_table WHERE x = :p"), {"p": "13800138000-SECRET"})
    assert "13800138000-SECRET" not in str(caught.value)
    assert "hidden" in str(caught.value)


def test_known_secret_fields_are_masked_in_logs():
    import structlog

    from bot.observability import mask_secrets

    event = mask_secrets(
        None,
        "info",
        {"event": "x", "token": "t0ken", "Access-Token": "a", "body": {"aes_key": "k", "ok": 1}, "user": "u"},
    )
    assert event == {
        "event": "x",
        "token": "***",
        "Access-Token": "***",
        "body": {"aes_key": "***", "ok": 1},
        "user": "u",
    }
    # the configured chain (tests/conftest.py calls configure_logging) runs it before rendering
    processors = structlog.get_config()["processors"]
    assert mask_secrets in processors
    line = structlog.wrap_logger(structlog.ReturnLogger(), processors=processors).warning(
        "leak_check", secret="s3cr3t-value", session_key="sk-value", n=1
    )
    assert "leak_check" in line and "s3cr3t-value" not in line and "sk-value" not in line
