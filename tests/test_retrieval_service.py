"""The Library-facing helpers end to end on a small indexed library (tiny random model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photolens.errors import QueryError
from photolens.retrieval.composed import PropertyPrompts
from photolens.retrieval.service import composed_search, precise_similar, preset_properties
from tests.images import make_photo_set


@pytest.fixture
def indexed(tmp_path: Path, library_factory):
    root = tmp_path / "photos"
    paths = make_photo_set(root, count=8)
    (root / "notes.jpg").write_text("not a photo\n" * 20)
    library = library_factory()
    for _ in library.index([str(root)]):
        pass
    return library, paths, root


def test_composed_search_excludes_the_reference_and_reports_its_method(indexed) -> None:
    library, paths, _ = indexed
    props = [PropertyPrompts.from_templates("colour", ["red", "blue"], ["a {} photo"], library.text_vectors)]
    out = composed_search(library, str(paths[0]), "in red", "pdv", properties=props, limit=5)
    assert out.query is not None and out.query.method == "pdv"
    assert 0 < len(out.hits) <= 5 and str(paths[0]) not in [h.path for h in out.hits]
    assert out.query.description is not None and out.query.description.changes[0].new == "red"
    # 8 photos are too few to calibrate: scores are shown on the scale but nothing is cut
    assert any("too few to calibrate" in n for n in out.notes)
    assert [h.score for h in out.hits] == sorted((h.score for h in out.hits), reverse=True)
    assert np.allclose([out.scale(r) for r in out.raw], [h.score for h in out.hits], atol=1e-5)


def test_composed_search_falls_back_and_explains(indexed) -> None:
    library, paths, _ = indexed
    out = composed_search(library, str(paths[1]), "", "default", limit=3)
    assert out.query.method == "image" and "photo alone" in out.notes[0]
    out = composed_search(library, str(paths[1]), "at night", "pic2word", limit=3, properties=[])
    assert out.query.method == "weighted" and "No Pic2Word mapper" in out.notes[0]
    out = composed_search(library, str(paths[1]), "at night", "pic2word", limit=3, properties=[],
                          mapper_bytes=b"damaged")
    assert out.query.method == "weighted" and "retrain" in out.notes[0] and "No Pic2Word mapper" in out.notes[1]


def test_bad_reference_photos_get_clear_messages(indexed) -> None:
    library, _, root = indexed
    with pytest.raises(QueryError, match="not found"):
        composed_search(library, str(root / "missing.jpg"), "at night")
    with pytest.raises(QueryError, match="folder"):
        composed_search(library, str(root), "at night")
    with pytest.raises(QueryError, match="Cannot use"):
        composed_search(library, str(root / "notes.jpg"), "at night")


def test_precise_similar_searches_with_an_inverted_text_vector(indexed) -> None:
    library, paths, _ = indexed
    out = precise_similar(library, str(paths[2]), limit=4, steps=10)
    assert 0 < len(out.hits) <= 4 and str(paths[2]) not in [h.path for h in out.hits]


def test_preset_properties_cover_the_lens_presets(indexed) -> None:
    library, _, _ = indexed
    props = preset_properties(library, ["colour", "time-of-day"])
    assert [p.name for p in props] == ["colour", "time-of-day"]
    assert "night" in props[1].words and props[0].vectors.shape == (len(props[0].words), library.embedder.dim)


class PlantedLibrary:
    """Just the Library methods calibrated_search uses, over a planted clustered space (raw space only)."""

    def __init__(self, drop: int | None = None) -> None:
        from types import SimpleNamespace

        from photolens.vectors import normalize

        rng = np.random.default_rng(0)
        self.concepts = normalize(rng.normal(size=(40, 64)).astype(np.float32))
        noise = normalize(rng.normal(size=(40, 25, 64)).astype(np.float32))
        self.matrix = normalize(self.concepts[:, None, :] + 0.5 * noise).reshape(-1, 64)
        if drop is not None:  # the library without group ``drop``: its concept has no match
            self.matrix[drop * 25 : (drop + 1) * 25] = self.matrix[(drop + 1) * 25 : (drop + 2) * 25]
        self._set = SimpleNamespace(matrix=self.matrix, ids=np.arange(len(self.matrix)))

    def vectors(self):
        return self._set

    def space_vectors(self, space=None):
        return self._set.ids, self.matrix

    def search_vector(self, query, limit=20, search_filter=None, exclude=None, space=None):
        from photolens.search import SearchHit

        scores = self.matrix @ query
        order = [int(i) for i in np.argsort(-scores) if not exclude or int(i) not in exclude][:limit]
        return [SearchHit(i, f"/p/{i}.jpg", float(scores[i])) for i in order]


def test_calibrated_search_cuts_at_the_default_and_says_when_nothing_is_good() -> None:
    from photolens.retrieval.calibration import DEFAULT_MIN_SCORE
    from photolens.retrieval.service import calibrated_search

    library = PlantedLibrary()
    out = calibrated_search(library, library.concepts[3], limit=40)
    assert [h.photo_id // 25 for h in out.hits] == [3] * 25  # the 25 photos of the group, nothing else
    assert all(h.score >= DEFAULT_MIN_SCORE for h in out.hits) and out.cut == 15 and not out.no_good_match
    # the same query on a library without that group: near misses only, and the service says so
    without = PlantedLibrary(drop=3)
    quiet = calibrated_search(without, without.concepts[3], limit=10)
    assert quiet.hits == [] and quiet.no_good_match and "No good match" in quiet.notes[0]
    everything = calibrated_search(without, without.concepts[3], limit=10, min_score=None)
    assert len(everything.hits) == 10 and not everything.no_good_match
    assert everything.hits[0].score < DEFAULT_MIN_SCORE < out.hits[-1].score
