"""console: one-time form tokens (a double-submitted console form does one thing), menu layouts

Revision ID: 0010c
Revises: 0010b
Create Date: 2026-12-06

On the console branch after 0010b: ``console_form_tokens`` and ``console_menus``
(``bot/console/models.py``).
"""

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0010c"
down_revision = "0010b"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = bot.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_form_tokens",
        sa.Column("tenant_id", _ID, autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("operator_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_console_form_tokens_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "token", name=op.f("pk_console_form_tokens")),
    )
    op.create_table(
        "console_menus",
        sa.Column("tenant_id", _ID, autoincrement=False, nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("layout", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("pushed_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_console_menus_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "appid", name=op.f("pk_console_menus")),
    )


def downgrade() -> None:
    op.drop_table("console_menus")
    op.drop_table("console_form_tokens")
