"""The façade the CLI and the GUI use: one library database, one current model.

It owns the lazy model, the cached in-memory matrix of the current model's vectors (rebuilt when the
store changes) and the query paths (text, photo, weighted terms, filters).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from photolens.config import default_db_url, default_model_spec
from photolens.embedding.embedder import Embedder, load_embedder
from photolens.embedding.spec import ModelSpec, parse_model_spec
from photolens.errors import EmbeddingDimensionError, ImageError, QueryError
from photolens.imaging import decode_for_model
from photolens.indexer import Indexer, IndexOptions, IndexProgress
from photolens.paths import from_db_path, to_db_path
from photolens.query import Term, parse_query
from photolens.search import SearchFilter, SearchHit, combine
from photolens.spaces import RAW_SPACE, Space, SpaceIndex
from photolens.store.database import Database, sqlite_file
from photolens.store.queries import register_model, under_any
from photolens.store.schema import Embedding, LibraryRoot, ModelRecord, Photo, TextEmbedding
from photolens.vectors import from_blobs, to_blob


@dataclass
class VectorSet:
    """All live photos' vectors for one model: ``ids[i]`` is the photo of ``matrix[i]``."""

    ids: np.ndarray
    matrix: np.ndarray
    signature: tuple

    def rows_of(self, photo_ids: np.ndarray) -> np.ndarray:
        order = np.argsort(self.ids)
        pos = np.searchsorted(self.ids, photo_ids, sorter=order)
        pos = np.clip(pos, 0, max(len(self.ids) - 1, 0))
        found = order[pos] if len(self.ids) else np.zeros(0, dtype=np.int64)
        keep = self.ids[found] == photo_ids if len(self.ids) else np.zeros(0, dtype=bool)
        return found[keep]


