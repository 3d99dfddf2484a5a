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
    # 8 photos are too few to calibrate well: the service says so, and still answers
    assert any("too few to calibrate" in n for n in out.notes)
    for group in ([h for h in out.hits if h.match], [h for h in out.hits if not h.match]):
        assert [h.score for h in group] == sorted((h.score for h in group), reverse=True)
    assert [h.match for h in out.hits] == sorted((h.match for h in out.hits), reverse=True)  # matches first
    assert all(h.cosine is not None and -1.0 <= h.cosine <= 1.0 for h in out.hits)


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
    """Just the Library methods calibrated_search uses, over a planted clustered space (raw space only).

    40 concepts with 25 photos each; the generic captions name those concepts and 300 other things."""

    model_key = "planted"

    def __init__(self, drop: int | None = None, seed: int = 0, scale: float = 1.0) -> None:
        from types import SimpleNamespace

        from photolens.vectors import normalize

        rng = np.random.default_rng(seed)
        self.concepts = normalize(rng.normal(size=(40, 64)).astype(np.float32))
        noise = normalize(rng.normal(size=(40, 25, 64)).astype(np.float32))
        self.matrix = normalize(self.concepts[:, None, :] + 0.5 * noise).reshape(-1, 64)
        if drop is not None:  # the library without group ``drop``: its concept has no match
            self.matrix[drop * 25 : (drop + 1) * 25] = self.matrix[(drop + 1) * 25 : (drop + 2) * 25]
        self._set = SimpleNamespace(matrix=self.matrix, ids=np.arange(len(self.matrix)))
        self._rng = np.random.default_rng(seed + 100)

    def vectors(self):
        return self._set

    def space_vectors(self, space=None):
        return self._set.ids, self.matrix

    def text_vectors(self, texts):
        """The generic vocabulary: it names the library's 40 concepts, the rest describes nothing here."""
        from photolens.vectors import normalize

        rng = np.random.default_rng(len(texts))
        out = normalize(rng.normal(size=(len(texts), 64)).astype(np.float32))
        out[:40] = self.concepts
        return out

    def search_vector(self, query, limit=20, search_filter=None, exclude=None, space=None):
        from photolens.search import SearchHit

        scores = self.matrix @ query
        order = [int(i) for i in np.argsort(-scores) if not exclude or int(i) not in exclude][:limit]
        return [SearchHit(i, f"/p/{i}.jpg", float(scores[i])) for i in order]


def test_calibrated_search_marks_the_planted_group_and_never_answers_empty() -> None:
    from photolens.retrieval.service import calibrated_search

    library = PlantedLibrary()
    out = calibrated_search(library, library.concepts[3], limit=40)
    assert len(out.hits) == 40 and not out.no_good_match
    assert [h.photo_id // 25 for h in out.matches] == [3] * 25  # the 25 photos of the group are the matches
    assert all(not h.match and h.score < 1.0 for h in out.hits[25:])  # the rest come after, flagged weak
    assert all(h.score >= 1.0 for h in out.matches) and not out.notes
    # the same query on a library without that group: weak results, still returned, and the service says so
    without = PlantedLibrary(drop=3)
    quiet = calibrated_search(without, without.concepts[3], limit=10)
    assert len(quiet.hits) == 10 and quiet.no_good_match and not quiet.matches
    assert quiet.notes == ["No photo matches well; showing the closest 10."]
    assert [h.score for h in quiet.hits] == sorted((h.score for h in quiet.hits), reverse=True)  # best first


def test_min_score_drops_results_below_it() -> None:
    from photolens.retrieval.service import calibrated_search

    library = PlantedLibrary()
    out = calibrated_search(library, library.concepts[5], limit=40, min_score=1.0)
    assert len(out.hits) == 25 and all(h.match for h in out.hits) and out.dropped > 0
    none_left = calibrated_search(PlantedLibrary(drop=5), library.concepts[5], limit=10, min_score=1.0)
    assert none_left.hits == [] and "lower --min-score" in none_left.notes[0]
