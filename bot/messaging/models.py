from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, BigIntPK, UTCDateTime, utcnow


class DeliveryReceipt(Base):
    """An outcome WeChat pushed back: TEMPLATESENDJOBFINISH, MASSSENDJOBFINISH, subscribe_msg_*.

    ``kind`` is template, mass, subscribe_popup, subscribe_change or subscribe_sent; ``status``
    is WeChat's own string (``success``, ``failed:user block``, ``accept``, ``reject``...).
    """

    __tablename__ = "delivery_receipts"
    __table_args__ = (Index("ix_delivery_receipts_msgid", "appid", "msgid"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    appid: Mapped[str] = mapped_column(String(32))
    openid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    msgid: Mapped[str | None] = mapped_column(String(64), default=None)
    template_id: Mapped[str | None] = mapped_column(String(128), default=None)
    status: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(256), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
