"""Structured JSON logs and Prometheus metrics.

Logs never carry a raw openid or phone number: ``hash_openid`` gives a keyed, stable 12-character
handle (HMAC with the deployment's secret key), and ``mask_phone`` keeps the last four digits.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sys
from types import SimpleNamespace

import structlog
from prometheus_client import Counter, Gauge, Histogram

_hash_key = b"jiubot"


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
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr, format="%(message)s")
    for noisy in ("aiohttp.access", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


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
