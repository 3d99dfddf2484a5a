"""InDiReCT fit, baselines and projection on a synthetic space with planted notions."""

from __future__ import annotations

import numpy as np
import pytest

from photolens.lenses.definition import LensDefinition
from photolens.lenses.errors import LensDefinitionError, LensError, LensFitError
from photolens.lenses.fit import (
    FittedLens,
    fit_definition,
    fit_lens,
    pca_projection,
    random_projection,
    spread,
    svd_init,
)
from photolens.lenses.project import project
from photolens.metrics import map_at_r
from tests.lens_synthetic import PlantedSpace, planted_space

K = 16  # d/4 for d = 64


@pytest.fixture(scope="module")
def space() -> PlantedSpace:
    return planted_space(d=64, notions=3, sub=4, values=5, n_images=500, image_noise=0.2, seed=0)


@pytest.fixture(scope="module")
def lens_a(space: PlantedSpace) -> FittedLens:
    return fit_lens(space.prompts[0], seed=0)


def numpy_loss(u: np.ndarray, x: np.ndarray) -> float:
    v = x @ u.T
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    r = v @ u
    r /= np.linalg.norm(r, axis=1, keepdims=True)
    return float(np.mean(np.arccos(np.clip(np.sum(x * r, axis=1), -1 + 1e-6, 1 - 1e-6))))


def test_lens_raises_its_notion_and_lowers_the_others(space: PlantedSpace, lens_a: FittedLens) -> None:
    z = project(lens_a.matrix, space.images)
    raw = [map_at_r(space.images, space.labels[:, j]) for j in range(3)]
    lensed = [map_at_r(z, space.labels[:, j]) for j in range(3)]
    assert lensed[0] > raw[0] + 0.2
    assert lensed[1] < raw[1] - 0.05 and lensed[2] < raw[2] - 0.05
    chance = map_at_r(project(random_projection(64, K, seed=0), space.images), space.labels[:, 0])
    assert lensed[0] > chance + 0.2


def test_default_k_is_a_quarter_of_d_and_reported_loss_is_that_of_the_returned_matrix(
    space: PlantedSpace, lens_a: FittedLens
) -> None:
    assert lens_a.matrix.shape == (K, 64) and lens_a.matrix.dtype == np.float32
    assert lens_a.loss == pytest.approx(numpy_loss(lens_a.matrix, space.prompts[0]), abs=1e-4)
    start = np.random.default_rng(0).normal(0, 0.1, (K, 64))
    assert lens_a.loss < numpy_loss(start, space.prompts[0]) / 10


def test_fit_is_deterministic_for_a_seed_and_differs_across_seeds(space: PlantedSpace) -> None:
    first = fit_lens(space.prompts[1], 8, seed=3, max_iterations=200)
    again = fit_lens(space.prompts[1], 8, seed=3, max_iterations=200)
    other = fit_lens(space.prompts[1], 8, seed=4, max_iterations=200)
    np.testing.assert_array_equal(first.matrix, again.matrix)
    assert first.loss == again.loss and first.iterations == again.iterations
    assert not np.allclose(first.matrix, other.matrix)


def test_iterations_stop_at_the_cap_or_after_patience(space: PlantedSpace) -> None:
    assert fit_lens(space.prompts[0], 8, max_iterations=7).iterations == 7
    # With an SVD start the prompts already lie in U's row space: the loss cannot improve, so the fit
    # stops after the first evaluation plus `patience` more.
    stalled = fit_lens(space.prompts[0], K, init="svd", patience=20)
    assert stalled.iterations == 21


def test_fit_leaves_the_torch_thread_count_as_it_was(space: PlantedSpace) -> None:
    from photolens.torch_compat import import_torch

    torch = import_torch()
    before = torch.get_num_threads()
    fit_lens(space.prompts[0], 8, max_iterations=3, threads=1 if before != 1 else 2)
    assert torch.get_num_threads() == before


def test_svd_init_spans_the_prompts_and_zeroes_the_rest(space: PlantedSpace) -> None:
    x = space.prompts[0]  # 15 prompts < K
    u = svd_init(x, K)
    nonzero = np.linalg.norm(u, axis=1) > 0
    assert nonzero.sum() == np.linalg.matrix_rank(x.astype(np.float64), tol=1e-6 * np.linalg.norm(x, 2))
    assert numpy_loss(u[nonzero], x) < 2e-3
    svd_lens = fit_lens(x, K, init="svd")
    z = project(svd_lens.matrix, space.images)
    assert map_at_r(z, space.labels[:, 0]) > map_at_r(space.images, space.labels[:, 0]) + 0.2


def test_template_ensembling_keeps_template_content_out_of_the_lens() -> None:
    # templates that also vary along notion B: a fit on every prompt keeps those directions too
    space = planted_space(d=64, values=5, templates=4, image_noise=0.2, template_leak=0.4, seed=0)
    lens = LensDefinition("a", tuple("abcde"), ("{} 1", "{} 2", "{} 3", "{} 4"))

    def maps(fitted: FittedLens) -> list[float]:
        z = project(fitted.matrix, space.images)
        return [map_at_r(z, space.labels[:, j]) for j in range(2)]

    paper = maps(fit_definition(lens, space.prompts[0], ensemble=False, init="random"))
    product = maps(fit_definition(lens, space.prompts[0]))
    assert product[0] > paper[0] + 0.15
    assert product[1] < paper[1] - 0.1


