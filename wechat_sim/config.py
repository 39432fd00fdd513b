"""The simulator's configuration: apps, WeChat's limits (defaults = the documented numbers of
WECHAT_PROTOCOL.md; WeChat changes them, so every one is a setting), persistence, callback timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wechat_sim.clock import Clock
from wechat_sim.model import App

HOUR = 3600.0

# Published daily limits of a new account (section 12); keys are API names as the simulator counts them.
DAILY_QUOTAS: dict[str, int] = {
    "cgi-bin/token": 2000,
    "cgi-bin/stable_token": 500_000,
    "cgi-bin/message/custom/send": 500_000,
    "cgi-bin/message/custom/typing": 500_000,
    "cgi-bin/message/template/send": 100_000,
    "cgi-bin/message/subscribe/bizsend": 1_000_000,
    "cgi-bin/message/subscribe/send": 10_000_000,
    "cgi-bin/qrcode/create": 100_000,
    "cgi-bin/menu/create": 1000,
    "cgi-bin/menu/get": 10_000,
    "cgi-bin/menu/delete": 1000,
    "cgi-bin/menu/addconditional": 2000,
    "cgi-bin/menu/delconditional": 2000,
    "cgi-bin/user/info": 5_000_000,
    "cgi-bin/user/info/batchget": 5_000_000,
    "cgi-bin/user/get": 500,
    "cgi-bin/ticket/getticket": 100_000,
    "wxa/business/getuserphonenumber": 1_000_000,
    "wxa/getwxacodeunlimit": 5_000_000,
}


@dataclass
class Limits:
    # access tokens (section 4)
    token_ttl: int = 7200
    token_grace: float = 300.0  # the previous /cgi-bin/token token stays valid this long
    stable_renew_before: float = 300.0  # stable_token hands out a new token this close to expiry
    stable_force_per_day: int = 20
    stable_force_spacing: float = 30.0
    quota_clears_per_month: int = 10
    daily_quotas: dict[str, int] = field(default_factory=lambda: dict(DAILY_QUOTAS))
    # customer-service window: trigger -> (messages, seconds) (section 5)
    kf_rules: dict[str, tuple[int, float]] = field(
        default_factory=lambda: {
            "message": (5, 48 * HOUR),
            "follow": (3, 60.0),
            "scan": (3, 60.0),
            "click": (3, 60.0),
            "enter_session": (2, 60.0),
        }
    )
    typing_needs_interaction_within: float = 30.0
    typing_lasts: float = 15.0
    max_news_articles: int = 1  # 45008 above this (kf), extra passive-reply items are dropped
    max_text_bytes: int = 2048  # 45002 above this
    template_requires_follow: bool = True
    # QR codes (section 8)
    qr_default_expire: int = 60
    qr_max_expire: int = 2_592_000
    qr_permanent_cap: int = 100_000
    # codes (sections 10, 11)
    code_ttl: float = 300.0
    jscode_reused_errcode: int = 40029  # the MP docs list 40029 only; some report 40163
    sns_refresh_ttl: float = 30 * 24 * HOUR
    # tags (section 7.2)
    max_tags: int = 100
    max_tags_per_user: int = 20
    mass_per_month: int = 4  # a service account's mass sends each follower may receive per calendar month
    # how long after a send the TEMPLATESENDJOBFINISH / subscribe_msg_sent_event callback goes out
    event_delay: float = 0.05


@dataclass
class SimConfig:
    apps: list[App] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    state_path: Path | None = None  # JSON file; None keeps everything in memory
    clock: Clock | None = None
    # the clock stamping pushes (query timestamp, CreateTime); defaults to ``clock``. A receiver that
    # checks freshness against real time while tests move the simulator's clock wants SystemClock()
    callback_clock: Clock | None = None
    callback_deadline: float = 5.0
    callback_attempts: int = 3  # "retries three times" is ambiguous: 3 deliveries in total by default
    save_delay: float = 0.5  # coalesce writes of the state file
    # The control API (/_sim/api/state, the console) shows each app's callback Token and
    # EncodingAESKey only with this set (`jiubot sim --show-secrets`): the demo serves the
    # simulator on its public port, where they would let anyone forge pushes.
    show_secrets: bool = False


def parse_app(spec: str) -> App:
    """``APPID:SECRET[:TOKEN[:AESKEY[:MODE[:CALLBACK_URL]]]]``; the URL may contain colons."""
    parts = spec.split(":", 5)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ValueError(f"--app {spec!r}: expected APPID:SECRET[:TOKEN[:AESKEY[:MODE[:CALLBACK_URL]]]]")
    appid, secret = parts[0], parts[1]
    token = parts[2] if len(parts) > 2 and parts[2] else "wxsimtoken"
    aes_key = parts[3] if len(parts) > 3 else ""
    mode = parts[4] if len(parts) > 4 and parts[4] else ("safe" if aes_key else "plain")
    callback = parts[5] if len(parts) > 5 else ""
    if mode not in ("plain", "compat", "safe"):
        raise ValueError(f"--app {appid}: mode must be plain, compat or safe, not {mode!r}")
    if aes_key and len(aes_key) != 43:
        raise ValueError(f"--app {appid}: the EncodingAESKey has 43 characters")
    if mode != "plain" and not aes_key:
        raise ValueError(f"--app {appid}: {mode} mode needs an EncodingAESKey")
    return App(appid=appid, secret=secret, token=token, aes_key=aes_key, mode=mode, callback_url=callback)
