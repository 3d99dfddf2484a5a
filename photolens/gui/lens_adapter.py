"""The one place where the GUI meets the lens engine.

The views only know :class:`Section` (a titled list of photo ids with a count) and :class:`LensSummary`.
This adapter asks the Qt-free lens service (``photolens.lenses.service``, when it is importable) for
lenses, groupings and clusterings and turns its results into sections. Without a service the adapter is
``available == False`` and the window hides every lens control; the rest of the app is unaffected.

What the adapter expects of a service object (duck-typed; see :class:`LensServiceProtocol`):

* ``list_lenses() -> list[LensDefinition]`` (saved lenses; presets may be included)
* ``get_lens(name) -> LensDefinition``
* ``save_lens(definition) -> None``
* ``group(name_or_definition, photo_ids: np.ndarray) -> Grouping`` (rows aligned with ``photo_ids``)
* ``cluster(name_or_definition, photo_ids: np.ndarray, k: int | None) -> Clustering``
* optional ``similar(name, path, limit, search_filter)`` / ``search(name, terms, limit, search_filter)``
  → ``list[SearchHit]``: "more like this" and text search through a lens
* optional ``presets() -> list[str]`` / ``load_preset(name) -> LensDefinition`` / ``delete_lens(name)``

Rows of a grouping or clustering whose value / label is -1 (photos without a vector) go to a
"Not indexed yet" section. Presets appear in the lens list before they are saved; the service saves a
preset the first time it is used.

``Grouping`` and ``Clustering`` are the dataclasses of :mod:`photolens.lenses.group` and
:mod:`photolens.lenses.cluster`. The service is built with ``factory(library)``: ``LensService(library)``
or a module function ``open_service(library)``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

SERVICE_MODULE = "photolens.lenses.service"
UNSURE_TITLE = "Unsure"
NOT_INDEXED_TITLE = "Not indexed yet"


@dataclass(frozen=True)
class Section:
    """A titled group of photos for the section views. ``kind``: value, unsure, cluster or empty."""

    key: str
    title: str
    photo_ids: tuple[int, ...]
    kind: str = "value"
    subtitle: str = ""

    @property
    def count(self) -> int:
        return len(self.photo_ids)


@dataclass(frozen=True)
class LensSummary:
    name: str
    description: str = ""
    values: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    builtin: bool = False


@dataclass
class LensFields:
    """What the lens editor edits (raw text, validated by :meth:`LensAdapter.validate`)."""

    name: str = ""
    description: str = ""
    values: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)


class LensServiceProtocol(Protocol):
    def list_lenses(self) -> list[Any]: ...

    def get_lens(self, name: str) -> Any: ...

    def save_lens(self, definition: Any) -> None: ...

    def group(self, lens: Any, photo_ids: np.ndarray) -> Any: ...

    def cluster(self, lens: Any, photo_ids: np.ndarray, k: int | None = None) -> Any: ...


def _summary(definition: Any, builtin: bool = False) -> LensSummary:
    return LensSummary(str(definition.name), str(getattr(definition, "description", "") or ""),
                       tuple(getattr(definition, "values", ()) or ()), tuple(getattr(definition, "templates", ()) or ()),
                       builtin)


def sections_from_grouping(photo_ids: Sequence[int] | np.ndarray, grouping: Any) -> list[Section]:
    """One section per value word (definition order; best-scoring photos first) plus the unsure bucket.

    Values no photo went to come back as ``kind="empty"`` sections so a view can list them compactly.
    """
    ids = np.asarray(photo_ids, dtype=np.int64)
    value = np.asarray(grouping.value)
    score = np.asarray(grouping.score)
    unsure = np.asarray(grouping.unsure, dtype=bool)
    if len(ids) != len(value):
        raise ValueError(f"grouping has {len(value)} rows for {len(ids)} photos")
    sections = []
    for i, word in enumerate(grouping.values):
        rows = np.flatnonzero((value == i) & ~unsure)
        rows = rows[np.argsort(-score[rows], kind="stable")]
        kind = "value" if len(rows) else "empty"
        sections.append(Section(f"value:{word}", str(word), tuple(int(x) for x in ids[rows]), kind))
    rows = np.flatnonzero(unsure & (value >= 0))
    if len(rows):
        margin = np.asarray(grouping.margin)
        rows = rows[np.argsort(-margin[rows], kind="stable")]
        sections.append(Section("unsure", UNSURE_TITLE, tuple(int(x) for x in ids[rows]), "unsure",
                                "photos whose best two words score almost the same"))
    rows = np.flatnonzero(value < 0)  # photos the lens cannot see yet (not embedded)
    if len(rows):
        sections.append(Section("unindexed", NOT_INDEXED_TITLE, tuple(int(x) for x in ids[rows]), "unindexed",
                                "not indexed with the current model yet"))
    return sections


#: A cluster is named by its nearest words whose weight is at least this share of the best word's weight:
#: 0.87 / 0.04 / 0.02 give one word, 0.95 / 0.49 / 0.43 (a clear colour cluster; the runner-up cosines are
#: what any colour word scores) give one, 0.61 / 0.55 / 0.20 (a cluster between two words) give two.
NAME_SHARE = 0.8


def meaningful_names(names: Sequence[tuple[str, float]], share: float = NAME_SHARE) -> list[str]:
    """The words of a cluster's name that carry weight: the best one, and the others within ``share`` of it."""
    if not names:
        return []
    best = float(names[0][1])
    if best <= 0:
        return [str(names[0][0])]
    return [str(word) for word, weight in names if float(weight) >= share * best]


