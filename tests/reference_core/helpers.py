"""Small helpers over real HTTP and direct reads of the core's tables (to assert side effects)."""

from __future__ import annotations

from typing import Any

import aiohttp
from sqlalchemy import func, select

from reference_core.config import CoreConfig, LogisticsConfig, WebhookConfig
from reference_core.db import create_engine, session_factory
from reference_core.models import Inventory, Store


class Api:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base

    async def call(self, method: str, path: str, body: Any = None, key: str | None = None, **kw: Any):
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers["Idempotency-Key"] = key
        async with self.http.request(method, self.base + path, json=body, headers=headers, **kw) as r:
            return r.status, await r.json(), r.headers

    async def get(self, path: str, **kw: Any):
        status, body, _ = await self.call("GET", path, **kw)
        return status, body

    async def post(self, path: str, body: Any = None, key: str | None = None, **kw: Any):
        status, body, _ = await self.call("POST", path, body if body is not None else {}, key, **kw)
        return status, body


class Db:
    """Direct reads, to check what a request did (or did not) write."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def scalar(self, stmt):  # type: ignore[no-untyped-def]
        engine = create_engine(self.url)
        try:
            async with session_factory(engine)() as session:
                return await session.scalar(stmt)
        finally:
            await engine.dispose()

    async def all(self, stmt) -> list:  # type: ignore[no-untyped-def]
        engine = create_engine(self.url)
        try:
            async with session_factory(engine)() as session:
                return list(await session.scalars(stmt))
        finally:
            await engine.dispose()

    async def count(self, model, *where) -> int:  # type: ignore[no-untyped-def]
        return await self.scalar(select(func.count()).select_from(model).where(*where))

    async def stock(self, warehouse_id: int, product_id: int) -> tuple[int, int]:
        engine = create_engine(self.url)
        try:
            async with session_factory(engine)() as session:
                row = await session.get(Inventory, (warehouse_id, product_id))
                return (row.on_hand, row.reserved) if row else (0, 0)
        finally:
            await engine.dispose()

    async def credit_used(self, store_id: int) -> int:
        return await self.scalar(select(Store.credit_used_fen).where(Store.id == store_id))


def line(sku: str, bottles: int = 0, cases: int = 0, promotion_id: int | None = None) -> dict:
    out: dict[str, Any] = {"sku": sku, "bottles": bottles, "cases": cases}
    if promotion_id is not None:
        out["promotion_id"] = promotion_id
    return out


def core_config(url: str, **overrides: object) -> CoreConfig:
    """Background loops off unless a test switches them on: tests drive time explicitly."""
    values: dict[str, object] = {
        "database_url": url,
        "logistics": LogisticsConfig(time_scale=1.0, tick_seconds=0),
        "webhooks": WebhookConfig(enabled=False),
        "create_tables": False,
    }
    values.update(overrides)
    return CoreConfig(**values)  # type: ignore[arg-type]
