"""errcode -> typed exception (WECHAT_PROTOCOL.md 13) and the rid WeChat appends to errmsg."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.wechat import errors
from bot.wechat.errors import (
    BadRequest,
    ConfigError,
    InvalidCode,
    NotFollower,
    QuotaExceeded,
    Retryable,
    TokenInvalid,
    UserRefused,
    WindowClosed,
    error_for,
    parse_rid,
)


def test_rid_is_parsed_from_new_and_old_errmsg_suffixes():
    assert parse_rid(
        "invalid credential, access_token is invalid or not latest rid: 6566f1b0-0a1b2c3d-4e5f6a7b"
    ) == ("6566f1b0-0a1b2c3d-4e5f6a7b")
    assert parse_rid("invalid openid hint: [Ab12cD34]") == "Ab12cD34"
    assert parse_rid("ok") == ""


@pytest.mark.parametrize(
    ("errcode", "cls"),
    [
        (-1, Retryable),
        (40001, TokenInvalid),
        (40014, TokenInvalid),
        (42001, TokenInvalid),
        (45009, QuotaExceeded),
        (45011, QuotaExceeded),
        (45015, WindowClosed),
        (45047, WindowClosed),
        (43004, NotFollower),
        (43101, UserRefused),
        (48002, UserRefused),
        (40029, InvalidCode),
        (40163, InvalidCode),
        (40013, ConfigError),
        (40164, ConfigError),
        (40037, ConfigError),
        (48001, ConfigError),
        (40033, BadRequest),
        (47003, BadRequest),
        (45008, BadRequest),
        (99999, BadRequest),  # unknown codes are never retried blindly
    ],
)
def test_errcodes_map_to_the_reaction_table(errcode, cls):
    error = error_for(errcode, f"boom rid: abc-{errcode}", api="message/custom/send")
    assert type(error) is cls
    assert error.errcode == errcode
    assert error.rid == f"abc-{errcode}"
    assert error.api == "message/custom/send"
    assert error.answered


def test_not_follower_is_a_closed_window_so_callers_fall_back():
    assert isinstance(error_for(43004, "require subscribe"), WindowClosed)


def test_minute_quota_waits_a_minute_and_daily_quota_waits_until_beijing_midnight(monkeypatch):
    assert error_for(45011, "minute-quota").retry_after == 60.0
    # 2026-11-22 23:00 in Beijing: one hour to the reset
    now = datetime(2026, 11, 22, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    assert errors.seconds_until_daily_reset(now) == pytest.approx(3600.0)
    daily = error_for(45009, "reach max api daily quota limit")
    assert 0 < daily.retry_after <= 86400


def test_transport_errors_say_whether_the_request_may_have_left():
    assert errors.TransportError(None, "refused", maybe_sent=False).maybe_sent is False
    timeout = errors.TransportError(None, "timeout")
    assert timeout.maybe_sent is True
    assert not timeout.answered