def sections_from_clustering(photo_ids: Sequence[int] | np.ndarray, clustering: Any) -> list[Section]:
    """One section per cluster, largest first, named by its nearest value words; representatives lead."""
    ids = np.asarray(photo_ids, dtype=np.int64)
    labels = np.asarray(clustering.labels)
    if len(ids) != len(labels):
        raise ValueError(f"clustering has {len(labels)} rows for {len(ids)} photos")
    sections = []
    for info in clustering.clusters:
        members = np.flatnonzero(labels == info.index)
        reps = [int(r) for r in np.asarray(info.representatives) if labels[int(r)] == info.index]
        rest = [int(r) for r in members if int(r) not in set(reps)]
        order = reps + rest
        names = meaningful_names(info.names)
        title = " · ".join(names) if names else f"Cluster {info.index + 1}"
        subtitle = ", ".join(f"{word} {score:.2f}" for word, score in info.names)
        sections.append(Section(f"cluster:{info.index}", title, tuple(int(ids[r]) for r in order), "cluster", subtitle))
    sections.sort(key=lambda s: (-s.count, s.key))
    seen: dict[str, int] = {}
    for n, section in enumerate(sections):  # two clusters can share their nearest words: number them
        seen[section.title] = seen.get(section.title, 0) + 1
        if seen[section.title] > 1:
            sections[n] = Section(section.key, f"{section.title} ({seen[section.title]})", section.photo_ids,
                                  section.kind, section.subtitle)
    rows = np.flatnonzero(labels < 0)  # photos the lens cannot see yet (not embedded)
    if len(rows):
        sections.append(Section("unindexed", NOT_INDEXED_TITLE, tuple(int(x) for x in ids[rows]), "unindexed",
                                "not indexed with the current model yet"))
    return sections


def _empty_grouping(values: Sequence[str], n: int) -> Any:
    from photolens.lenses.group import Grouping

    return Grouping(tuple(values), np.full(n, -1, dtype=np.int64), np.zeros(n, np.float32), np.zeros(n, np.float32),
                    np.zeros(n, dtype=bool), 0.0)


