"""Lenses inside a library: saved definitions, fits per model, and their use in search, group and cluster.

A lens is stored once (its definition); its projection is fitted per model from the prompts' text
embeddings (cached in the store, so refitting costs milliseconds) and kept in ``lens_fits``. Switching
model refits automatically; editing a definition invalidates its fit through a hash of the definition.
Photos' lens-space vectors are derived from the stored CLIP vectors (no model pass) and served by the
vector index layer like the raw space.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import delete, select

from photolens.lenses.cluster import Clustering, cluster
from photolens.lenses.definition import LensDefinition
from photolens.lenses.errors import LensDefinitionError, LensError
from photolens.lenses.fit import FIT_RECIPE, LOW_SPREAD, fit_definition, spread, value_means
from photolens.lenses.group import Grouping, definition_anchors, group_by_lens
from photolens.lenses.presets import list_presets, load_preset
from photolens.search import SearchFilter, SearchHit
from photolens.spaces import Space
from photolens.store.schema import Lens, LensFit

if TYPE_CHECKING:
    from photolens.library import Library

def definition_hash(definition: LensDefinition) -> str:
    """Identity of a fit: the definition plus the fitting recipe (a new recipe refits stored lenses)."""
    payload = json.dumps({"fit": FIT_RECIPE, "lens": definition.to_dict()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ActiveLens:
    """A lens ready to use with the current model."""

    definition: LensDefinition
    matrix: np.ndarray  # U, float32 (k, d)
    anchors: np.ndarray  # (values, k): each value word's projected prompt mean
    loss: float
    space: Space
    warning: str | None = None

    @property
    def name(self) -> str:
        return self.definition.name


class LensService:
    """Everything the CLI and GUI do with lenses, on one :class:`Library`."""

    def __init__(self, library: Library):
        self.library = library
        self._active: dict[str, ActiveLens] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ definitions
    def list_lenses(self) -> list[LensDefinition]:
        with self.library.db.session() as session:
            rows = session.execute(select(Lens.name, Lens.definition).order_by(Lens.name)).all()
        return [LensDefinition.from_json(text, source=f"saved lens {name!r}") for name, text in rows]

    def presets(self) -> list[str]:
        return list_presets()

    def load_preset(self, name: str) -> LensDefinition:
        return load_preset(name)

    def saved(self, name: str) -> LensDefinition | None:
        with self.library.db.session() as session:
            text = session.scalar(select(Lens.definition).where(Lens.name == name))
        return None if text is None else LensDefinition.from_json(text, source=f"saved lens {name!r}")

    def get_lens(self, name: str) -> LensDefinition:
        """A saved lens, or a preset of that name. Looking a preset up saves nothing: it is saved when it is
        first used successfully (:meth:`remember_preset`), so a failed command leaves no trace."""
        definition = self.saved(name)
        if definition is not None:
            return definition
        if name in list_presets():
            return load_preset(name)
        saved = [d.name for d in self.list_lenses()]
        raise LensError(
            f"No lens called {name!r}. Saved: {', '.join(saved) or 'none'}. Presets: {', '.join(list_presets())}. "
            'Create one with `photolens lens create NAME --values "a, b, c"`.'
        )

    def save_lens(self, definition: LensDefinition, replace: bool = True) -> None:
        with self.library.db.session() as session:
            row = session.scalar(select(Lens).where(Lens.name == definition.name))
            if row is not None and not replace:
                raise LensDefinitionError(
                    f"A lens called {definition.name!r} already exists; replace it (--replace), delete it first "
                    "or choose another name."
                )
            if row is None:
                session.add(Lens(name=definition.name, definition=definition.to_json()))
            elif row.definition != definition.to_json():
                row.definition = definition.to_json()
                session.execute(delete(LensFit).where(LensFit.lens_id == row.id))
        self._forget(definition.name)

    def delete_lens(self, name: str) -> bool:
        with self.library.db.session() as session:
            deleted = session.execute(delete(Lens).where(Lens.name == name)).rowcount
        self._forget(name)
        return bool(deleted)

    def import_lens(self, path: str, replace: bool = False) -> LensDefinition:
        definition = LensDefinition.load(path)
        self.save_lens(definition, replace=replace)
        return definition

    def export_lens(self, name: str, path: str) -> None:
        self.get_lens(name).save(path)

    def _forget(self, name: str) -> None:
        with self._lock:
            active = self._active.pop(name, None)
        if active is not None:
            self.library.spaces.forget(active.space.key)

    # ------------------------------------------------------------------ fitting
    def activate(self, lens: str | LensDefinition) -> ActiveLens:
        """The lens fitted for the current model: from the store, or fitted now (and stored if saved)."""
        definition = self.get_lens(lens) if isinstance(lens, str) else lens
        digest = definition_hash(definition)
        with self._lock:
            cached = self._active.get(definition.name)
            if cached is not None and definition_hash(cached.definition) == digest:
                return cached
            prompts = definition.prompts()
            prompt_vectors = self.library.text_vectors(prompts)
            matrix, loss = self._stored_fit(definition.name, digest, prompt_vectors.shape[1])
            if matrix is None:
                fitted = fit_definition(definition, prompt_vectors)
                matrix, loss = fitted.matrix, fitted.loss
                self._store_fit(definition.name, digest, matrix, loss)
            anchors = definition_anchors(definition, matrix, prompt_vectors)
            space = Space(key=f"lens-{digest[:16]}", projection=matrix)
            word_spread = spread(value_means(prompt_vectors, definition.prompt_owners(), len(definition.values)))
            warning = None
            if word_spread < LOW_SPREAD:
                warning = (f"The words of lens {definition.name!r} barely change the model's embedding "
                           f"(spread {word_spread:.4f}): its groups will be unreliable. Try more distinct words.")
            active = ActiveLens(definition, matrix, anchors, loss, space, warning)
            if self._is_current(definition):
                self._active[definition.name] = active
            return active

    def _is_current(self, definition: LensDefinition) -> bool:
        """True when ``definition`` is what its name stands for (the saved lens, or the unsaved preset)."""
        saved = self.saved(definition.name)
        if saved is not None:
            return saved == definition
        return definition.name in list_presets() and load_preset(definition.name) == definition

    def remember_preset(self, lens: str | LensDefinition) -> None:
        """Save a preset the first time it was used successfully, with its fit (so it shows in the lists and
        is not fitted again); anything else is left alone."""
        name = lens if isinstance(lens, str) else lens.name
        if self.saved(name) is not None or name not in list_presets():
            return
        with self._lock:
            active = self._active.get(name)
        definition = load_preset(name)
        with self.library.db.session() as session:
            session.add(Lens(name=name, definition=definition.to_json()))
        if active is not None and active.definition == definition:
            self._store_fit(name, definition_hash(definition), active.matrix, active.loss)

    def _stored_fit(self, name: str, digest: str, dim_in: int) -> tuple[np.ndarray | None, float]:
        with self.library.db.session() as session:
            row = session.execute(
                select(LensFit.matrix, LensFit.dim_in, LensFit.dim_out, LensFit.loss, LensFit.definition_hash)
                .join(Lens, Lens.id == LensFit.lens_id)
                .where(Lens.name == name, LensFit.model_key == self.library.model_key)
            ).first()
        if row is None or row.definition_hash != digest or row.dim_in != dim_in:
            return None, float("nan")
        matrix = np.frombuffer(row.matrix, dtype="<f4").reshape(row.dim_out, row.dim_in).copy()
        return matrix, row.loss

    def _store_fit(self, name: str, digest: str, matrix: np.ndarray, loss: float) -> None:
        with self.library.db.session() as session:
            lens_id = session.scalar(select(Lens.id).where(Lens.name == name))
            if lens_id is None:
                return  # an unsaved lens (editor preview): nothing to store
            session.merge(
                LensFit(
                    lens_id=lens_id,
                    model_key=self.library.model_key,
                    definition_hash=digest,
                    dim_in=matrix.shape[1],
                    dim_out=matrix.shape[0],
                    matrix=np.asarray(matrix, dtype="<f4").tobytes(),
                    loss=float(loss),
                )
            )

    def fit_info(self, name: str) -> dict:
        active = self.activate(name)
        return {
            "name": active.name,
            "model_key": self.library.model_key,
            "dim_in": active.matrix.shape[1],
            "dim_out": active.matrix.shape[0],
            "loss": active.loss,
            "prompts": len(active.definition.prompts()),
            "warning": active.warning,
        }

    # ------------------------------------------------------------------ use
    def search(
        self,
        lens: str | LensDefinition,
        query: str,
        limit: int = 20,
        search_filter: SearchFilter | None = None,
    ) -> list[SearchHit]:
        """Text (or photo-term) query projected into the lens space too."""
        active = self.activate(lens)
        hits = self.library.search_vector(
            self.library.query_vector(query), limit, search_filter, space=active.space
        )
        self.remember_preset(lens)
        return hits

    def similar(
        self,
        lens: str | LensDefinition,
        path: str,
        limit: int = 20,
        search_filter: SearchFilter | None = None,
    ) -> list[SearchHit]:
        active = self.activate(lens)
        pid = self.library.photo_id(path)
        hits = self.library.search_vector(
            self.library.photo_vector(path),
            limit,
            search_filter,
            exclude={pid} if pid is not None else None,
            space=active.space,
        )
        self.remember_preset(lens)
        return hits

    def lens_vectors(
        self, lens: str | LensDefinition, photo_ids: np.ndarray | None = None
    ) -> tuple[ActiveLens, np.ndarray, np.ndarray]:
        """(lens, photo ids, their lens-space vectors); ``photo_ids`` absent from the index are skipped."""
        active = self.activate(lens)
        ids, vectors = self.library.space_vectors(active.space)
        if photo_ids is None:
            return active, ids, vectors
        wanted = np.asarray(photo_ids, dtype=np.int64)
        order = np.argsort(ids)
        pos = np.clip(np.searchsorted(ids, wanted, sorter=order), 0, max(len(ids) - 1, 0))
        rows = order[pos] if len(ids) else np.zeros(0, dtype=np.int64)
        keep = (ids[rows] == wanted) if len(ids) else np.zeros(len(wanted), dtype=bool)
        return active, wanted[keep], vectors[rows[keep]]

    def group(
        self,
        lens: str | LensDefinition,
        photo_ids: np.ndarray | None = None,
        unsure_margin: float | None = None,
    ) -> Grouping:
        """Each photo to its nearest value word. Rows align with ``photo_ids`` (all live photos when None);
        photos without a vector get value -1 (in no section)."""
        active, ids, vectors = self.lens_vectors(lens, photo_ids)
        grouping = group_by_lens(vectors, active.anchors, active.definition.values, unsure_margin)
        aligned = _align(grouping, ids, photo_ids)
        self.remember_preset(lens)
        return aligned

    def cluster(
        self, lens: str | LensDefinition, photo_ids: np.ndarray | None = None, k: int | None = None
    ) -> Clustering:
        """Clusters in lens space named by the nearest value words; rows align with ``photo_ids``."""
        active, ids, vectors = self.lens_vectors(lens, photo_ids)
        if len(ids) < 2:
            raise LensError("Clustering needs at least two indexed photos.")
        if k is not None and not 1 <= k <= len(ids):
            raise LensError(f"k must lie between 1 and the number of photos ({len(ids)}).")
        result = cluster(vectors, k=k, anchors=active.anchors, values=active.definition.values)
        if photo_ids is not None and len(ids) != len(photo_ids):
            result = _align_clustering(result, ids, np.asarray(photo_ids, dtype=np.int64))
        self.remember_preset(lens)
        return result

    def grouped_ids(self, lens: str | LensDefinition, photo_ids: np.ndarray | None = None):
        """Convenience for the CLI: the ids the rows of :meth:`group` / :meth:`cluster` refer to."""
        return photo_ids if photo_ids is not None else self.lens_vectors(lens)[1]


def _align(grouping: Grouping, ids: np.ndarray, photo_ids: np.ndarray | None) -> Grouping:
    if photo_ids is None or len(ids) == len(photo_ids):
        return grouping
    wanted = np.asarray(photo_ids, dtype=np.int64)
    rows = {int(pid): i for i, pid in enumerate(ids)}
    index = np.array([rows.get(int(p), -1) for p in wanted], dtype=np.int64)
    present = index >= 0
    value = np.full(len(wanted), -1, dtype=np.int64)
    score = np.full(len(wanted), np.nan, dtype=np.float32)
    margin = np.zeros(len(wanted), dtype=np.float32)
    unsure = np.zeros(len(wanted), dtype=bool)
    value[present] = grouping.value[index[present]]
    score[present] = grouping.score[index[present]]
    margin[present] = grouping.margin[index[present]]
    unsure[present] = grouping.unsure[index[present]]
    return Grouping(grouping.values, value, score, margin, unsure, grouping.threshold)


def _align_clustering(result: Clustering, ids: np.ndarray, wanted: np.ndarray) -> Clustering:
    from dataclasses import replace

    rows = {int(pid): i for i, pid in enumerate(ids)}
    index = np.array([rows.get(int(p), -1) for p in wanted], dtype=np.int64)
    labels = np.full(len(wanted), -1, dtype=np.int64)
    labels[index >= 0] = result.labels[index[index >= 0]]
    back = {i: j for j, i in enumerate(index) if i >= 0}
    clusters = [
        replace(info, representatives=np.array([back[int(r)] for r in info.representatives], dtype=np.int64))
        for info in result.clusters
    ]
    return replace(result, labels=labels, clusters=clusters)


def open_service(library: Library) -> LensService:
    return LensService(library)
