"""Alembic environment: always driven from code with a live connection (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from photolens.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables instead
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
