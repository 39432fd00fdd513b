"""The console's own tables: operator accounts, the append-only audit log, one-time form tokens.

``console_audit_log`` is append-only: migration 0010 installs triggers that refuse UPDATE and
DELETE on both databases; nothing in the code updates it either.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, BigIntPK, UTCDateTime, utcnow


class Operator(Base):
    """A person who signs in to the console, scoped to one node of the brand's tree."""

    __tablename__ = "console_operators"
    __table_args__ = (UniqueConstraint("tenant_id", "username"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    # the node of the org tree (bot/console/org_models.py) the operator works in:
    # "tenant" (HQ, the whole tree, no id), "region" or "distributor" with the core's node id
    scope_kind: Mapped[str] = mapped_column(String(16), default="tenant")
    scope_core_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # failed sign-ins in the current 15-minute window, and the lock they led to
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    failed_window_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # optional second factor: the operator's own openid in the tenant's Official Account
    wechat_openid: Mapped[str | None] = mapped_column(String(64), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One operator action: who, what, on which record, before/after (JSON), from where."""

    __tablename__ = "console_audit_log"
    __table_args__ = (
        Index("ix_console_audit_log_tenant", "tenant_id", "id"),
        Index("ix_console_audit_log_target", "tenant_id", "target_kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # no foreign key: the log outlives accounts; the username is kept as it was
    operator_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    operator_username: Mapped[str] = mapped_column(String(64), default="")
    # the operator's scope when acting, so a scoped reader sees only its subtree's entries
    scope_kind: Mapped[str] = mapped_column(String(16), default="tenant")
    scope_core_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    action: Mapped[str] = mapped_column(String(48))
    target_kind: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FormToken(Base):
    """A console form's one-time token, claimed in the transaction of the change it makes: a
    double-submitted form (or a retry after a timeout) finds its token taken and does nothing."""

    __tablename__ = "console_form_tokens"

    tenant_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(48))
    operator_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MenuLayout(Base):
    """A tenant's Official Account menu as edited in the console (YAML in the layout of
    ``bot/ordering/menu.yaml``); ``version`` detects concurrent edits, ``pushed_at`` says whether
    WeChat has this version."""

    __tablename__ = "console_menus"

    tenant_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    appid: Mapped[str] = mapped_column(String(32), primary_key=True)
    layout: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


__all__ = ["AuditEntry", "FormToken", "MenuLayout", "Operator"]
