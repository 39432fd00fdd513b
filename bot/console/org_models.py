"""The console's mirror of the brand's org tree (migration 0010b): regions (营销中心) ->
distributors -> stores, per tenant, as the core's org API names them.

``path`` is a materialised path of core ids: ``/r12/`` a region, ``/r12/d34/`` a distributor,
``/r12/d34/s56/`` a store (a store whose distributor the core did not list hangs under its region:
``/r12/s56/``). "The subtree of X" is ``path LIKE X.path || '%'``: one prefix scan of the
``(tenant_id, path)`` index on both databases (``text_pattern_ops`` on PostgreSQL, whose default
collation would not use a plain btree for LIKE).

Nodes are never deleted: a node the core no longer lists is deactivated (``active`` false,
``deactivated_at`` set), so operators' scopes and the audit log keep pointing at something.
jiubot's own tables name org nodes by *code* (``stores.code``, ``members.region_code``,
``code_batches.region_code`` ...), hence the ``(tenant_id, kind, code)`` index used by the scoped
queries in ``bot.console.scope``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, BigIntPK, UTCDateTime, utcnow


class OrgNode(Base):
    __tablename__ = "console_org_nodes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "core_id"),
        Index("ix_console_org_nodes_path", "tenant_id", "path", postgresql_ops={"path": "text_pattern_ops"}),
        Index("ix_console_org_nodes_code", "tenant_id", "kind", "code"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))  # region | distributor | store
    core_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("console_org_nodes.id", ondelete="SET NULL"), default=None
    )
    path: Mapped[str] = mapped_column(String(128))
    city: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")  # the core's store status
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