def test_default_definition_fit_does_not_depend_on_the_seed(space: PlantedSpace) -> None:
    lens = LensDefinition("a", tuple("abcde"), ("{} 1", "{} 2", "{} 3"))
    first = fit_definition(lens, space.prompts[0], seed=0)
    np.testing.assert_array_equal(first.matrix, fit_definition(lens, space.prompts[0], seed=9).matrix)
    assert first.dim == K and np.count_nonzero(np.linalg.norm(first.matrix, axis=1)) == 5  # one row per word


def test_identical_prompts_are_refused() -> None:
    x = np.tile(np.eye(8, dtype=np.float32)[:1], (4, 1))
    with pytest.raises(LensFitError, match="words do not vary the embedding"):
        fit_lens(x, 4)


def test_words_that_do_not_vary_the_embedding_are_refused_even_when_templates_do() -> None:
    lens = LensDefinition("case", ("red", "blue"), ("a {} car", "{} light"))
    rng = np.random.default_rng(0)
    car, light = rng.standard_normal((2, 32)).astype(np.float32)
    with pytest.raises(LensFitError, match="words of lens 'case' do not vary"):
        fit_definition(lens, np.stack([car, light, car, light]))


def test_small_word_variation_is_flagged(space: PlantedSpace) -> None:
    base = space.prompts[0][:1]
    wobble = np.random.default_rng(1).standard_normal((2, 64)).astype(np.float32)
    x = np.concatenate([base + 0.005 * wobble[0], base - 0.005 * wobble[1]])
    flagged = fit_definition(LensDefinition("tiny", ("a", "b"), ("{}",)), x, max_iterations=5)
    assert flagged.low_variation and 1e-5 < flagged.spread < 5e-3
    assert not fit_lens(space.prompts[0], 8, max_iterations=5).low_variation


def test_fit_definition_checks_dim_and_prompt_count(space: PlantedSpace) -> None:
    lens = LensDefinition("a", tuple(f"w{i}" for i in range(5)), ("x {}", "y {}", "z {}"), dim=128)
    with pytest.raises(LensDefinitionError, match="more than the embedding's 64"):
        fit_definition(lens, space.prompts[0])
    with pytest.raises(LensFitError, match="15 prompts but 14 vectors"):
        fit_definition(lens, space.prompts[0][:14])
    fitted = fit_definition(
        LensDefinition("a", lens.values, lens.templates, dim=6), space.prompts[0], max_iterations=5
    )
    assert fitted.dim == 6


def test_bad_prompt_matrices_are_refused() -> None:
    with pytest.raises(LensFitError, match="NaN"):
        fit_lens(np.array([[1.0, np.nan], [0.0, 1.0]]), 1)
    with pytest.raises(LensFitError, match="all-zero"):
        fit_lens(np.array([[1.0, 0.0], [0.0, 0.0]]), 1)
    with pytest.raises(LensDefinitionError, match="between 1 and"):
        fit_lens(np.eye(4, dtype=np.float32), 5)


def test_spread_is_the_mean_pairwise_cosine_distance() -> None:
    x = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=np.float32)
    # pairs: (0,1) 1, (0,2) 2, (1,2) 1 -> mean 4/3
    assert spread(x) == pytest.approx(4 / 3)
    assert spread(np.ones((3, 4))) == pytest.approx(0.0, abs=1e-7)


def test_baselines_have_orthonormal_rows_and_pca_follows_the_prompt_variation(space: PlantedSpace) -> None:
    r = random_projection(64, K, seed=5)
    np.testing.assert_allclose(r @ r.T, np.eye(K), atol=1e-5)
    np.testing.assert_array_equal(r, random_projection(64, K, seed=5))
    p = pca_projection(space.prompts[0], K)
    assert p.shape == (14, 64)  # 15 centred prompts have rank 14
    np.testing.assert_allclose(p @ p.T, np.eye(14), atol=1e-5)
    values = space.value_vectors[0]
    captured = np.linalg.norm(values @ p.T, axis=1) / np.linalg.norm(values, axis=1)
    assert captured.min() > 0.95  # the words' subspace lies inside the PCA subspace


def test_project_gives_unit_rows_in_chunks_and_rejects_wrong_dimensions() -> None:
    rng = np.random.default_rng(0)
    u = rng.standard_normal((4, 10)).astype(np.float32)
    v = rng.standard_normal((25, 10)).astype(np.float32)
    v[3] = 0.0
    whole = project(u, v)
    chunked = project(u, v, chunk_rows=7)
    np.testing.assert_allclose(whole, chunked, atol=1e-6)
    expected = (v[0] / np.linalg.norm(v[0])) @ u.T
    np.testing.assert_allclose(whole[0], expected / np.linalg.norm(expected), atol=1e-6)
    norms = np.linalg.norm(whole, axis=1)
    assert np.allclose(np.delete(norms, 3), 1.0, atol=1e-5) and not whole[3].any()
    assert whole.dtype == np.float32 and whole.shape == (25, 4)
    with pytest.raises(LensError, match="expects 10-dimensional"):
        project(u, v[:, :8])
