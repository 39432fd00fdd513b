"""wechat outbound: the outbound message log and its attempts

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22

The wechat branch (``branch_labels = ("wechat",)``): only ``outbound_messages`` and
``outbound_attempts`` (models in ``bot/messaging/outbound_models.py``).
"""

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0003"
down_revision = "0001"
branch_labels = ("wechat",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outbound_messages",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=True),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=False),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("rid", sa.String(length=64), nullable=False),
        sa.Column("msgid", sa.String(length=64), nullable=True),
        sa.Column("receipt_status", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_outbound_messages_member_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_outbound_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_messages")),
        sa.UniqueConstraint(
            "appid", "idempotency_key", name=op.f("uq_outbound_messages_appid_idempotency_key")
        ),
    )
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbound_messages_member_time", ["member_id", "created_at"], unique=False)
        batch_op.create_index("ix_outbound_messages_msgid", ["appid", "msgid"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbound_messages_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "outbound_attempts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("message_id", _ID, nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=False),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("errmsg", sa.String(length=256), nullable=False),
        sa.Column("rid", sa.String(length=64), nullable=False),
        sa.Column("msgid", sa.String(length=64), nullable=True),
        sa.Column("receipt_status", sa.String(length=64), nullable=True),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbound_messages.id"],
            name=op.f("fk_outbound_attempts_message_id_outbound_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_outbound_attempts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_attempts")),
    )
    with op.batch_alter_table("outbound_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_outbound_attempts_msgid", ["appid", "msgid"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbound_attempts_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbound_attempts_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_table("outbound_attempts")
    op.drop_table("outbound_messages")