class Library:
    def __init__(self, db: str | None = None, model: str | ModelSpec | None = None,
                 embedder: Embedder | None = None):
        self.db = Database(db or default_db_url())
        self.spec = model if isinstance(model, ModelSpec) else parse_model_spec(model or default_model_spec())
        self._embedder = embedder
        self._model_key: str | None = embedder.key if embedder else None
        self._lock = threading.RLock()
        self._vectors: VectorSet | None = None
        self._spaces: SpaceIndex | None = None

    def close(self) -> None:
        if self._spaces is not None:
            self._spaces.close()
            self._spaces = None
        self.db.close()

    # ------------------------------------------------------------------ vector index
    def index_directory(self) -> str | None:
        """Where hnsw graphs are persisted: next to a SQLite file, else in the data folder."""
        db_file = sqlite_file(self.db.url)
        if db_file is not None:
            return str(db_file.with_name(db_file.name + ".vindex"))
        if ":memory:" in self.db.url:
            return None
        import hashlib

        from photolens.config import data_dir

        return str(data_dir() / "vindex" / hashlib.sha1(self.db.url.encode()).hexdigest()[:12])

    @property
    def spaces(self) -> SpaceIndex:
        """The vector index layer (exact, or hnsw for large libraries), created on first search."""
        with self._lock:
            if self._spaces is None:
                from photolens.vindex import IndexManager, IndexSettings

                mode = self.setting("index_mode", "auto")
                settings = IndexSettings(mode=mode if mode in ("auto", "exact", "hnsw") else "auto")
                self._spaces = SpaceIndex(IndexManager(self.index_directory(), settings), self.model_key)
            return self._spaces

    def setting(self, key: str, default=None):
        from photolens.browse import get_setting

        return get_setting(self.db, key, default)

    def space_vectors(self, space: Space = RAW_SPACE) -> tuple[np.ndarray, np.ndarray]:
        """(photo ids, unit vectors in ``space``) for all live photos, kept in step with the store."""
        return self.spaces.sync(space, self.vectors())

    # ------------------------------------------------------------------ model
    @property
    def model_key(self) -> str:
        """The current model's key; computable without loading the model. A local model whose files are
        gone gets a placeholder key, so browsing and metadata-only indexing still work (loading the model
        then reports what is missing)."""
        if self._model_key is None:
            from photolens.errors import ModelUnavailableError

            try:
                self._model_key = self.spec.key
            except ModelUnavailableError:
                return f"unavailable:{self.spec.text}"
        return self._model_key

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use (seconds); raises ModelUnavailableError with guidance."""
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.spec)
                self._model_key = self._embedder.key
            self._check_dimension(self._embedder)
            return self._embedder

    @property
    def embedder_loaded(self) -> bool:
        return self._embedder is not None

    def _check_dimension(self, embedder: Embedder) -> None:
        with self.db.session() as session:
            register_model(session, embedder.key, embedder.spec.text, embedder.dim)

    def indexer(self, options: IndexOptions | None = None) -> Indexer:
        return Indexer(self.db, lambda: self.embedder, self.model_key, options)

    def index(self, roots: list[str], cancel: threading.Event | None = None,
              options: IndexOptions | None = None) -> Iterator[IndexProgress]:
        try:
            yield from self.indexer(options).run(roots, cancel)
        finally:
            self._vectors = None

    def remove_root(self, path: str) -> bool:
        """Stop indexing a folder: its photos leave results at once and are forgotten after the grace period
        (re-adding the folder in time revives them without any model pass). Nothing on disk is touched."""
        from sqlalchemy import delete, update

        from photolens.store.schema import utcnow

        folder = os.path.abspath(path)
        with self.db.session() as session:
            removed = session.execute(delete(LibraryRoot).where(LibraryRoot.path == folder)).rowcount
            others = [r for r in session.scalars(select(LibraryRoot.path))]
            hidden = under_any(Photo.path, [folder], [folder])
            still_rooted = under_any(Photo.path, others, others)
            session.execute(update(Photo).where(hidden, ~still_rooted, Photo.missing_since.is_(None))
                            .values(missing_since=utcnow()))
        self._vectors = None
        return bool(removed)

    def roots(self) -> list[str]:
        with self.db.session() as session:
            return list(session.scalars(select(LibraryRoot.path).order_by(LibraryRoot.path)))

    # ------------------------------------------------------------------ vectors
    def _signature(self, session) -> tuple:
        count = session.scalar(select(func.count()).select_from(Embedding).where(Embedding.model_key == self.model_key))
        latest = session.scalar(select(func.max(Photo.updated_at)))
        missing = session.scalar(select(func.count()).select_from(Photo).where(Photo.missing_since.is_not(None)))
        return (self.model_key, count, latest, missing)

    def vectors(self) -> VectorSet:
        """Live photos' vectors of the current model, cached until the store changes."""
        with self._lock, self.db.session() as session:
            signature = self._signature(session)
            if self._vectors is not None and self._vectors.signature == signature:
                return self._vectors
            record = session.get(ModelRecord, self.model_key)
            rows = session.execute(
                select(Embedding.photo_id, Embedding.vector)
                .join(Photo, Photo.id == Embedding.photo_id)
                .where(Embedding.model_key == self.model_key, Photo.missing_since.is_(None))
                .order_by(Embedding.photo_id)
            ).all()
            dim = record.dim if record else (self._embedder.dim if self._embedder else 0)
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            matrix = from_blobs([r[1] for r in rows], dim)
            self._vectors = VectorSet(ids, matrix, signature)
            return self._vectors

    def allowed_ids(self, search_filter: SearchFilter) -> np.ndarray | None:
        """Photo ids passing ``search_filter`` (``None`` when it filters nothing)."""
        if not search_filter.active:
            return None
        stmt = select(Photo.id).where(Photo.missing_since.is_(None))
        if search_filter.folder:
            folder = os.path.abspath(search_filter.folder)
            stmt = stmt.where(under_any(Photo.path, [folder], [folder]))
        if search_filter.taken_after:
            stmt = stmt.where(Photo.taken_at >= search_filter.taken_after)
        if search_filter.taken_before:
            stmt = stmt.where(Photo.taken_at <= search_filter.taken_before)
        with self.db.session() as session:
            return np.fromiter(session.scalars(stmt), dtype=np.int64)

    def text_vectors(self, texts: list[str]) -> np.ndarray:
        """Text embeddings, cached in the store per model (lens prompts are encoded once)."""
        unique = list(dict.fromkeys(texts))
        with self.db.session() as session:
            cached = {}
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                cached.update(session.execute(
                    select(TextEmbedding.text, TextEmbedding.vector)
                    .where(TextEmbedding.model_key == self.model_key, TextEmbedding.text.in_(chunk))).all())
        missing = [t for t in unique if t not in cached]
        if missing:
            fresh = self.embedder.encode_texts(missing)
            with self.db.session() as session:
                for text, vector in zip(missing, fresh):
                    blob = to_blob(vector)
                    session.merge(TextEmbedding(model_key=self.model_key, text=text, vector=blob))
                    cached[text] = blob
        dim = len(next(iter(cached.values()))) // 2 if cached else 0
        return from_blobs([cached[t] for t in texts], dim)

    def photo_id(self, path: str) -> int | None:
        db_path, _ = to_db_path(os.path.abspath(path))
        with self.db.session() as session:
            return session.scalar(select(Photo.id).where(Photo.path == db_path))

    def photo_vector(self, path: str) -> np.ndarray:
        """A photo's vector: the stored one if it is in the library, else embedded now."""
        pid = self.photo_id(path)
        if pid is not None:
            with self.db.session() as session:
                blob = session.scalar(select(Embedding.vector).where(
                    Embedding.photo_id == pid, Embedding.model_key == self.model_key))
            if blob is not None:
                return from_blobs([blob], len(blob) // 2)[0]
        if not os.path.exists(path):
            raise QueryError(f"Photo not found: {path}")
        embedder = self.embedder
        pre = embedder.preprocessing
        try:
            decoded = decode_for_model(path, pre.image_size, pre.interpolation, pre.resize_mode)
        except ImageError as exc:
            raise QueryError(f"Cannot use {path} as a query photo: {exc}") from exc
        return embedder.encode_pixels(decoded.pixels[None].copy())[0]  # writable: torch warns on read-only arrays

    def term_vectors(self, terms: list[Term]) -> np.ndarray:
        texts = [t.value for t in terms if t.kind == "text"]
        text_vecs = iter(self.text_vectors(texts)) if texts else iter(())
        return np.stack([next(text_vecs) if t.kind == "text" else self.photo_vector(t.value) for t in terms])

    def query_vector(self, query: str | list[Term]) -> np.ndarray:
        terms = parse_query(query) if isinstance(query, str) else query
        return combine(self.term_vectors(terms), [t.weight for t in terms])

    # ------------------------------------------------------------------ search
    def search_vector(self, query: np.ndarray, limit: int = 20, search_filter: SearchFilter | None = None,
                      exclude: set[int] | None = None, space: Space = RAW_SPACE) -> list[SearchHit]:
        """Best ``limit`` live photos for a raw-space query vector, searched in ``space``."""
        vectors = self.vectors()
        if vectors.matrix.shape[0] == 0:
            return []
        if vectors.matrix.shape[1] != query.shape[-1]:
            raise EmbeddingDimensionError(
                f"The query has {query.shape[-1]} dimensions but the library's vectors have "
                f"{vectors.matrix.shape[1]}: they come from different models.")
        self.spaces.sync(space, vectors)
        allowed = self.allowed_ids(search_filter or SearchFilter())
        if allowed is not None and allowed.size == 0:
            return []
        exclude = exclude or set()
        want = limit + len(exclude)
        while True:
            found = self.spaces.search(space, space.project(query), want + 4, allowed)
            hits = [(int(i), float(s)) for i, s in zip(found.ids[0], found.scores[0]) if i >= 0 and int(i) not in exclude]
            resolved = self._resolve(hits)
            if len(resolved) >= limit or len(hits) < want or want >= vectors.matrix.shape[0]:
                return resolved[:limit]
            want *= 4  # some hits were files deleted since the last scan: look further

    def _resolve(self, hits: list[tuple[int, float]]) -> list[SearchHit]:
        """Paths for hits; files deleted since the last scan are dropped at once (a stat per hit)."""
        if not hits:
            return []
        with self.db.session() as session:
            paths = {pid: from_db_path(p, raw) for pid, p, raw in session.execute(
                select(Photo.id, Photo.path, Photo.raw_path).where(Photo.id.in_([h[0] for h in hits])))}
        return [SearchHit(pid, paths[pid], score) for pid, score in hits
                if pid in paths and os.path.exists(paths[pid])]

    def search(self, query: str | list[Term], limit: int = 20, search_filter: SearchFilter | None = None) -> list[SearchHit]:
        return self.search_vector(self.query_vector(query), limit, search_filter)

    def similar(self, path: str, limit: int = 20, search_filter: SearchFilter | None = None) -> list[SearchHit]:
        """Photos most like ``path`` (a library photo or any image file), itself excluded."""
        pid = self.photo_id(path)
        return self.search_vector(self.photo_vector(path), limit, search_filter,
                                  exclude={pid} if pid is not None else None)

    # ------------------------------------------------------------------ status
    def status(self) -> dict:
        with self.db.session() as session:
            live = Photo.missing_since.is_(None)
            count = lambda *where: session.scalar(select(func.count()).select_from(Photo).where(*where))  # noqa: E731
            embedded = session.scalar(
                select(func.count()).select_from(Embedding).join(Photo, Photo.id == Embedding.photo_id)
                .where(Embedding.model_key == self.model_key, live))
            models = {key: n for key, n in session.execute(
                select(Embedding.model_key, func.count()).group_by(Embedding.model_key))}
            return {
                "database": self.db.url,
                "model": self.spec.text,
                "model_key": self.model_key,
                "roots": self.roots(),
                "photos": count(live),
                "embedded": embedded,
                "failed": count(live, Photo.error.is_not(None)),
                "missing": count(Photo.missing_since.is_not(None)),
                "vectors_by_model": models,
            }

    def failures(self, limit: int = 1000) -> list[tuple[str, str]]:
        with self.db.session() as session:
            return [(from_db_path(p, raw), err) for p, raw, err in session.execute(
                select(Photo.path, Photo.raw_path, Photo.error)
                .where(Photo.error.is_not(None), Photo.missing_since.is_(None)).order_by(Photo.path).limit(limit))]

    def clear_failures(self, roots: list[str]) -> int:
        """Forget past decode failures under ``roots`` so the next run tries those files again."""
        from sqlalchemy import update

        roots = [os.path.abspath(r) for r in roots]
        with self.db.session() as session:
            result = session.execute(update(Photo).where(
                Photo.error.is_not(None), under_any(Photo.path, roots, roots)).values(error=None))
            return result.rowcount or 0
