"""Test doubles for the embedder: a counting wrapper around the real tiny model, and a planted-vector
embedder whose outputs are chosen by the test (random weights carry no meaning, planted vectors do)."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import numpy as np

from photolens.embedding.embedder import Preprocessing
from photolens.embedding.spec import parse_model_spec
from photolens.paths import to_db_path
from photolens.store.database import Database
from photolens.store.schema import Embedding, ModelRecord, Photo
from photolens.vectors import normalize, to_blob


class CountingEmbedder:
    """Delegates to a real embedder, counts ``encode_pixels`` calls and images, and can forbid them."""

    def __init__(self, inner: Any, forbid: bool = False):
        self.inner = inner
        self.forbid = forbid
        self.pixel_calls = 0
        self.images = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        if self.forbid:
            raise AssertionError("the model was asked to embed photos although nothing needed it")
        self.pixel_calls += 1
        self.images += len(pixels)
        return self.inner.encode_pixels(pixels)


PLANTED_SPEC = "planted-arch:planted-tag"


class PlantedEmbedder:
    """Text vectors come from a dict the test fills; image vectors from a per-image-size lookup."""

    def __init__(self, texts: dict[str, np.ndarray], dim: int):
        self.spec = parse_model_spec(PLANTED_SPEC)
        self.key = self.spec.key
        self.dim = dim
        self.texts = {k: normalize(v) for k, v in texts.items()}
        self.preprocessing = Preprocessing(image_size=16, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
        self.text_calls: list[list[str]] = []

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        self.text_calls.append(list(texts))
        return np.stack([self.texts[t] for t in texts]).astype(np.float32)

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        raise AssertionError("planted tests never embed pixels")


def plant_photos(db: Database, model_key: str, photos: dict[str, np.ndarray],
                 taken: dict[str, dt.datetime] | None = None,
                 missing: set[str] = frozenset()) -> dict[str, int]:  # type: ignore[assignment]
    """Insert photo rows at the given absolute paths with the given vectors; returns path → id.

    The files are created too (empty): search drops hits whose file no longer exists.
    """
    taken = taken or {}
    for path in photos:
        if path not in missing:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "ab").close()
    dim = len(next(iter(photos.values())))
    ids = {}
    with db.session() as session:
        if session.get(ModelRecord, model_key) is None:
            session.add(ModelRecord(key=model_key, spec=model_key, dim=dim))
        for path, vector in photos.items():
            db_path, raw = to_db_path(path)
            photo = Photo(path=db_path, raw_path=raw, folder=os.path.dirname(db_path), size=1, mtime_ns=1,
                          metadata_read=True, taken_at=taken.get(path),
                          missing_since=dt.datetime(2020, 1, 1) if path in missing else None)
            session.add(photo)
            session.flush()
            session.add(Embedding(photo_id=photo.id, model_key=model_key, vector=to_blob(normalize(vector))))
            ids[path] = photo.id
    return ids
