"""Every typed ``web.AppKey`` of the application (string keys raise NotAppKeyWarning)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from aiohttp import ClientSession, web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.redis import Keys

if TYPE_CHECKING:  # objects of upper layers, made by the composition root
    from bot.redis_mux import Mux
    from bot.services import Services
    from bot.wechat.inbound_log import InboundLog
    from bot.wechat.pipeline import Pipeline

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
REDIS = web.AppKey("redis", aioredis.Redis)
REDIS_KEYS = web.AppKey("redis_keys", Keys)
REDIS_MUX: web.AppKey[Mux] = web.AppKey("redis_mux")
"""The multiplexed connection of the callback's hot path (bot/redis_mux.py)."""
WECHAT_HTTP = web.AppKey("wechat_http", ClientSession)
"""The HTTP session to WeChat (OAuth code exchange of H5 pages; the API client has it too)."""
SERVICES: web.AppKey[Services] = web.AppKey("services")
PIPELINE: web.AppKey[Pipeline] = web.AppKey("pipeline")
INBOUND_LOG: web.AppKey[InboundLog] = web.AppKey("inbound_log")
READINESS_PROBES = web.AppKey("readiness_probes", dict)
"""Extra details for /readyz, e.g. the core API's circuit-breaker state: name -> async probe."""
