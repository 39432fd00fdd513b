"""Schema upgrades through Alembic, callable from the CLI (never from inside a running loop).

The revisions live in ``bot/migrations/versions`` (one branch per domain off 0001) and in the
``migrations`` folder of any feature that brings its own (``Feature.migrations``)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def version_locations() -> list[Path]:
    from bot.wiring.features import FEATURES

    extra = [f.migrations for f in FEATURES if f.migrations is not None]
    return [MIGRATIONS / "versions", *extra]


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # alembic splits this option on os.pathsep
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in version_locations()))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Create or upgrade the schema; every domain branch's head is applied."""
    command.upgrade(alembic_config(database_url), revision)
