"""Settings: defaults, and one clear line per bad value."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

GOOD_AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def _load(tmp_path, monkeypatch, **env):
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(f"JIUBOT_{name.upper()}", value)
    return load_settings(_env_file=None)


def test_embedded_defaults(tmp_path, monkeypatch):
    s = _load(tmp_path, monkeypatch)
    assert s.database_url == "sqlite+aiosqlite:///var/jiubot.sqlite3"
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.wechat_api_base == "https://api.weixin.qq.com"
    assert (s.host, s.port, s.oa_mode, s.callback_budget_seconds) == ("127.0.0.1", 8080, "plain", 4.5)
    assert len(s.secret_key) >= 32
    # the generated secret is kept: a restart signs with the same key
    assert _load(tmp_path, monkeypatch).secret_key == s.secret_key
    assert (tmp_path / "var" / "secret.key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"oa_mode": "secure"}, "JIUBOT_OA_MODE: Input should be 'plain', 'compat' or 'safe'"),
        (
            {"database_url": "mysql://x"},
            "JIUBOT_DATABASE_URL: must start with sqlite+aiosqlite:// or postgresql+psycopg://",
        ),
        ({"redis_url": "localhost:6379"}, "JIUBOT_REDIS_URL: must start with redis://, rediss:// or unix://"),
        (
            {"wechat_api_base": "api.weixin.qq.com"},
            "JIUBOT_WECHAT_API_BASE: must start with http:// or https://",
        ),
        ({"oa_token": "a"}, "JIUBOT_OA_TOKEN: must be 3-32 letters or digits (WeChat Token)"),
        (
            {"oa_aes_key": "short"},
            "JIUBOT_OA_AES_KEY: must be 43 characters of letters and digits (WeChat EncodingAESKey)",
        ),
        (
            {"port": "eighty"},
            "JIUBOT_PORT: Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            {"callback_budget_seconds": "6"},
            "JIUBOT_CALLBACK_BUDGET_SECONDS: Input should be less than or equal to 4.9",
        ),
        ({"oa_appid": "wx1"}, "JIUBOT_OA_TOKEN is required when JIUBOT_OA_APPID is set"),
        (
            {"oa_appid": "wx1", "oa_token": "tok123", "oa_mode": "safe"},
            "JIUBOT_OA_AES_KEY is required when JIUBOT_OA_MODE=safe",
        ),
        (
            {"database_url": "postgresql+psycopg://h/db"},
            "JIUBOT_SECRET_KEY is required with PostgreSQL (at least 16 characters)",
        ),
    ],
)
def test_bad_values_give_one_line_naming_the_setting(tmp_path, monkeypatch, env, line):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, monkeypatch, **env)
    assert err.value.lines == [line]


def test_several_bad_values_give_several_lines(tmp_path, monkeypatch):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, monkeypatch, oa_mode="x", port="0")
    assert len(err.value.lines) == 2
    assert all(line.startswith("JIUBOT_") for line in err.value.lines)


def test_complete_official_account(tmp_path, monkeypatch):
    s = _load(tmp_path, monkeypatch, oa_appid="wx123", oa_token="tok123", oa_aes_key=GOOD_AES, oa_mode="safe")
    assert (s.oa_appid, s.oa_mode) == ("wx123", "safe")
