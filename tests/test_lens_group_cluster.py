"""Group by lens (nearest value word, margin, unsure) and clustering in lens space."""

from __future__ import annotations

import numpy as np
import pytest

from photolens.lenses.cluster import cluster, kmeans, silhouette
from photolens.lenses.definition import LensDefinition
from photolens.lenses.errors import LensError
from photolens.lenses.fit import fit_lens
from photolens.lenses.group import UNSURE_FRACTION, definition_anchors, group_by_lens, value_anchors
from photolens.lenses.project import project
from tests.lens_synthetic import planted_space


def unit(m: np.ndarray) -> np.ndarray:
    return (m / np.linalg.norm(m, axis=-1, keepdims=True)).astype(np.float32)


def blobs(n_per: int, centres: np.ndarray, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(centres)), n_per)
    return unit(centres[labels] + noise * rng.standard_normal((labels.size, centres.shape[1]))), labels


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when the two labellings group the rows identically (up to renaming)."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


# ---- group ------------------------------------------------------------------------------------------


def test_value_anchors_average_the_templates_of_each_word() -> None:
    u = np.eye(3, dtype=np.float32)  # identity lens: anchors are the plain renormalised means
    prompts = unit(np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1]], dtype=np.float32))
    anchors = value_anchors(u, prompts, [(0,), (0,), (1,), (1,)], 2)
    expected = unit(np.stack([prompts[0] + prompts[1], prompts[2] + prompts[3]]))
    np.testing.assert_allclose(anchors, expected, atol=1e-6)
    lens = LensDefinition("t", ("a", "b"), ("{} one", "{} two"))
    np.testing.assert_allclose(definition_anchors(lens, u, prompts), expected, atol=1e-6)


def test_group_assigns_nearest_value_with_margin_and_unsure_bucket() -> None:
    anchors = np.eye(3, dtype=np.float32)
    photos = unit(
        np.array([[1.0, 0.1, 0.0], [0.0, 1.0, 0.2], [0.1, 0.0, 1.0], [0.5, 0.49, 0.0], [0.9, 0.0, 0.2]])
    )
    grouping = group_by_lens(photos, anchors, ["red", "green", "blue"])
    np.testing.assert_array_equal(grouping.value, [0, 1, 2, 0, 0])
    np.testing.assert_allclose(grouping.score, photos.max(axis=1), atol=1e-6)
    np.testing.assert_allclose(
        grouping.margin, np.sort(photos, axis=1)[:, -1] - np.sort(photos, axis=1)[:, -2], atol=1e-6
    )
    assert grouping.threshold == pytest.approx(UNSURE_FRACTION * float(np.median(grouping.margin)))
    np.testing.assert_array_equal(grouping.unsure, [False, False, False, True, False])
    summary = {row.value: (row.count, row.unsure) for row in grouping.summary()}
    assert summary == {"red": (2, 1), "green": (1, 0), "blue": (1, 0)}
    assert grouping.unsure_count == 1


def test_explicit_unsure_margin_and_chunking_give_the_same_assignment() -> None:
    rng = np.random.default_rng(0)
    anchors = unit(rng.standard_normal((4, 8)))
    photos = unit(rng.standard_normal((50, 8)))
    whole = group_by_lens(photos, anchors, list("abcd"), unsure_margin=0.3)
    chunked = group_by_lens(photos, anchors, list("abcd"), unsure_margin=0.3, chunk_rows=7)
    np.testing.assert_array_equal(whole.value, chunked.value)
    np.testing.assert_array_equal(whole.unsure, whole.margin < 0.3)
    np.testing.assert_array_equal(whole.value, np.argmax(photos @ anchors.T, axis=1))
    with pytest.raises(LensError, match="dimensions differ"):
        group_by_lens(photos[:, :5], anchors, list("abcd"))
    with pytest.raises(LensError, match="at least two anchors"):
        group_by_lens(photos, anchors[:1], ["a"])


