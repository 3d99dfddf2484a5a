"""SQL building blocks shared by the indexer and the library."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, func, insert, or_
from sqlalchemy.orm import Session

from photolens.paths import folder_prefix, to_db_path


def under_prefix(column: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, case-sensitively on every backend.

    SQLite's ``LIKE`` ignores ASCII case, so ``/a/Trip/%`` would also match ``/a/trip/…`` (another folder
    on Linux); the ``LIKE`` narrows the rows (and can use an index), the ``substr`` makes it exact.
    """
    return and_(column.startswith(prefix, autoescape=True), func.substr(column, 1, len(prefix)) == prefix)


def under_any(column: ColumnElement[str], folders: list[str], files: list[str] | None = None) -> ColumnElement[bool]:
    """Rows whose path is under one of ``folders`` (recursively) or equal to one of ``files``.

    Arguments are filesystem paths; they are converted to the stored (UTF-8 display) form first, so
    folders whose names are not valid UTF-8 work too.
    """
    conditions = [under_prefix(column, to_db_path(folder_prefix(f))[0]) for f in folders]
    conditions += [column == to_db_path(f)[0] for f in files or []]
    return or_(*conditions) if conditions else false()


def insert_ignoring_duplicates(session: Session, model: type, rows: list[dict]) -> None:
    """Insert ``rows``, skipping those whose key already exists.

    Another process indexing the same library (the GUI while ``photolens index`` runs) may have stored the
    same photo or vector between our planning and our writing; that is not an error.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        session.execute(insert(model), rows)
        return
    session.execute(dialect_insert(model).on_conflict_do_nothing(), rows)


def register_model(session: Session, key: str, spec: str, dim: int) -> None:
    """Record a model's embedding size on first use; refuse a model whose size differs from what is stored
    under its key (its weights were replaced), so vectors of two sizes never mix."""
    from photolens.errors import EmbeddingDimensionError
    from photolens.store.schema import ModelRecord

    record = session.get(ModelRecord, key)
    if record is None:
        session.add(ModelRecord(key=key, spec=spec, dim=dim))
    elif record.dim != dim:
        raise EmbeddingDimensionError(
            f"Model {key} produces {dim}-d vectors but this library stores {record.dim}-d vectors under that "
            "key. Were its weights replaced? Use the model the library was built with."
        )
