"""Alembic revisions of the automation feature (branch "automation")."""
