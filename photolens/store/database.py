"""Opening the database: URL handling, SQLite tuning, versioned migrations with a backup first.

SQLite is the default (WAL so readers never block the indexer, a busy timeout so a second process waits
instead of failing). Any other SQLAlchemy URL (e.g. ``postgresql+psycopg://…``) goes through the same
code: nothing here or in the queries is SQLite-specific beyond the pragmas applied only to SQLite.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from photolens.errors import DatabaseError, DatabaseLockedError, SchemaTooNewError

BUSY_TIMEOUT_S = 10.0
#: Called before every session opens when set. The GUI's test mode sets it to a check that raises on the
#: GUI thread (photolens.gui.guard), so database work there is caught by the tests, not by users.
session_hook: Callable[[], None] | None = None
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def to_url(path_or_url: str) -> str:
    """A bare path means a SQLite file (``:memory:`` an in-memory SQLite database)."""
    if "://" in path_or_url:
        return path_or_url
    if path_or_url == ":memory:":
        return "sqlite://"
    return "sqlite:///" + os.path.abspath(os.path.expanduser(path_or_url))


def sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # busy_timeout first, so that switching to WAL also waits for another process's lock
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_memory_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # purges cascade to embeddings
    cursor.close()


def translate_error(exc: BaseException, where: str) -> DatabaseError:
    """Map driver errors to messages a user can act on."""
    text = str(getattr(exc, "orig", exc))
    if "locked" in text or "busy" in text:
        return DatabaseLockedError(
            f"The database {where} is locked by another process (another photolens indexing?). "
            "Wait for it to finish, or close it, and try again."
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return DatabaseError(
            f"The database {where} is damaged ({text}). Restore a backup (photolens keeps one next to it "
            "before every migration, *.bak-*) or move it away to start a new library."
        )
    return DatabaseError(f"Database error on {where}: {text}")


def _script_directory():
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR))


def head_revision() -> str:
    return _script_directory().get_current_head()


def _backup_sqlite(path: Path, revision: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.bak-{revision}-{stamp}")
    with contextlib.closing(sqlite3.connect(path)) as source, contextlib.closing(sqlite3.connect(target)) as dest:
        source.backup(dest)
    return target


#: The newest migration's revision. Checked against the migration scripts by tests/test_store.py, so a
#: database that is already current opens without importing Alembic (a few hundred ms of startup).
SCHEMA_HEAD = "0001"


def _stored_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, SADatabaseError):
        return None


def migrate(engine: Engine, url: str) -> None:
    """Bring the schema to the newest revision; refuse a database from a newer photolens."""
    if _stored_revision(engine) == SCHEMA_HEAD:
        return
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    script = _script_directory()
    head = script.get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"} if current is None else set()
    if current == head:
        return
    if tables:
        raise DatabaseError(
            f"The database {url} has tables ({', '.join(sorted(tables)[:5])}) but no photolens schema version: "
            "it was not made by photolens. Use another --db (a new file is created on first use)."
        )
    if current is not None:
        known = {rev.revision for rev in script.walk_revisions()}
        if current not in known:
            raise SchemaTooNewError(
                f"The database {url} was written by a newer photolens (schema revision {current}; this version "
                f"knows up to {head}). Upgrade photolens, or use another --db."
            )
        db_file = sqlite_file(url)
        if db_file is not None and db_file.exists():
            _backup_sqlite(db_file, current)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_engine(path_or_url: str) -> Engine:
    """Create the engine, apply migrations, and check the database is usable."""
    url = to_url(path_or_url)
    try:
        db_file = sqlite_file(url)
    except Exception as exc:  # noqa: BLE001 - an unparseable URL
        raise DatabaseError(f"Cannot use database URL {url}: {exc}") from exc
    if db_file is not None:
        try:
            db_file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"Cannot create the folder for the database {db_file}: {exc.strerror}") from exc
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except Exception as exc:  # noqa: BLE001 - a bad URL or a missing driver
            raise DatabaseError(f"Cannot use database URL {url}: {exc}") from exc
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_memory_pragmas)
    try:
        migrate(engine, url)
    except (OperationalError, SADatabaseError) as exc:
        engine.dispose()
        raise translate_error(exc, url) from exc
    except sqlite3.DatabaseError as exc:
        engine.dispose()
        raise translate_error(exc, url) from exc
    return engine


class Database:
    """An engine plus a session factory; the only way code reaches the database."""

    def __init__(self, path_or_url: str):
        self.url = to_url(path_or_url)
        self.engine = open_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error, driver errors translated."""
        if session_hook is not None:
            session_hook()
        session = self._sessions()
        try:
            yield session
            session.commit()
        except (OperationalError, SADatabaseError) as exc:
            session.rollback()
            raise translate_error(exc, self.url) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        self.engine.dispose()
