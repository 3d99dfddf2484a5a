"""The store: migrations (fresh, ORM agreement, backups, newer schema refused), locks, damage, URLs."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, func, select, text

import photolens.store.database as database
from photolens.errors import DatabaseError, DatabaseLockedError, SchemaTooNewError
from photolens.store.database import Database, head_revision
from photolens.store.schema import Base, Embedding, ModelRecord, Photo
from photolens.vectors import from_blobs, normalize, to_blob


def version_of(path: Path) -> str | None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def add_photo(db: Database, path: str = "/p/a.jpg") -> int:
    with db.session() as session:
        photo = Photo(path=path, folder=str(Path(path).parent), size=1, mtime_ns=1)
        session.add(photo)
        session.flush()
        return photo.id


def test_fresh_database_is_created_at_head_with_wal_and_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "library.db"
    db = Database(str(path))
    try:
        assert version_of(path) == head_revision()
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == int(database.BUSY_TIMEOUT_S * 1000)
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        db.close()


def test_reopening_at_head_makes_no_backup(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    Database(str(path)).close()
    Database(str(path)).close()
    assert list(tmp_path.glob("*.bak-*")) == []


def test_migrations_produce_exactly_the_orm_schema(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db = Database(str(tmp_path / "library.db"))
    try:
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
    finally:
        db.close()


def test_database_from_a_newer_photolens_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    Database(str(path)).close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeed9999'")
        conn.commit()
    with pytest.raises(SchemaTooNewError, match="newer photolens.*f00dfeed9999"):
        Database(str(path))
    assert version_of(path) == "f00dfeed9999"
    assert list(tmp_path.glob("*.bak-*")) == []


NEXT_REVISION = '''
"""test-only next revision"""
import sqlalchemy as sa
from alembic import op

revision = "0002_test"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("test_extra", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("test_extra")
'''


def test_migrating_an_older_revision_backs_up_the_database_first(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "library.db"
    db = Database(str(path))
    add_photo(db, "/photos/kept.jpg")
    db.close()
    old_head = head_revision()

    newer = tmp_path / "migrations"
    shutil.copytree(database.MIGRATIONS_DIR, newer, ignore=shutil.ignore_patterns("__pycache__"))
    (newer / "versions" / "0002_test.py").write_text(NEXT_REVISION.format(head=old_head))
    monkeypatch.setattr(database, "MIGRATIONS_DIR", newer)
    monkeypatch.setattr(database, "SCHEMA_HEAD", "0002_test")  # a release with a migration bumps it

    Database(str(path)).close()
    assert version_of(path) == "0002_test"
    backups = list(tmp_path.glob(f"library.db.bak-{old_head}-*"))
    assert len(backups) == 1
    assert version_of(backups[0]) == old_head
    with contextlib.closing(sqlite3.connect(backups[0])) as conn:
        assert conn.execute("SELECT path FROM photos").fetchall() == [("/photos/kept.jpg",)]


def test_a_foreign_database_without_a_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other-app.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, something TEXT)")
        conn.execute("INSERT INTO photos (something) VALUES ('theirs')")
        conn.commit()
    with pytest.raises(DatabaseError, match="no photolens schema version"):
        Database(str(path))
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT something FROM photos").fetchall() == [("theirs",)]


def test_damaged_file_gives_a_clear_database_error(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    path.write_bytes(b"this is not sqlite, just garbage bytes " * 200)
    with pytest.raises(DatabaseError, match="damaged") as info:
        Database(str(path))
    assert not isinstance(info.value, DatabaseLockedError)


def test_writes_while_another_process_holds_the_write_lock_fail_clearly(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "library.db"
    db = Database(str(path))
    other = sqlite3.connect(path, timeout=0.1)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(DatabaseLockedError, match="locked by another process"):
            add_photo(db)
        other.rollback()
        add_photo(db)  # works again once the lock is released
    finally:
        other.close()
        db.close()


def test_opening_a_database_locked_exclusively_fails_clearly(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "library.db"
    other = sqlite3.connect(path, timeout=0.1)
    try:
        other.execute("PRAGMA locking_mode=EXCLUSIVE")
        other.execute("CREATE TABLE held (x)")
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(DatabaseLockedError, match="locked"):
            Database(str(path))
    finally:
        other.close()


def test_sqlalchemy_urls_work_and_a_bad_url_is_a_database_error(tmp_path: Path) -> None:
    db = Database("sqlite:///" + str(tmp_path / "by-url.db"))
    try:
        add_photo(db)
        assert (tmp_path / "by-url.db").exists()
    finally:
        db.close()
    with pytest.raises(DatabaseError, match="no-such-driver"):
        Database("no-such-driver://user@host/db")


def test_in_memory_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    db = Database("sqlite://")
    try:
        photo_id = add_photo(db)
        with db.session() as session:
            session.add(ModelRecord(key="m", spec="m", dim=2))
            session.flush()
            session.add(Embedding(photo_id=photo_id, model_key="m", vector=to_blob(np.ones(2))))
        with db.session() as session:
            session.execute(delete(Photo))
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(Embedding)) == 0
    finally:
        db.close()


def test_deleting_a_photo_deletes_its_embeddings(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "library.db"))
    try:
        photo_id = add_photo(db)
        with db.session() as session:
            session.add(ModelRecord(key="m", spec="m", dim=2))
            session.flush()
            session.add(Embedding(photo_id=photo_id, model_key="m", vector=to_blob(np.ones(2))))
        with db.session() as session:
            session.execute(delete(Photo).where(Photo.id == photo_id))
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(Embedding)) == 0
    finally:
        db.close()


def test_vectors_are_stored_as_float16_and_come_back_normalised() -> None:
    rng = np.random.default_rng(0)
    vectors = normalize(rng.normal(size=(3, 512)))
    blobs = [to_blob(v) for v in vectors]
    assert all(len(b) == 512 * 2 for b in blobs)
    back = from_blobs(blobs, 512)
    assert back.dtype == np.float32
    assert np.allclose(np.linalg.norm(back, axis=1), 1.0, atol=1e-5)
    assert np.abs(back - vectors).max() < 2e-3
    assert from_blobs([], 512).shape == (0, 512)


def test_schema_head_constant_matches_the_migration_scripts() -> None:
    """A current database skips Alembic on open; that shortcut is only right if the constant is the head."""
    from photolens.store.database import SCHEMA_HEAD

    assert head_revision() == SCHEMA_HEAD
