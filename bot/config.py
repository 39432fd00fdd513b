"""Settings: environment variables with the ``JIUBOT_`` prefix and an optional ``.env`` file.

A bad value stops start-up with one line per problem naming the setting and why
(``ConfigError``); nothing else in the code base reads the environment.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

ENV_PREFIX = "JIUBOT_"
DEFAULT_DB_PATH = Path("var") / "jiubot.sqlite3"

_TOKEN_RE = re.compile(r"^[A-Za-z0-9]{3,32}$")
_AES_KEY_RE = re.compile(r"^[A-Za-z0-9]{43}$")


class ConfigError(Exception):
    """Settings could not be loaded; ``lines`` holds one human-readable line per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def check_aes_key(value: str) -> str:
    """An EncodingAESKey is 43 characters of [A-Za-z0-9] decoding to 32 bytes."""
    if not _AES_KEY_RE.match(value):
        raise ValueError("must be 43 characters of letters and digits (WeChat EncodingAESKey)")
    try:
        raw = base64.b64decode(value + "=")
    except binascii.Error as exc:  # pragma: no cover - the regex above already excludes this
        raise ValueError("is not valid base64") from exc
    if len(raw) != 32:
        raise ValueError("does not decode to 32 bytes")
    return value


def check_token(value: str) -> str:
    if not _TOKEN_RE.match(value):
        raise ValueError("must be 3-32 letters or digits (WeChat Token)")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # storage
    database_url: str = Field(default=f"sqlite+aiosqlite:///{DEFAULT_DB_PATH}")
    # PostgreSQL connections each process keeps open; a burst may open twice as many more, each
    # closed after use (a new connection per request under sustained load: size this to it).
    database_pool_size: int = Field(default=10, ge=1, le=500)
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Every Redis key starts with this, so environments can share one Redis.
    redis_prefix: str = "jiubot:"
    # "require": a Redis must answer; "fallback": use the in-process stand-in when none answers
    # (only `jiubot demo` sets this).
    redis_mode: Literal["require", "fallback"] = "require"
    # Deadlines of every Redis call (redis-py's socket_timeout / socket_connect_timeout and the
    # multiplexed connection's reply deadline): a silent Redis fails a call after this long
    # instead of hanging it (the inbound log writer's XREADGROUP BLOCK stays below half of it).
    redis_timeout_seconds: float = Field(default=2.0, ge=0.05, le=30)
    redis_connect_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    # `jiubot serve` / `jiubot worker` when the database or Redis cannot be reached at start-up:
    # 0 = print one line and exit (status 3); N > 0 = print one line per attempt and keep
    # retrying for up to N seconds before giving up.
    startup_retry_seconds: float = Field(default=0, ge=0, le=3600)

    # WeChat
    wechat_api_base: str = "https://api.weixin.qq.com"
    oa_appid: str = ""
    oa_secret: str = ""
    oa_token: str = ""
    oa_aes_key: str = ""
    oa_prev_aes_key: str = ""
    oa_mode: Literal["plain", "compat", "safe"] = "plain"
    oa_original_id: str = ""

    # the brand's core ordering & promotion system (backend_client); empty = not configured
    core_url: str = ""
    core_api_key: str = ""
    # shared secret the core signs its webhooks with (HMAC-SHA256)
    core_webhook_secret: str = ""
    core_timeout_seconds: float = Field(default=3.0, gt=0, le=30)

    tenant_slug: str = "default"
    tenant_name: str = "默认品牌"

    # automation (bot/automation): global holdout share, quiet hours, per-member marketing cap
    automation_holdout: float = Field(default=0.05, ge=0, lt=1)
    automation_quiet_hours: str = "21:30-08:30"
    automation_cap: int = Field(default=2, ge=0)
    automation_cap_days: int = Field(default=7, ge=1)

    # callback pipeline
    callback_budget_seconds: float = Field(default=4.5, gt=0, le=4.9)
    timestamp_window_seconds: int = Field(default=300, ge=0)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)
    # Inbound message log rows older than this are deleted by the retention job.
    message_log_retention_days: int = Field(default=30, ge=1, le=3650)
    # analytics (bot/analytics): raw behaviour events kept this long; archived weekly reports' files
    analytics_retention_days: int = Field(default=400, ge=7, le=3650)
    report_archive_dir: str = "var/reports"
    dedupe_done_ttl_seconds: int = Field(default=300, ge=30)
    # A claimed message whose handler neither answered nor deferred within this is presumed dead
    # (its process killed): a retry takes it over. Keep it above the budget plus a margin.
    dedupe_inflight_ttl_seconds: int = Field(default=7, ge=5)
    member_lock_ttl_seconds: int = Field(default=60, ge=5)
    # A deferred reply's owner renews its lease every third of this; past it, `jiubot worker`
    # (swept every deferred_sweep_seconds) presumes the owner dead and re-runs the message.
    deferred_lease_seconds: int = Field(default=15, ge=3)
    deferred_sweep_seconds: int = Field(default=5, ge=1)

    # WeChat outbound API (bot/wechat/outbound.py, token.py, ratelimit.py)
    wechat_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # errcode -1 and timeouts of idempotent calls: retries with exponential backoff from this base
    wechat_retries: int = Field(default=4, ge=0, le=8)
    wechat_retry_backoff_seconds: float = Field(default=0.5, ge=0, le=10)
    # one process renews the cached access token / jsapi ticket this long before it expires
    wechat_token_refresh_ahead_seconds: int = Field(default=300, ge=0, le=3600)
    # requests per second per (app, API), shared by every process, as JSON:
    # {"message/custom/send": 200, "*": 500}; API names are paths without "/cgi-bin/"
    wechat_rate_limits: dict[str, float] = Field(default_factory=dict)
    # the customer-service window (WECHAT_PROTOCOL.md 5); WeChat changes these numbers
    reach_message_quota: int = Field(default=5, ge=0, le=100)
    reach_message_window_seconds: int = Field(default=48 * 3600, ge=60)
    reach_event_quota: int = Field(default=3, ge=0, le=100)
    reach_event_window_seconds: int = Field(default=60, ge=10)
    # a window is treated as closed this long before WeChat closes it (at most 5% of the window)
    reach_margin_seconds: float = Field(default=60.0, ge=0)
    # mini-program login sessions (bot/miniapp)
    mp_session_ttl_seconds: int = Field(default=7 * 86400, ge=300, le=90 * 86400)

    # chat ordering (bot/ordering, bot/flows; issue 5)
    # a confirm waits this long for the core, then answers "稍后确认" and pushes the result later
    order_confirm_budget_seconds: float = Field(default=3.0, gt=0, le=4.0)
    # an order the core did not confirm is retried (same Idempotency-Key) after this, doubling to 5 min
    order_retry_base_seconds: float = Field(default=2.0, gt=0, le=300)
    # ... and given up (the store owner is told to check with his salesman) after this long
    order_retry_max_age_seconds: int = Field(default=24 * 3600, ge=60)
    # a cart survives a dropped conversation this long
    cart_ttl_seconds: int = Field(default=3 * 86400, ge=600, le=30 * 86400)
    # sanity limits of one order line: above either, the quantity is confirmed, never assumed
    order_max_cases: int = Field(default=50, ge=1, le=10_000)
    order_max_bottles: int = Field(default=2000, ge=1, le=1_000_000)
    # the core's catalog is cached this long per process (the parser's index is built once per catalog)
    catalog_cache_seconds: int = Field(default=300, ge=0, le=86400)
    # OA template message for order notices outside the customer-service window ("" = none)
    order_template_id: str = ""
    # mini-program subscribe message (one-time, granted with wx.requestSubscribeMessage) for the late
    # result of an order placed in the mini-program while the core was slow ("" = the page polls only)
    order_mp_subscribe_template_id: str = ""
    # where an order notice links: a mini-program page ({order_id}, {number}) and/or an H5 URL
    order_mp_appid: str = ""
    order_mp_page: str = "pages/order/detail?id={order_id}"
    order_url: str = ""
    # store binding: temporary binding QR codes live this many days (WeChat allows at most 30)
    bind_qr_days: int = Field(default=30, ge=1, le=30)
    # SMS verification codes for binding expire after this
    sms_code_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    # Who sends SMS (bot/sms): "outbox" keeps them in Redis (demo, tests); "aliyun" or "tencent"
    # sends through the provider's API with the keys below. Providers send approved templates
    # only: sms_templates maps a purpose to the template ("bind=SMS_123456789"), and each
    # template gets the message's parameters (a code template: its one variable is the code).
    sms_provider: Literal["outbox", "aliyun", "tencent"] = "outbox"
    sms_sign_name: str = ""
    sms_templates: dict[str, str] = Field(default_factory=dict)
    sms_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    aliyun_sms_access_key_id: str = ""
    aliyun_sms_access_key_secret: str = ""
    aliyun_sms_endpoint: str = "https://dysmsapi.aliyuncs.com"
    tencent_sms_secret_id: str = ""
    tencent_sms_secret_key: str = ""
    tencent_sms_app_id: str = ""  # SmsSdkAppId, e.g. 1400006666
    tencent_sms_region: str = "ap-guangzhou"
    tencent_sms_endpoint: str = "https://sms.tencentcloudapi.com"
    # Verification codes sent at most this often, per phone number and per client IP address
    # (fixed windows in Redis; the IP limit applies where a request has one: HTTP, not chat).
    sms_per_phone_hour: int = Field(default=5, ge=1, le=1000)
    sms_per_phone_day: int = Field(default=10, ge=1, le=10_000)
    sms_per_ip_hour: int = Field(default=20, ge=1, le=100_000)

    # membership (bot/membership): deployment knobs; the per-tenant business rules (caps, points,
    # tiers) are rows, see bot/membership/loyalty_config.py and `jiubot membership`.
    # Master key of bottle codes. Printed codes live for years, so this is NOT the rotating
    # secret_key: each tenant's code key is derived from it (HMAC), and it must never change
    # once codes are printed. Empty: derived from secret_key (fine for demos, said loudly).
    code_key: str = ""
    # Host printed on bottle caps: https://<host>/c/<code>. Empty: public_base_url.
    code_base_url: str = ""
    # snsapi_base authorize page; point it at wechat_sim in tests and the demo.
    oauth_authorize_url: str = "https://open.weixin.qq.com/connect/oauth2/authorize"
    # Demo only: a request carrying this cookie counts as WeChat's in-app browser. ``jiubot demo``
    # sets it to the simulator's web-view cookie (wxsim_person) so the console's phone can open
    # the H5 pages; empty (production) trusts only WeChat's User-Agent.
    wechat_browser_cookie: str = ""
    # CSV of "cidr,province,city" used to place scans with no GPS; empty = the demo table.
    ip_city_table: str = ""
    # (The client IP behind a reverse proxy: JIUBOT_TRUSTED_PROXIES, bot/clientip.py; the old
    # JIUBOT_TRUST_FORWARDED_FOR believed any X-Forwarded-For and is gone.)
    # How long the H5 member cookie lasts.
    h5_session_days: int = Field(default=30, ge=1, le=365)
    # Seconds a cached tenant loyalty config is trusted before re-reading it.
    config_cache_seconds: float = Field(default=30.0, ge=0, le=3600)

    # content (bot/content, docs/content.md): media folder ("" = <database folder>/content), or an
    # S3-compatible bucket when content_s3_endpoint is set
    content_dir: str = ""
    content_s3_endpoint: str = ""
    content_s3_bucket: str = "jiubot-content"
    content_s3_region: str = "us-east-1"
    content_s3_access_key: str = ""
    content_s3_secret_key: str = ""
    # days after the first view within which a follow, scan, coupon or order is credited
    content_window_days: float = Field(default=7.0, gt=0, le=90)
    # ordering points per attributed event, {"follow": 20, "scan": 10, "coupon": 5, "order": 50},
    # or per tenant {"<tenant id>": {...}}
    content_rewards: dict[str, int | dict[str, int]] = Field(default_factory=dict)
    # the 开播提醒 subscribe template ("" = livestream reminders only inside the 48-hour window)
    content_live_template_id: str = ""
    # WeChat's JS-SDK script on share pages (the demo points it at the simulator's stand-in)
    content_jssdk_url: str = ""

    # web
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_base_url: str = "http://127.0.0.1:8080"
    # Reverse proxies whose X-Forwarded-For is believed (CIDRs, comma or space separated), e.g.
    # "127.0.0.1/32" for nginx on the same host. Empty: the header is ignored (bot/clientip.py).
    trusted_proxies: str = ""
    # Signs mini-program session tokens and keys the log hash of openids. Empty on the embedded
    # default: a random key is created once beside the SQLite file. Required with PostgreSQL.
    secret_key: str = ""

    # Background work in `jiubot serve` (inbound log writer, scheduled jobs). Turn it off on web
    # workers when a `jiubot worker` process runs it instead.
    serve_background: bool = True
    # A guarded scheduled job every N seconds that only records its fires (Redis hash
    # ``sched-heartbeat``: runs per slot, last fire and process); 0 = off. For monitoring that the
    # scheduler runs somewhere, and for tests/production (each slot runs once across processes).
    scheduler_heartbeat_seconds: int = Field(default=0, ge=0, le=3600)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    timezone: str = "Asia/Shanghai"

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+psycopg://")
        return value

    @field_validator("automation_quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        if value and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("must be HH:MM-HH:MM (e.g. 21:30-08:30) or empty for none")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("code_key")
    @classmethod
    def _code_key(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters (it protects every printed bottle code)")
        return value

    @field_validator(
        "wechat_api_base",
        "public_base_url",
        "core_url",
        "order_url",
        "code_base_url",
        "content_s3_endpoint",
        "aliyun_sms_endpoint",
        "tencent_sms_endpoint",
    )
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        import ipaddress

        items = value.replace(",", " ").split()
        for item in items:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return " ".join(items)

    @field_validator("wechat_rate_limits")
    @classmethod
    def _rates(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [api for api, rate in value.items() if not rate > 0]
        if bad:
            raise ValueError(f"rates must be greater than 0 (check {', '.join(sorted(bad))})")
        return value

    @field_validator("oa_token")
    @classmethod
    def _oa_token(cls, value: str) -> str:
        return check_token(value) if value else value

    @field_validator("oa_aes_key", "oa_prev_aes_key")
    @classmethod
    def _oa_aes(cls, value: str) -> str:
        return check_aes_key(value) if value else value

    @field_validator("secret_key")
    @classmethod
    def _secret(cls, value: str) -> str:
        if value and len(value) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @model_validator(mode="after")
    def _oa_complete(self) -> Settings:
        if self.oa_appid:
            if not self.oa_token:
                raise ValueError("JIUBOT_OA_TOKEN is required when JIUBOT_OA_APPID is set")
            if self.oa_mode != "plain" and not self.oa_aes_key:
                raise ValueError(f"JIUBOT_OA_AES_KEY is required when JIUBOT_OA_MODE={self.oa_mode}")
        return self

    @model_validator(mode="after")
    def _sms_complete(self) -> Settings:
        needed = {
            "aliyun": ("aliyun_sms_access_key_id", "aliyun_sms_access_key_secret", "sms_sign_name"),
            "tencent": (
                "tencent_sms_secret_id",
                "tencent_sms_secret_key",
                "tencent_sms_app_id",
                "sms_sign_name",
            ),
        }.get(self.sms_provider, ())
        missing = [f"JIUBOT_{name.upper()}" for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"{', '.join(missing)} required when JIUBOT_SMS_PROVIDER={self.sms_provider}")
        if self.sms_provider != "outbox" and "bind" not in self.sms_templates:
            raise ValueError('JIUBOT_SMS_TEMPLATES needs a "bind" template (e.g. {"bind": "SMS_123456789"})')
        return self

    @model_validator(mode="after")
    def _secret_present(self) -> Settings:
        if not self.secret_key:
            if not self.is_sqlite:
                raise ValueError("JIUBOT_SECRET_KEY is required with PostgreSQL (at least 16 characters)")
            self.secret_key = _local_secret(self.database_url)
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _local_secret(database_url: str) -> str:
    """A random key kept beside the embedded SQLite database, created on first use."""
    database = database_url.split("///", 1)[-1]
    folder = Path(database).parent if database and database != ":memory:" else Path("var")
    path = folder / "secret.key"
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _describe(error: ErrorDetails) -> str:
    loc = [str(part) for part in error["loc"] if part != "__root__"]
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if not loc:
        return message
    return f"{ENV_PREFIX}{loc[0].upper()}: {message}"


def load_settings(**overrides: Any) -> Settings:  # Any: values of every field's type, validated below
    """Build Settings, turning pydantic's report into one line per bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError([_describe(err) for err in exc.errors()]) from None


def settings_or_exit(**overrides: object) -> Settings:
    """For command-line entry points: the settings, or one line per bad setting on stderr and
    exit status 2."""
    import sys

    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        for line in exc.lines:
            print(f"jiubot: {line}", file=sys.stderr)
        raise SystemExit(2) from None
