"""Search semantics on planted vectors: exact ranking, weights, negatives, photo terms, folder and date filters.

The tiny test model has random weights, so anything about *meaning* is tested here with vectors chosen by
the test: photos get planted embeddings in the store, and the fake embedder maps each query word to a
planted text vector.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update

import photolens.search as search_module
from photolens.errors import EmbeddingDimensionError, QueryError
from photolens.library import Library
from photolens.search import SearchFilter, combine, top_k
from photolens.store.schema import Photo, utcnow
from photolens.vectors import normalize
from tests.fakes import PLANTED_SPEC, PlantedEmbedder, plant_photos

E = np.eye(4, dtype=np.float32)
DOG, CAT, BEACH, CITY = E[0], E[1], E[2], E[3]


def vec(*parts: tuple[float, np.ndarray]) -> np.ndarray:
    return normalize(sum(w * v for w, v in parts))


@pytest.fixture
def planted(tmp_path: Path):
    """A library of six photos with known vectors, and a fake model that knows four words."""
    root = tmp_path / "lib"
    photos = {
        str(root / "dog.jpg"): vec((1, DOG)),
        str(root / "dog_on_beach.jpg"): vec((1, DOG), (1, BEACH)),
        str(root / "cat.jpg"): vec((1, CAT)),
        str(root / "trip" / "cat_on_beach.jpg"): vec((1, CAT), (1, BEACH)),
        str(root / "trip" / "beach.jpg"): vec((1, BEACH), (0.2, CITY)),
        str(root / "tripod" / "city.jpg"): vec((1, CITY)),
    }
    taken = {
        str(root / "dog.jpg"): dt.datetime(2019, 5, 1, 12, 0),
        str(root / "dog_on_beach.jpg"): dt.datetime(2020, 8, 1, 9, 30),
        str(root / "trip" / "beach.jpg"): dt.datetime(2020, 8, 2, 18, 0),
    }
    embedder = PlantedEmbedder({"dog": DOG, "cat": CAT, "beach": BEACH, "city": CITY}, dim=4)
    library = Library(db=str(tmp_path / "planted.db"), model=PLANTED_SPEC, embedder=embedder)
    ids = plant_photos(library.db, embedder.key, photos, taken)
    yield library, root, ids, embedder
    library.close()


def names(hits) -> list[str]:  # type: ignore[no-untyped-def]
    return [Path(h.path).name for h in hits]


def test_text_search_ranks_by_cosine_with_exact_scores(planted) -> None:  # type: ignore[no-untyped-def]
    library, _root, _ids, _ = planted
    hits = library.search("dog", limit=3)
    assert names(hits)[:2] == ["dog.jpg", "dog_on_beach.jpg"]
    assert hits[0].score == pytest.approx(1.0, abs=2e-3)
    assert hits[1].score == pytest.approx(1 / np.sqrt(2), abs=2e-3)
    assert hits[2].score == pytest.approx(0.0, abs=2e-3)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_results_are_absolute_paths_and_limit_is_respected(planted) -> None:  # type: ignore[no-untyped-def]
    library, root, _ids, _ = planted
    hits = library.search("beach", limit=4)
    assert len(hits) == 4
    assert all(Path(h.path).is_absolute() and h.path.startswith(str(root)) for h in hits)
    assert len(library.search("beach", limit=100)) == 6


def test_two_positive_terms_favour_photos_with_both(planted) -> None:  # type: ignore[no-untyped-def]
    library, *_ = planted
    assert names(library.search('"dog" + "beach"', limit=1)) == ["dog_on_beach.jpg"]
    assert names(library.search("cat + beach", limit=1)) == ["cat_on_beach.jpg"]


def test_weights_change_the_ranking(planted) -> None:  # type: ignore[no-untyped-def]
    library, *_ = planted
    # dog + 3·beach points mostly at beach: the pure beach photo now beats the dog-only photo
    top = names(library.search("dog + 3:beach", limit=6))
    assert top.index("beach.jpg") < top.index("dog.jpg")
    top = names(library.search("3:dog + beach", limit=6))
    assert top.index("dog.jpg") < top.index("beach.jpg")


def test_negative_term_pushes_matching_photos_down(planted) -> None:  # type: ignore[no-untyped-def]
    library, *_ = planted
    plain = names(library.search("beach", limit=3))
    assert "dog_on_beach.jpg" in plain
    minus_dog = library.search("beach - dog", limit=6)
    assert names(minus_dog)[0] in ("beach.jpg", "cat_on_beach.jpg")
    assert names(minus_dog)[-1] == "dog.jpg"
    assert minus_dog[-1].score < 0


def test_combined_query_vector_matches_the_documented_formula(planted) -> None:  # type: ignore[no-untyped-def]
    library, *_ = planted
    expected = normalize(2 * DOG + CAT - 0.5 * BEACH)
    assert np.allclose(library.query_vector("2:dog + cat - 0.5:beach"), expected, atol=1e-3)


def test_folder_filter_is_recursive_and_does_not_catch_sibling_prefixes(planted) -> None:  # type: ignore[no-untyped-def]
    library, root, *_ = planted
    hits = library.search("beach", limit=10, search_filter=SearchFilter(folder=str(root / "trip")))
    assert sorted(names(hits)) == ["beach.jpg", "cat_on_beach.jpg"]  # not tripod/city.jpg


def test_folder_filter_is_case_sensitive(planted) -> None:  # type: ignore[no-untyped-def]
    library, root, ids, embedder = planted
    plant_photos(library.db, embedder.key, {str(root / "Trip" / "other.jpg"): vec((1, BEACH))})
    hits = library.search("beach", limit=10, search_filter=SearchFilter(folder=str(root / "Trip")))
    assert names(hits) == ["other.jpg"]


def test_folder_filter_accepts_a_relative_folder(planted, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    library, root, *_ = planted
    root.mkdir(exist_ok=True)
    monkeypatch.chdir(root)
    hits = library.search("city", limit=10, search_filter=SearchFilter(folder="tripod"))
    assert names(hits) == ["city.jpg"]


def test_date_filters_include_bounds_and_drop_undated_photos(planted) -> None:  # type: ignore[no-untyped-def]
    library, *_ = planted
    after = SearchFilter(taken_after=dt.datetime(2020, 1, 1))
    assert sorted(names(library.search("beach", limit=10, search_filter=after))) == ["beach.jpg", "dog_on_beach.jpg"]
    before = SearchFilter(taken_before=dt.datetime(2019, 5, 1, 12, 0))
    assert names(library.search("beach", limit=10, search_filter=before)) == ["dog.jpg"]
    window = SearchFilter(taken_after=dt.datetime(2020, 8, 2), taken_before=dt.datetime(2020, 8, 3))
    assert names(library.search("dog", limit=10, search_filter=window)) == ["beach.jpg"]


def test_filters_that_match_nothing_give_no_results(planted) -> None:  # type: ignore[no-untyped-def]
    library, root, *_ = planted
    assert library.search("dog", search_filter=SearchFilter(folder=str(root / "nowhere"))) == []


def test_missing_photos_never_appear(planted) -> None:  # type: ignore[no-untyped-def]
    library, root, ids, _ = planted
    assert names(library.search("dog", limit=1)) == ["dog.jpg"]
    with library.db.session() as session:
        session.execute(update(Photo).where(Photo.id == ids[str(root / "dog.jpg")]).values(missing_since=utcnow()))
    assert "dog.jpg" not in names(library.search("dog", limit=10))


def test_vector_cache_sees_new_photos(planted) -> None:  # type: ignore[no-untyped-def]
    library, root, _ids, embedder = planted
    assert len(library.vectors().ids) == 6
    plant_photos(library.db, embedder.key, {str(root / "new_dog.jpg"): vec((1, DOG), (0.01, CAT))})
    assert len(library.vectors().ids) == 7
    assert "new_dog.jpg" in names(library.search("dog", limit=2))


def test_text_vectors_are_cached_in_the_store(planted) -> None:  # type: ignore[no-untyped-def]
    library, *_, embedder = planted
    library.search("dog + cat")
    library.search("cat + dog - beach")
    assert embedder.text_calls == [["dog", "cat"], ["beach"]]


def test_photo_term_uses_the_stored_vector_of_a_library_photo(planted) -> None:  # type: ignore[no-untyped-def]
    library, root, *_ = planted
    hits = library.search(f"@{root / 'cat.jpg'} + beach", limit=1)
    assert names(hits) == ["cat_on_beach.jpg"]


def test_similar_excludes_the_photo_itself(planted) -> None:  # type: ignore[no-untyped-def]
    library, root, *_ = planted
    hits = library.similar(str(root / "dog_on_beach.jpg"), limit=3)
    assert "dog_on_beach.jpg" not in names(hits)
    assert names(hits)[0] in ("dog.jpg", "beach.jpg")
    assert len(hits) == 3


def test_similar_of_a_missing_file_is_a_query_error(planted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    library, *_ = planted
    with pytest.raises(QueryError, match="not found"):
        library.similar(str(tmp_path / "nope.jpg"))


def test_query_of_another_dimension_is_refused(planted) -> None:  # type: ignore[no-untyped-def]
    library, *_ = planted
    with pytest.raises(EmbeddingDimensionError):
        library.search_vector(normalize(np.ones(8)))


def test_empty_library_returns_nothing(tmp_path: Path) -> None:
    embedder = PlantedEmbedder({"dog": DOG}, dim=4)
    library = Library(db=str(tmp_path / "empty.db"), model=PLANTED_SPEC, embedder=embedder)
    try:
        assert library.search("dog") == []
    finally:
        library.close()


def test_combine_normalises_weighted_sums() -> None:
    out = combine(np.stack([DOG * 3, CAT]), [1.0, -1.0])
    assert np.allclose(out, normalize(DOG - CAT))


def test_top_k_over_chunks_matches_brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_module, "CHUNK_ROWS", 7)
    rng = np.random.default_rng(1)
    matrix = normalize(rng.normal(size=(50, 8)))
    query = normalize(rng.normal(size=8))
    idx, scores = top_k(matrix, query, 10)
    expected = np.argsort(-(matrix @ query))[:10]
    assert list(idx) == list(expected)
    assert np.allclose(scores, (matrix @ query)[expected])
    rows = np.array([3, 9, 20, 41])
    idx, _ = top_k(matrix, query, 2, rows)
    assert set(idx) <= set(rows.tolist())
    assert list(idx) == [r for r in rows[np.argsort(-(matrix[rows] @ query))]][:2]
    assert top_k(matrix, query, 0)[0].shape == (0,)


def test_removing_a_library_folder_hides_its_photos_at_once(planted) -> None:  # type: ignore[no-untyped-def]
    library, root, *_ = planted
    from photolens.store.schema import LibraryRoot

    with library.db.session() as session:
        session.add(LibraryRoot(path=str(root / "trip")))
        session.add(LibraryRoot(path=str(root / "tripod")))
    assert library.remove_root(str(root / "trip"))
    assert library.roots() == [str(root / "tripod")]
    found = names(library.search("beach", limit=10))
    assert "beach.jpg" not in found and "cat_on_beach.jpg" not in found
    assert "city.jpg" in names(library.search("city", limit=10))
