"""regional: B-side store referrals and regional storefronts (issue 16)

Revision ID: 0014
Revises: 0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0014"
down_revision = "0001"
branch_labels = ("regional",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = bot.db.UTCDateTime(timezone=True)
_T = "regional_store_referrals"


def upgrade() -> None:
    op.create_table(
        _T,
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("referrer_member_id", sa.BigInteger(), nullable=False),
        sa.Column("referrer_store_id", sa.BigInteger(), nullable=True),
        sa.Column("referee_member_id", sa.BigInteger(), nullable=False),
        sa.Column("referee_store_id", sa.BigInteger(), nullable=True),
        sa.Column("first_order_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("settled_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{_T}_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{_T}")),
        sa.UniqueConstraint(
            "tenant_id", "referee_member_id", name=op.f(f"uq_{_T}_tenant_id_referee_member_id")
        ),
        sa.UniqueConstraint(
            "tenant_id", "referee_store_id", name=op.f(f"uq_{_T}_tenant_id_referee_store_id")
        ),
    )
    op.create_index(op.f(f"ix_{_T}_referrer_member_id"), _T, ["referrer_member_id"], unique=False)
    op.create_index("ix_regional_store_referrals_state", _T, ["tenant_id", "state"], unique=False)
    op.create_table(
        "regional_storefronts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("region_code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("layout", sa.Text(), nullable=False),
        sa.Column("published_by", sa.BigInteger(), nullable=True),
        sa.Column("published_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_regional_storefronts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regional_storefronts")),
        sa.UniqueConstraint(
            "tenant_id",
            "region_code",
            "version",
            name=op.f("uq_regional_storefronts_tenant_id_region_code_version"),
        ),
    )


def downgrade() -> None:
    op.drop_table("regional_storefronts")
    op.drop_index("ix_regional_store_referrals_state", table_name=_T)
    op.drop_index(op.f(f"ix_{_T}_referrer_member_id"), table_name=_T)
    op.drop_table(_T)
