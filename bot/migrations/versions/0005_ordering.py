"""ordering: store links to the core, binding tokens, core webhook events, order intents

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-22

The ordering branch (``branch_labels = ("ordering",)``): only the tables of
``bot/ordering/models.py``. ``ordering_stores.store_id`` names a row of membership's ``stores``
table without a foreign key: that table comes from another branch (0006), and the branches may be
applied in either order.
"""

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0005"
down_revision = "0001"
branch_labels = ("ordering",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = bot.db.UTCDateTime(timezone=True)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def _member_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["members.id"], name=op.f(f"fk_{table}_{column}_members"), ondelete="SET NULL"
    )


def upgrade() -> None:
    op.create_table(
        "ordering_stores",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("core_store_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("owner_member_id", _ID, nullable=True),
        sa.Column("bound_at", _TS, nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        _tenant_fk("ordering_stores"),
        _member_fk("ordering_stores", "owner_member_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ordering_stores")),
        sa.UniqueConstraint(
            "tenant_id", "core_store_id", name=op.f("uq_ordering_stores_tenant_id_core_store_id")
        ),
        sa.UniqueConstraint("tenant_id", "store_id", name=op.f("uq_ordering_stores_tenant_id_store_id")),
    )
    op.create_index(op.f("ix_ordering_stores_tenant_id"), "ordering_stores", ["tenant_id"], unique=False)

    op.create_table(
        "ordering_bind_tokens",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("core_store_id", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("used_at", _TS, nullable=True),
        sa.Column("used_by_member_id", _ID, nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
        _tenant_fk("ordering_bind_tokens"),
        _member_fk("ordering_bind_tokens", "used_by_member_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ordering_bind_tokens")),
        sa.UniqueConstraint("token", name=op.f("uq_ordering_bind_tokens_token")),
    )
    op.create_index(
        op.f("ix_ordering_bind_tokens_tenant_id"), "ordering_bind_tokens", ["tenant_id"], unique=False
    )

    op.create_table(
        "ordering_core_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        _tenant_fk("ordering_core_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ordering_core_events")),
        sa.UniqueConstraint("tenant_id", "event_id", name=op.f("uq_ordering_core_events_tenant_id_event_id")),
    )

    op.create_table(
        "ordering_order_intents",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=True),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("core_store_id", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notify", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=True),
        sa.Column("error_code", sa.String(length=48), nullable=False),
        sa.Column("error_detail", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        _tenant_fk("ordering_order_intents"),
        _member_fk("ordering_order_intents", "member_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ordering_order_intents")),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name=op.f("uq_ordering_order_intents_tenant_id_idempotency_key")
        ),
    )
    op.create_index(
        "ix_ordering_order_intents_due", "ordering_order_intents", ["status", "next_attempt_at"], unique=False
    )
    op.create_index(
        op.f("ix_ordering_order_intents_member_id"), "ordering_order_intents", ["member_id"], unique=False
    )
    op.create_index(
        op.f("ix_ordering_order_intents_order_id"), "ordering_order_intents", ["order_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("ordering_order_intents")
    op.drop_table("ordering_core_events")
    op.drop_table("ordering_bind_tokens")
    op.drop_table("ordering_stores")
