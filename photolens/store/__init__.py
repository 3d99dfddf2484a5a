"""Persistence: schema, engine and migrations, and the queries the rest of photolens needs."""
