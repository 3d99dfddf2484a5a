"""Alembic migration scripts, run programmatically by :mod:`photolens.store.database`."""