def test_group_through_a_fitted_lens_recovers_the_planted_notion_and_flags_the_errors() -> None:
    space = planted_space(d=64, values=5, n_images=600, image_noise=0.3, seed=1)
    lens = fit_lens(space.prompts[0], seed=0)
    anchors = value_anchors(lens.matrix, space.prompts[0], space.owners[0], 5)
    grouping = group_by_lens(project(lens.matrix, space.images), anchors, list("abcde"))
    correct = grouping.value == space.labels[:, 0]
    assert correct.mean() > 0.75
    assert correct[~grouping.unsure].mean() > correct[grouping.unsure].mean() + 0.15
    # the same lens says little about notion B: groups agree with B's labels at about chance (1/5)
    assert np.mean(grouping.value == space.labels[:, 1]) < 0.4


# ---- cluster ----------------------------------------------------------------------------------------


def test_silhouette_matches_a_hand_computed_case() -> None:
    x = np.array([[0.0], [1.0], [10.0], [12.0]])
    labels = np.array([0, 0, 1, 1])
    # a (mean distance within): 1, 1, 2, 2; b (mean distance to the other cluster): 11, 10, 9.5, 11.5
    expected = np.mean([10 / 11, 9 / 10, 7.5 / 9.5, 9.5 / 11.5])
    assert silhouette(x, labels) == pytest.approx(expected)
    # a singleton counts 0: points 0 and 1 have a = 1, b = 10 and 9
    assert silhouette(np.array([[0.0], [1.0], [10.0]]), np.array([0, 0, 1])) == pytest.approx(
        (0.9 + 8 / 9) / 3
    )


def test_kmeans_is_deterministic_and_recovers_separated_blobs() -> None:
    centres = unit(np.random.default_rng(3).standard_normal((4, 12)))
    x, truth = blobs(40, centres, 0.08)
    first = kmeans(x, 4, seed=1)
    again = kmeans(x, 4, seed=1)
    np.testing.assert_array_equal(first.labels, again.labels)
    np.testing.assert_array_equal(first.centroids, again.centroids)
    assert same_partition(first.labels, truth)
    assert first.inertia == pytest.approx(float(((x - first.centroids[first.labels]) ** 2).sum()), rel=1e-4)


@pytest.mark.parametrize("planted", [3, 6])
def test_cluster_picks_the_planted_k_and_names_clusters_by_their_value(planted: int) -> None:
    centres = unit(np.random.default_rng(planted).standard_normal((planted, 16)))
    sizes = np.arange(planted) + 20
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(planted), sizes)
    x = unit(centres[truth] + 0.1 * rng.standard_normal((truth.size, 16)))
    words = [f"value{i}" for i in range(planted)]
    result = cluster(x, anchors=centres, values=words, seed=0)
    assert result.k == planted
    assert max(result.silhouette_by_k, key=result.silhouette_by_k.__getitem__) == planted
    assert same_partition(result.labels, truth)
    for info in result.clusters:
        members = truth[result.labels == info.index]
        planted_id = int(np.bincount(members).argmax())
        assert info.names[0][0] == words[planted_id]
        assert info.names[0][1] > info.names[1][1]
        assert info.size == sizes[planted_id]
        assert np.all(result.labels[info.representatives] == info.index)
    assert [info.size for info in result.clusters] == sorted(sizes.tolist(), reverse=True)


def test_cluster_chooses_k_on_a_sample_when_the_library_is_large() -> None:
    centres = unit(np.random.default_rng(7).standard_normal((5, 16)))
    x, truth = blobs(400, centres, 0.1)
    result = cluster(x, sample_size=300, restarts=2, seed=0)
    assert result.k == 5 and same_partition(result.labels, truth)
    assert all(info.names == [] for info in result.clusters)


def test_user_given_k_is_used_and_impossible_requests_are_refused() -> None:
    centres = unit(np.random.default_rng(2).standard_normal((3, 8)))
    x, _ = blobs(10, centres, 0.05)
    result = cluster(x, k=2, seed=0)
    assert result.k == 2 and np.isnan(result.silhouette) and not result.silhouette_by_k
    representatives = result.clusters[0].representatives
    distances = np.linalg.norm(x[representatives] - result.centroids[0], axis=1)
    assert np.all(np.diff(distances) >= -1e-6)
    with pytest.raises(LensError, match="Cannot make 31 clusters"):
        cluster(x, k=31)
    with pytest.raises(LensError, match="at least two photos"):
        cluster(x[:1])
