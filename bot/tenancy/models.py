from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, BigIntPK, UTCDateTime, utcnow


class Tenant(Base):
    """A brand. Every other row carries its tenant id; queries are scoped server-side."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    # The tenant's own core ordering system (issue 16); "" = the process-wide JIUBOT_CORE_*.
    core_url: Mapped[str] = mapped_column(String(512), default="", server_default="")
    core_api_key: Mapped[str] = mapped_column(String(256), default="", server_default="")
    core_webhook_secret: Mapped[str] = mapped_column(String(256), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WechatApp(Base):
    """An Official Account (kind ``oa``) or mini-program (kind ``mp``) of a tenant."""

    __tablename__ = "wechat_apps"
    __table_args__ = (UniqueConstraint("appid"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    appid: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8), default="oa")
    name: Mapped[str] = mapped_column(String(128), default="")
    secret: Mapped[str] = mapped_column(String(128), default="")
    token: Mapped[str] = mapped_column(String(32), default="")
    aes_key: Mapped[str] = mapped_column(String(43), default="")
    prev_aes_key: Mapped[str] = mapped_column(String(43), default="")
    mode: Mapped[str] = mapped_column(String(8), default="plain")
    original_id: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
