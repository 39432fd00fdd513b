"""console: the org tree mirror (regions -> distributors -> stores) the console's scopes hang on

Revision ID: 0010b
Revises: 0010
Create Date: 2026-12-06

On the console branch after 0010: only ``console_org_nodes`` (``bot/console/org_models.py``).
"""

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0010b"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = bot.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_org_nodes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("core_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("parent_id", _ID, nullable=True),
        sa.Column("path", sa.String(length=128), nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("synced_at", _TS, nullable=False),
        sa.Column("deactivated_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_console_org_nodes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["console_org_nodes.id"],
            name=op.f("fk_console_org_nodes_parent_id_console_org_nodes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_org_nodes")),
        sa.UniqueConstraint(
            "tenant_id", "kind", "core_id", name=op.f("uq_console_org_nodes_tenant_id_kind_core_id")
        ),
    )
    op.create_index(
        "ix_console_org_nodes_path",
        "console_org_nodes",
        ["tenant_id", "path"],
        unique=False,
        postgresql_ops={"path": "text_pattern_ops"},
    )
    op.create_index(
        "ix_console_org_nodes_code", "console_org_nodes", ["tenant_id", "kind", "code"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_console_org_nodes_code", table_name="console_org_nodes")
    op.drop_index("ix_console_org_nodes_path", table_name="console_org_nodes")
    op.drop_table("console_org_nodes")
