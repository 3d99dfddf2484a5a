"""The z-score baseline (photolens.retrieval.calibration) on planted libraries: the scale does not depend
on the query kind's raw cosine range. (Its old cutoff of 3.0 is gone: see tests/test_relevance.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from photolens.retrieval import calibration
from photolens.retrieval.calibration import fit_scale, scale_for
from photolens.vectors import normalize

D = 64


def planted_library(clusters: int = 40, per_cluster: int = 25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Photos come in groups (trips, subjects): ``clusters`` concept directions with ``per_cluster`` photos
    each. Returns (library, concept directions); photos of cluster c are rows c*per_cluster ... ."""
    rng = np.random.default_rng(seed)
    concepts = normalize(rng.normal(size=(clusters, D)).astype(np.float32))
    noise = normalize(rng.normal(size=(clusters, per_cluster, D)).astype(np.float32))
    library = normalize(concepts[:, None, :] + 0.5 * noise).reshape(-1, D)
    return library, concepts


def test_the_scale_is_the_same_for_text_like_and_image_like_cosine_ranges() -> None:
    """Text-image cosines (~0.2-0.3) and image-image ones (~0.5-0.9) map to the same calibrated scores when
    their spreads differ only by an affine change, which is what standardising per query removes."""
    library, concepts = planted_library(seed=1)
    raw = library @ concepts[0]
    text_like = 0.25 + 0.03 * raw
    image_like = 0.7 + 0.15 * raw
    for kind in calibration.KINDS:
        a, b = fit_scale(text_like, kind)(text_like), fit_scale(image_like, kind)(image_like)
        assert np.allclose(a, b, atol=1e-3)
    a = fit_scale(text_like)(text_like)
    assert a[:25].min() > a[25:].max()  # the planted group stands above the rest on either range
    assert not np.allclose(fit_scale(image_like)(text_like), a)  # raw cosines of another kind would differ


def test_robust_kind_ignores_the_matches_themselves() -> None:
    rng = np.random.default_rng(2)
    bulk = rng.normal(0.2, 0.02, size=1000)
    with_matches = np.concatenate([bulk, np.full(100, 0.6)])  # 9% of the library matches strongly
    robust = fit_scale(with_matches, "robust")
    plain = fit_scale(with_matches, "z")
    assert robust.center == pytest.approx(np.median(with_matches)) and abs(robust.center - 0.2) < 0.01
    assert robust(0.6) > 2 * plain(0.6)  # mean/std widen with the matches; the default kind is still z
    assert robust.kind == "robust" and robust.reliable and plain.kind == calibration.DEFAULT_KIND


def test_degenerate_and_small_inputs_do_not_divide_by_zero_or_cut() -> None:
    flat = fit_scale(np.full(200, 0.3))
    assert np.isfinite(flat(0.31)) and flat.spread > 0
    empty = fit_scale(np.array([]))
    assert empty.n == 0 and not empty.reliable
    small = fit_scale(np.linspace(0, 1, 10))
    assert not small.reliable
    assert fit_scale(np.linspace(0, 1, 1000)).raw_threshold(0.0) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        fit_scale(np.ones(5), "nonsense")


def test_a_fixed_sample_gives_nearly_the_scale_of_the_whole_library() -> None:
    library = normalize(np.random.default_rng(3).normal(size=(20000, D)).astype(np.float32))
    query = library[0]
    rows = calibration.sample_rows(len(library), size=4096)
    assert rows is not None and len(rows) == 4096 and np.array_equal(rows, calibration.sample_rows(len(library), 4096))
    full, sampled = scale_for(query, library), scale_for(query, library, rows=rows)
    assert abs(full.center - sampled.center) < 0.1 * full.spread
    assert abs(full.spread - sampled.spread) < 0.1 * full.spread
    assert calibration.sample_rows(100, size=4096) is None
