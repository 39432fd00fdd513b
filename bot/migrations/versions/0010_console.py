"""console: operator accounts and the append-only audit log

Revision ID: 0010
Revises: 0001
Create Date: 2026-12-06

The console branch (``branch_labels = ("console",)``): the tables of ``bot/console/models.py``.
The audit log refuses UPDATE and DELETE by trigger on both databases (append-only).
"""

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0010"
down_revision = "0001"
branch_labels = ("console",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = bot.db.UTCDateTime(timezone=True)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


# --- operators and audit log (console-web) -----------------------------------------------------
def _upgrade_accounts() -> None:
    op.create_table(
        "console_operators",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_core_id", sa.BigInteger(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("failed_window_start", _TS, nullable=True),
        sa.Column("locked_until", _TS, nullable=True),
        sa.Column("last_login_at", _TS, nullable=True),
        sa.Column("wechat_openid", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        _tenant_fk("console_operators"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_operators")),
        sa.UniqueConstraint("tenant_id", "username", name=op.f("uq_console_operators_tenant_id_username")),
    )
    op.create_index(op.f("ix_console_operators_tenant_id"), "console_operators", ["tenant_id"], unique=False)

    op.create_table(
        "console_audit_log",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("operator_id", sa.BigInteger(), nullable=True),
        sa.Column("operator_username", sa.String(length=64), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_core_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("target_kind", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("at", _TS, nullable=False),
        _tenant_fk("console_audit_log"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_audit_log")),
    )
    op.create_index("ix_console_audit_log_tenant", "console_audit_log", ["tenant_id", "id"], unique=False)
    op.create_index(
        "ix_console_audit_log_target",
        "console_audit_log",
        ["tenant_id", "target_kind", "target_id"],
        unique=False,
    )
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER console_audit_log_no_{verb.lower()} BEFORE {verb} ON console_audit_log "
                "BEGIN SELECT RAISE(ABORT, 'console_audit_log is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION console_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'console_audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER console_audit_log_append_only BEFORE UPDATE OR DELETE ON console_audit_log "
            "FOR EACH ROW EXECUTE FUNCTION console_audit_log_append_only()"
        )


def _downgrade_accounts() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS console_audit_log_append_only ON console_audit_log")
        op.execute("DROP FUNCTION IF EXISTS console_audit_log_append_only()")
    op.drop_index("ix_console_audit_log_target", table_name="console_audit_log")
    op.drop_index("ix_console_audit_log_tenant", table_name="console_audit_log")
    op.drop_table("console_audit_log")
    op.drop_index(op.f("ix_console_operators_tenant_id"), table_name="console_operators")
    op.drop_table("console_operators")


def upgrade() -> None:
    _upgrade_accounts()


def downgrade() -> None:
    _downgrade_accounts()
