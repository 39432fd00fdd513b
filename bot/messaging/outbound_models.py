"""The outbound message log: every push jiubot tried, by idempotency key, and every attempt.

``OutboundMessage`` is one logical message (a late reply, an order notice...) keyed by
(appid, idempotency_key): the unique constraint is what makes a retried notification go out once.
``OutboundAttempt`` is one try on one channel (customer_service, subscribe, template, or none
when no channel was open and nothing was sent); TEMPLATESENDJOBFINISH and
subscribe_msg_sent_event receipts update it by (appid, msgid).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, BigIntPK, UTCDateTime, utcnow


class OutboundMessage(Base):
    """``status``: pending, sent, undeliverable (no channel, or WeChat refused; final), unknown (the
    send timed out: WeChat may have delivered it; final) or failed (WeChat answered an error
    that may pass: a later call with the same key tries again)."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        UniqueConstraint("appid", "idempotency_key"),
        Index("ix_outbound_messages_member_time", "member_id", "created_at"),
        Index("ix_outbound_messages_msgid", "appid", "msgid"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), default=None)
    appid: Mapped[str] = mapped_column(String(32))
    openid: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    channel: Mapped[str] = mapped_column(String(24), default="none")
    reason: Mapped[str] = mapped_column(String(128), default="")
    errcode: Mapped[int | None] = mapped_column(Integer, default=None)
    rid: Mapped[str] = mapped_column(String(64), default="")
    msgid: Mapped[str | None] = mapped_column(String(64), default=None)
    receipt_status: Mapped[str | None] = mapped_column(String(64), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboundAttempt(Base):
    """One try on one channel; ``status`` is sent, refused (WeChat said no: the budget was
    corrected), failed (error), unknown (no answer) or undeliverable (no channel open: nothing
    was sent)."""

    __tablename__ = "outbound_attempts"
    __table_args__ = (Index("ix_outbound_attempts_msgid", "appid", "msgid"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="CASCADE"), index=True
    )
    appid: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(128), default="")
    errcode: Mapped[int | None] = mapped_column(Integer, default=None)
    errmsg: Mapped[str] = mapped_column(String(256), default="")
    rid: Mapped[str] = mapped_column(String(64), default="")
    msgid: Mapped[str | None] = mapped_column(String(64), default=None)
    receipt_status: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
