"""The database schema (SQLAlchemy 2 ORM). Changes to it always come with an Alembic migration in
``photolens/migrations/versions``; ``tests/test_store.py`` checks the two agree."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class LibraryRoot(Base):
    """A folder (or file) the user asked us to index."""

    __tablename__ = "library_roots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Photo(Base):
    """One photo file. ``path`` is the display path (UTF-8); ``raw_path`` holds the exact bytes only for
    names that are not valid UTF-8, so such files can still be reopened."""

    __tablename__ = "photos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    raw_path: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    folder: Mapped[str] = mapped_column(Text, index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    image_format: Mapped[str | None] = mapped_column(String(16), nullable=True)
    taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    camera_make: Mapped[str | None] = mapped_column(String(200), nullable=True)
    camera_model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    gps_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    gps_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    orientation: Mapped[int | None] = mapped_column(Integer, nullable=True)
    metadata_read: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    missing_since: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ModelRecord(Base):
    """A model whose vectors are stored, with the embedding size they must have."""

    __tablename__ = "models"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    spec: Mapped[str] = mapped_column(Text)
    dim: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Embedding(Base):
    """One photo's vector for one model: float16 little-endian, L2-normalised before rounding.

    float16 halves the store (1 KiB per photo at 512-d) and changes cosines by ~1e-3, far below the gaps
    that decide a ranking; int8 would halve it again but costs visible recall on near-duplicates.
    """

    __tablename__ = "embeddings"
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    model_key: Mapped[str] = mapped_column(ForeignKey("models.key", ondelete="CASCADE"), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_embeddings_model", "model_key"),)


class TextEmbedding(Base):
    """Cache of text vectors (lens prompts, frequent queries) per model."""

    __tablename__ = "text_embeddings"
    model_key: Mapped[str] = mapped_column(ForeignKey("models.key", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(Text, primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class Lens(Base):
    """A saved lens definition (JSON of :class:`photolens.lenses.definition.LensDefinition`)."""

    __tablename__ = "lenses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    definition: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class LensFit(Base):
    """A lens's projection matrix for one model (float32, ``dim_out × dim_in``)."""

    __tablename__ = "lens_fits"
    lens_id: Mapped[int] = mapped_column(ForeignKey("lenses.id", ondelete="CASCADE"), primary_key=True)
    model_key: Mapped[str] = mapped_column(ForeignKey("models.key", ondelete="CASCADE"), primary_key=True)
    definition_hash: Mapped[str] = mapped_column(String(64))
    dim_in: Mapped[int] = mapped_column(Integer)
    dim_out: Mapped[int] = mapped_column(Integer)
    matrix: Mapped[bytes] = mapped_column(LargeBinary)
    loss: Mapped[float] = mapped_column(Float)
    fitted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Setting(Base):
    """Library-wide settings as JSON values (excludes, follow symlinks, index mode…)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
