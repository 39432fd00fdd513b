"""Configuration of the reference core (its own dataclasses: it never reads jiubot's settings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SourcingStrategy = Literal["nearest_single_then_split", "nearest_split"]


@dataclass(frozen=True)
class TenantConfig:
    """A tenant (brand) the core serves: its API keys and where its webhooks go.

    Tenants listed here are written to the database at start-up (keys are stored hashed), so a
    seeded database and a configured one behave the same.
    """

    slug: str
    name: str = ""
    api_keys: tuple[str, ...] = ()
    webhook_url: str = ""
    webhook_secret: str = ""


@dataclass(frozen=True)
class SourcingConfig:
    # "nearest_single_then_split": the nearest warehouse that can fill a line alone; otherwise split
    # across the nearest ones. "nearest_split": always take from the nearest first, even if split.
    strategy: SourcingStrategy = "nearest_single_then_split"
    max_warehouses_per_line: int = 3


@dataclass(frozen=True)
class LogisticsConfig:
    # How many logistics seconds pass per real second: 1 is real time, 3600 makes an hour a second.
    time_scale: float = 1.0
    # How often the clock looks for orders due to move; 0 switches the clock off (admin advance only).
    tick_seconds: float = 1.0


@dataclass(frozen=True)
class WebhookConfig:
    enabled: bool = True
    timeout_seconds: float = 5.0
    # Exponential backoff with full jitter between attempts, capped; attempts never stop (at least once).
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 600.0
    poll_seconds: float = 1.0
    lease_seconds: float = 30.0
    batch_size: int = 50


@dataclass(frozen=True)
class CoreConfig:
    database_url: str
    tenants: tuple[TenantConfig, ...] = ()
    sourcing: SourcingConfig = field(default_factory=SourcingConfig)
    logistics: LogisticsConfig = field(default_factory=LogisticsConfig)
    webhooks: WebhookConfig = field(default_factory=WebhookConfig)
    # /v1/admin/* (set stock, advance an order, close a group order): for demos and tests.
    admin_enabled: bool = True
    # Create the core_* tables at start-up (metadata.create_all; idempotent).
    create_tables: bool = True
    pool_size: int = 10
    max_body_bytes: int = 256 * 1024
