"""Structured JSON logs and Prometheus metrics.

Logs never carry a raw openid or phone number: ``hash_openid`` gives a keyed, stable 12-character
handle (HMAC with the deployment's secret key), and ``mask_phone`` keeps the last four digits.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sys
from collections.abc import MutableMapping
from types import SimpleNamespace
from typing import Any, TextIO, cast

import structlog
from prometheus_client import Counter, Gauge, Histogram

_hash_key = b"jiubot"


class _Stderr:
    """Whatever ``sys.stderr`` is at the time of writing (a stream bound at configuration time
    may be closed by then: a test's captured stream, a replaced stderr)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", fmt: str = "json", *, secret_key: str | None = None) -> None:
    global _hash_key
    if secret_key:
        _hash_key = secret_key.encode()
    renderer = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            mask_secrets,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level)),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _Stderr())),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr, format="%(message)s")
    for noisy in ("aiohttp.access", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# Log fields whose values are credentials or personal data; a log line keeps the field (so it is
# visible that one was there) but not its value. Matched on the name, case-insensitively, with
# "-" read as "_"; nested dicts are masked too.
SECRET_FIELDS = frozenset(
    {
        "secret", "secret_key", "app_secret", "oa_secret", "token", "access_token", "refresh_token",
        "ticket", "jsapi_ticket", "password", "passwd", "aes_key", "encoding_aes_key", "session_key",
        "authorization", "cookie", "set_cookie", "api_key", "core_api_key", "code_key",
        "webhook_secret", "core_webhook_secret", "signature", "msg_signature", "sms_code", "phone",
        "id_card", "encrypted_data", "iv",
    }
)  # fmt: skip
MASK = "***"


def _masked(value: object, depth: int = 0) -> object:
    if isinstance(value, dict) and depth < 4:
        return {
            k: (
                MASK
                if isinstance(k, str) and k.lower().replace("-", "_") in SECRET_FIELDS
                else _masked(v, depth + 1)
            )
            for k, v in value.items()
        }
    return value


def mask_secrets(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: drop the values of known secret fields (``SECRET_FIELDS``)."""
    for key in list(event_dict):
        if key.lower().replace("-", "_") in SECRET_FIELDS:
            event_dict[key] = MASK
        elif isinstance(event_dict[key], dict):
            event_dict[key] = _masked(event_dict[key])
    return event_dict


def hash_openid(openid: str | None) -> str:
    if not openid:
        return ""
    return hmac.new(_hash_key, openid.encode(), hashlib.sha256).hexdigest()[:12]


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return "*" * max(len(phone) - 4, 0) + phone[-4:]


_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 4.5, 10)

metrics = SimpleNamespace(
    callbacks=Counter("jiubot_callbacks_total", "WeChat callbacks handled", ["msg_type", "outcome"]),
    callback_latency=Histogram(
        "jiubot_callback_seconds", "Time to answer a WeChat callback", ["mode"], buckets=_LATENCY_BUCKETS
    ),
    dedupe_hits=Counter("jiubot_dedupe_hits_total", "Retries answered from the dedupe lease", ["state"]),
    deadline_overruns=Counter(
        "jiubot_deadline_overruns_total", "Handlers that missed the budget and replied late"
    ),
    late_replies=Counter("jiubot_late_replies_total", "Late replies handed to the notifier", ["result"]),
    rejected=Counter("jiubot_rejected_requests_total", "Callbacks rejected before dispatch", ["reason"]),
    handler_errors=Counter("jiubot_handler_errors_total", "Handlers that raised", ["handler"]),
    unknown_types=Counter(
        "jiubot_unknown_message_types_total", "Pushes of a type nobody handles", ["msg_type"]
    ),
    log_backlog=Gauge("jiubot_inbound_log_backlog", "Inbound log entries waiting to be written"),
    log_dropped=Counter("jiubot_inbound_log_dropped_total", "Inbound log entries that could not be stored"),
)


_children: dict[tuple[int, tuple[str, ...]], object] = {}


def child(metric, *values: str):
    """``metric.labels(*values)``, cached: labels() takes a lock and builds a tuple every call,
    a measurable cost on the callback's hot path."""
    key = (id(metric), values)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*values)
    return found
