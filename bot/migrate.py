"""Schema upgrades through Alembic, callable from the CLI (never from inside a running loop)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Create or upgrade the schema; every domain branch's head is applied."""
    command.upgrade(alembic_config(database_url), revision)
