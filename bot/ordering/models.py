"""The ordering branch's tables (migration 0005): store links to the core, binding and staff
tokens, the core's webhook events already handled, and durable order intents.

Members and stores themselves belong to membership (``members.role``/``store_id``, ``stores``);
these tables only add what chat ordering needs on top.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, BigIntPK, UTCDateTime, utcnow


class StoreLink(Base):
    """jiubot's store row <-> the core's store id, and who owns it in chat."""

    __tablename__ = "ordering_stores"
    __table_args__ = (
        UniqueConstraint("tenant_id", "core_store_id"),
        UniqueConstraint("tenant_id", "store_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # membership's ``stores.id``; no foreign key: that table belongs to another migration branch
    store_id: Mapped[int] = mapped_column(BigInteger)
    core_store_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128), default="")
    owner_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BindToken(Base):
    """The argument of a ``bind:<token>`` QR scene: an owner binding code made by an operator or
    a staff invitation made by the owner (single use)."""

    __tablename__ = "ordering_bind_tokens"
    __table_args__ = (UniqueConstraint("token"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # owner | staff
    core_store_id: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(64), default="")  # operator name or member:<id>
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    used_by_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class CoreEvent(Base):
    """A core webhook event handled once: the unique key drops the core's redeliveries. The row is
    inserted first (the claim) and marked ``done`` with the event's effects."""

    __tablename__ = "ordering_core_events"
    __table_args__ = (UniqueConstraint("tenant_id", "event_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(48))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "done", or "p:<token>" while one delivery processes the event (migration 0015)
    state: Mapped[str] = mapped_column(String(16), default="done", server_default="done")


class OrderIntent(Base):
    """An order a store member confirmed, kept until the core definitively accepts or refuses it.

    ``idempotency_key`` is what the core sees on every try (derived from the cart and its version),
    ``body`` the exact request, so a retry is byte-for-byte the same request. ``notify`` is set
    when the confirming turn stopped waiting: whoever then settles the intent pushes the result.
    """

    __tablename__ = "ordering_order_intents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_ordering_order_intents_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    appid: Mapped[str] = mapped_column(String(32), default="")
    openid: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(8))  # chat | mp
    core_store_id: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|placed|refused|expired
    notify: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    order_id: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)
    order_number: Mapped[str] = mapped_column(String(32), default="")
    total_fen: Mapped[int | None] = mapped_column(BigInteger, default=None)
    error_code: Mapped[str] = mapped_column(String(48), default="")
    error_detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


__all__ = ["BindToken", "CoreEvent", "OrderIntent", "StoreLink"]