def _load_service_factory() -> tuple[Any, str]:
    try:
        module = importlib.import_module(SERVICE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name and SERVICE_MODULE.startswith(exc.name):
            return None, "Lenses are not available in this build (no lens service)."
        log.warning("lens service failed to import: %s", exc)
        return None, f"Lenses are unavailable: {exc}"
    except Exception as exc:  # noqa: BLE001 - a broken service must not take the app down
        log.warning("lens service failed to import: %s", exc)
        return None, f"Lenses are unavailable: {exc}"
    factory = getattr(module, "LensService", None) or getattr(module, "open_service", None)
    if factory is None:
        return None, "Lenses are unavailable: the lens service has no LensService."
    return factory, ""


class LensAdapter:
    """Lens operations for the GUI. Every method may be slow: call it from a worker, not the GUI thread."""

    def __init__(self, library: Any, service: Any = None, discover: bool = True):
        self.library = library
        self.reason = ""
        if service is None and discover:
            factory, self.reason = _load_service_factory()
            if factory is not None:
                try:
                    service = factory(library)
                except Exception as exc:  # noqa: BLE001
                    log.warning("lens service failed to start: %s", exc)
                    self.reason = f"Lenses are unavailable: {exc}"
        elif service is None:
            self.reason = "Lenses are not available in this build (no lens service)."
        self.service = service

    @property
    def available(self) -> bool:
        return self.service is not None

    # ---- lenses
    def list_lenses(self) -> list[LensSummary]:
        """Saved lenses, then the presets not saved yet (a preset is saved the first time it is used)."""
        if not self.available:
            return []
        saved = [_summary(d) for d in self.service.list_lenses()]
        names = {lens.name for lens in saved}
        presets = list(self.service.presets()) if hasattr(self.service, "presets") else []
        return saved + [LensSummary(name, builtin=True) for name in presets if name not in names]

    def delete(self, name: str) -> bool:
        remove = getattr(self.service, "delete_lens", None)
        return bool(remove(name)) if remove is not None else False

    @property
    def can_delete(self) -> bool:
        return self.available and hasattr(self.service, "delete_lens")

    def get(self, name: str) -> LensSummary:
        return _summary(self.service.get_lens(name))

    def presets(self) -> list[str]:
        if self.available and hasattr(self.service, "presets"):
            return list(self.service.presets())
        try:
            from photolens.lenses.presets import list_presets
        except ImportError:
            return []
        return list_presets()

    def preset(self, name: str) -> LensFields:
        if self.available and hasattr(self.service, "load_preset"):
            definition = self.service.load_preset(name)
        else:
            from photolens.lenses.presets import load_preset

            definition = load_preset(name)
        return LensFields(definition.name, definition.description, list(definition.values), list(definition.templates))

    def definition(self, fields: LensFields) -> Any:
        """A validated LensDefinition; raises LensDefinitionError with a user-facing message."""
        from photolens.lenses.definition import LensDefinition

        values = [v for v in (w.strip() for w in fields.values) if v]
        templates = [t for t in (w.strip() for w in fields.templates) if t] or ["a photo of {}"]
        return LensDefinition(name=fields.name, values=tuple(values), templates=tuple(templates),
                              description=fields.description)

    def validate(self, fields: LensFields) -> str | None:
        """None when ``fields`` make a valid lens, else the message to show."""
        from photolens.errors import PhotolensError

        try:
            self.definition(fields)
        except PhotolensError as exc:
            return str(exc)
        except ImportError:
            return "Lens definitions are not available in this build."
        return None

    def save(self, fields: LensFields) -> None:
        self.service.save_lens(self.definition(fields))

    # ---- views
    def group(self, lens: str | LensFields, photo_ids: Sequence[int]) -> list[Section]:
        target = self.definition(lens) if isinstance(lens, LensFields) else lens
        ids = np.asarray(photo_ids, dtype=np.int64)
        if len(ids) == 0:
            return []
        return sections_from_grouping(ids, self.service.group(target, ids))

    def cluster(self, lens: str, photo_ids: Sequence[int], k: int | None = None) -> list[Section]:
        ids = np.asarray(photo_ids, dtype=np.int64)
        if len(ids) < 2:
            return [Section("cluster:0", "All photos", tuple(int(i) for i in ids), "cluster")] if len(ids) else []
        return sections_from_clustering(ids, self.service.cluster(lens, ids, k or None))

    def space(self, lens: str) -> Any:
        """The lens's search space for the current model (fitted on first use), for the retrieval service."""
        return self.service.activate(lens).space

    def preview_group(self, fields: LensFields, photo_ids: Sequence[int]) -> list[Section]:
        """Groups of a lens being edited, on a sample: only the sample is projected (no lens space is made,
        so typing in the editor never builds an index of the whole library)."""
        from photolens.lenses.group import group_by_lens
        from photolens.lenses.project import project

        ids = np.asarray(photo_ids, dtype=np.int64)
        if len(ids) == 0:
            return []
        if not hasattr(self.service, "activate"):  # a service without fitted lenses: its own grouping
            return self.group(fields, ids)
        active = self.service.activate(self.definition(fields))
        vectors = self.library.vectors()
        rows = vectors.rows_of(ids)
        present = vectors.ids[rows]
        if len(rows) == 0:  # nothing of the sample is embedded yet
            return sections_from_grouping(ids, _empty_grouping(active.definition.values, len(ids)))
        grouping = group_by_lens(project(active.matrix, vectors.matrix[rows]), active.anchors, active.definition.values)
        value = np.full(len(ids), -1, dtype=np.int64)
        score = np.zeros(len(ids), dtype=np.float32)
        margin = np.zeros(len(ids), dtype=np.float32)
        unsure = np.zeros(len(ids), dtype=bool)
        position = {int(pid): n for n, pid in enumerate(ids)}
        for row, pid in enumerate(present):
            n = position[int(pid)]
            value[n], score[n] = grouping.value[row], grouping.score[row]
            margin[n], unsure[n] = grouping.margin[row], grouping.unsure[row]
        aligned = type(grouping)(grouping.values, value, score, margin, unsure, grouping.threshold)
        return sections_from_grouping(ids, aligned)

    def import_lens(self, path: str, replace: bool = False) -> str:
        """Read a lens file (TOML or JSON) and save it; returns its name."""
        return str(self.service.import_lens(path, replace=replace).name)

    def export_lens(self, name: str, path: str) -> None:
        self.service.export_lens(name, path)

    def similar(self, lens: str, path: str, limit: int, search_filter: Any = None) -> list[Any] | None:
        """'More like this' through a lens, or None when the service cannot do it."""
        if not self.available or not hasattr(self.service, "similar"):
            return None
        return self.service.similar(lens, path, limit, search_filter)

    def search(self, lens: str, terms: list, limit: int, search_filter: Any = None) -> list[Any] | None:
        """A query (weighted terms) searched through a lens, or None when the service cannot do it."""
        if not self.available or not hasattr(self.service, "search"):
            return None
        return self.service.search(lens, terms, limit, search_filter)
