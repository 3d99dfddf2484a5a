"""MAP@R and Recall@1 on hand-computed cases and against a plain reference implementation."""

from __future__ import annotations

import numpy as np
import pytest

from photolens.metrics import map_at_r, recall_at_1


def on_circle(degrees: list[float]) -> np.ndarray:
    radians = np.deg2rad(degrees)
    return np.stack([np.cos(radians), np.sin(radians)], axis=1).astype(np.float32)


def reference_map_at_r(x: np.ndarray, labels: np.ndarray) -> float:
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    scores = []
    for i in range(len(x)):
        r = int(np.sum(labels == labels[i])) - 1
        if r == 0:
            continue
        others = [j for j in range(len(x)) if j != i]
        ranked = sorted(others, key=lambda j: -float(x[i] @ x[j]))[:r]
        hits, total = 0, 0.0
        for rank, j in enumerate(ranked, start=1):
            if labels[j] == labels[i]:
                hits += 1
                total += hits / rank
        scores.append(total / r)
    return float(np.mean(scores))


def test_hand_computed_case_with_one_relevant_item_each() -> None:
    # angles 0, 10 (label 0) and 25, 90 (label 1): only the query at 25 degrees has a wrong nearest item
    x, labels = on_circle([0, 10, 25, 90]), np.array([0, 0, 1, 1])
    assert map_at_r(x, labels) == pytest.approx(0.75)
    assert recall_at_1(x, labels) == pytest.approx(0.75)


def test_hand_computed_case_with_precision_counted_only_at_relevant_ranks() -> None:
    # A at 0, 30, 100; B at 50, 200 degrees.
    # q0 (R=2): A, B -> (1/1)/2 = 0.5;  q30: B, A -> (1/2)/2 = 0.25;  q100: B, A -> 0.25;  q50, q200: 0
    x, labels = on_circle([0, 30, 100, 50, 200]), np.array(["A", "A", "A", "B", "B"])
    assert map_at_r(x, labels) == pytest.approx(0.2)
    assert recall_at_1(x, labels) == pytest.approx(0.2)  # only q0's nearest (30) shares its label


def test_singleton_labels_rank_as_irrelevant_but_are_not_queries() -> None:
    x, labels = on_circle([0, 10, 5]), np.array([0, 0, 1])
    assert map_at_r(x, labels) == 0.0 and recall_at_1(x, labels) == 0.0
    with pytest.raises(ValueError, match="no label occurs twice"):
        map_at_r(x, np.array([0, 1, 2]))


def test_perfect_and_scale_invariant() -> None:
    x = np.repeat(np.eye(3, dtype=np.float32), 4, axis=0) + 0.01 * np.arange(12, dtype=np.float32)[:, None]
    labels = np.repeat(np.arange(3), 4)
    assert map_at_r(x, labels) == pytest.approx(1.0)
    assert recall_at_1(x * 7.0, labels) == pytest.approx(1.0)


def test_chunked_matches_the_reference_on_random_data() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 6)).astype(np.float32)
    labels = rng.integers(0, 5, size=120)
    x[labels == 2, 0] += 1.5  # some structure so the value is not just chance
    expected = reference_map_at_r(x, labels)
    assert map_at_r(x, labels, chunk=7) == pytest.approx(expected, abs=1e-9)
    assert map_at_r(x, labels) == pytest.approx(expected, abs=1e-9)
    assert recall_at_1(x, labels, chunk=5) == pytest.approx(recall_at_1(x, labels))


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="need"):
        map_at_r(np.zeros((3, 2)), np.zeros(4))
