"""Cluster photos in lens space: seeded k-means++ with restarts, k by silhouette on a bounded sample.

Cost stays bounded for large libraries: the restarts of k-means and the silhouette that chooses k run on
a seeded sample of at most ``sample_size`` photos (the silhouette needs all pairwise distances, O(s²)),
then a single Lloyd run over all photos, in chunks, refines the sample's best centroids. Each cluster is
named by the value words its members score highest on (the mean cosine of the members to a value's
anchor, equal to the centroid's dot product with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from photolens.lenses.errors import LensError

SAMPLE_SIZE = 3000
RESTARTS = 4
MAX_ITERATIONS = 100
TOLERANCE = 1e-5  # relative inertia change that counts as converged
CHUNK_ROWS = 32768
MAX_AUTO_K = 12
NAMES_PER_CLUSTER = 3
REPRESENTATIVES = 8


@dataclass(frozen=True)
class KMeansResult:
    labels: np.ndarray  # int64 (n,)
    centroids: np.ndarray  # float32 (k, dim)
    inertia: float  # sum of squared distances to the assigned centroid


@dataclass(frozen=True)
class ClusterInfo:
    index: int
    size: int
    names: list[tuple[str, float]]  # nearest value words with their mean cosine, best first
    representatives: np.ndarray  # row indices of the photos nearest to the centroid, nearest first


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray  # int64 (n,) cluster of each row
    centroids: np.ndarray  # float32 (k, dim)
    clusters: list[ClusterInfo]
    silhouette: float  # on the sample, for the chosen k (nan when k was given and not scored)
    silhouette_by_k: dict[int, float] = field(default_factory=dict)  # the candidates that were scored

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])


def _assign(x: np.ndarray, centroids: np.ndarray, chunk_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid and squared distance for every row, chunked to bound the (rows, k) block."""
    c_sq = np.einsum("ij,ij->i", centroids, centroids)
    labels = np.empty(x.shape[0], dtype=np.int64)
    dist = np.empty(x.shape[0], dtype=np.float64)
    for start in range(0, x.shape[0], chunk_rows):
        block = x[start : start + chunk_rows]
        d2 = c_sq[None, :] - 2.0 * (block @ centroids.T)
        nearest = np.argmin(d2, axis=1)
        labels[start : start + chunk_rows] = nearest
        x_sq = np.einsum("ij,ij->i", block, block)
        dist[start : start + chunk_rows] = np.maximum(d2[np.arange(block.shape[0]), nearest] + x_sq, 0.0)
    return labels, dist


def _plus_plus(x: np.ndarray, k: int, rng: np.random.Generator, chunk_rows: int) -> np.ndarray:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007; the greedy variant scikit-learn uses): each
    next centre is the best of 2 + ln k candidates drawn ∝ squared distance. Plain k-means++ often puts
    two seeds in one cluster when clusters are only moderately apart, and Lloyd cannot undo that."""
    trials = 2 + int(np.log(k))
    centroids = np.empty((k, x.shape[1]), dtype=x.dtype)
    centroids[0] = x[rng.integers(x.shape[0])]
    _, closest = _assign(x, centroids[:1], chunk_rows)
    for j in range(1, k):
        total = closest.sum()
        if total <= 0:  # fewer distinct points than k: any point will do
            candidates = rng.integers(x.shape[0], size=trials)
        else:
            candidates = rng.choice(x.shape[0], size=trials, p=closest / total)
        best_pick, best_closest, best_potential = -1, closest, np.inf
        for pick in candidates:
            _, d_new = _assign(x, x[pick : pick + 1], chunk_rows)
            merged = np.minimum(closest, d_new)
            potential = float(merged.sum())
            if potential < best_potential:
                best_pick, best_closest, best_potential = int(pick), merged, potential
        centroids[j] = x[best_pick]
        closest = best_closest
    return centroids


def _centroid_sums(x: np.ndarray, labels: np.ndarray, k: int, chunk_rows: int) -> np.ndarray:
    """Per-cluster sums of rows, by boolean masks per chunk: on 100k × 128 rows about 4× faster than a
    one-hot matrix product and 50× faster than np.add.at, with copies bounded by the chunk size."""
    sums = np.zeros((k, x.shape[1]), dtype=np.float64)
    for start in range(0, x.shape[0], chunk_rows):
        block, block_labels = x[start : start + chunk_rows], labels[start : start + chunk_rows]
        for j in np.unique(block_labels):
            sums[j] += block[block_labels == j].sum(axis=0, dtype=np.float64)
    return sums


def _lloyd(x: np.ndarray, centroids: np.ndarray, max_iterations: int, chunk_rows: int) -> KMeansResult:
    """Lloyd iterations from given centroids until the inertia stops falling. An emptied cluster is
    re-seeded with the point farthest from its centre."""
    k = centroids.shape[0]
    previous = np.inf
    for _ in range(max_iterations):
        labels, dist = _assign(x, centroids, chunk_rows)
        inertia = float(dist.sum())
        sums = _centroid_sums(x, labels, k, chunk_rows)
        counts = np.bincount(labels, minlength=k)
        for empty in np.flatnonzero(counts == 0):
            far = int(np.argmax(dist))
            sums[empty], counts[empty], dist[far] = x[far], 1, 0.0
        centroids = (sums / counts[:, None]).astype(np.float32)
        if previous - inertia <= TOLERANCE * max(inertia, 1e-12):
            break
        previous = inertia
    labels, dist = _assign(x, centroids, chunk_rows)
    return KMeansResult(labels, centroids, float(dist.sum()))


def _sample(x: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    return x if x.shape[0] <= size else x[np.sort(rng.choice(x.shape[0], size, replace=False))]


def kmeans(
    vectors: np.ndarray,
    k: int,
    seed: int = 0,
    restarts: int = RESTARTS,
    max_iterations: int = MAX_ITERATIONS,
    chunk_rows: int = CHUNK_ROWS,
    sample_size: int = SAMPLE_SIZE,
    init: np.ndarray | None = None,
) -> KMeansResult:
    """k-means with greedy k-means++ seeding; the restart with the lowest inertia wins. Deterministic for
    a fixed seed. With more than ``sample_size`` rows the restarts run on a seeded sample and one Lloyd
    run on all rows refines the best of them; ``init`` skips seeding and refines given centroids."""
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2 or not 1 <= k <= x.shape[0]:
        raise LensError(f"Cannot make {k} clusters from {x.shape[0] if x.ndim == 2 else 0} photos.")
    if init is not None:
        return _lloyd(x, np.asarray(init, dtype=np.float32), max_iterations, chunk_rows)
    rng = np.random.default_rng(seed)
    if x.shape[0] > sample_size:
        start = kmeans(
            _sample(x, sample_size, rng), k, seed, restarts, max_iterations, chunk_rows, sample_size
        )
        return _lloyd(x, start.centroids, max_iterations, chunk_rows)
    best: KMeansResult | None = None
    for _ in range(max(1, restarts)):
        result = _lloyd(x, _plus_plus(x, k, rng, chunk_rows), max_iterations, chunk_rows)
        if best is None or result.inertia < best.inertia:
            best = result
    assert best is not None
    return best


def _distances(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    return np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0))


def _silhouette(dist: np.ndarray, labels: np.ndarray) -> float:
    clusters, codes = np.unique(labels, return_inverse=True)
    n = dist.shape[0]
    if clusters.size < 2 or clusters.size >= n:
        raise LensError("The silhouette needs between 2 and n-1 clusters.")
    onehot = np.zeros((n, clusters.size))
    onehot[np.arange(n), codes] = 1.0
    sums = dist @ onehot  # (n, clusters): total distance to each cluster
    sizes = onehot.sum(axis=0)
    own_size = sizes[codes]
    a = sums[np.arange(n), codes] / np.maximum(own_size - 1, 1)
    other = sums / sizes[None, :]
    other[np.arange(n), codes] = np.inf
    b = other.min(axis=1)
    s = (b - a) / np.maximum(np.maximum(a, b), 1e-12)
    s[own_size == 1] = 0.0
    return float(s.mean())


def silhouette(vectors: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (Rousseeuw 1987) with Euclidean distances; O(n²) memory, so pass a sample.
    Points alone in their cluster count 0, as in scikit-learn."""
    return _silhouette(_distances(vectors), np.asarray(labels))


def choose_k(
    vectors: np.ndarray,
    candidates: Sequence[int],
    seed: int = 0,
    sample_size: int = SAMPLE_SIZE,
    restarts: int = RESTARTS,
) -> tuple[int, dict[int, float], np.ndarray]:
    """Pick the k with the highest silhouette; k-means and silhouette run on one seeded sample (whose
    distance matrix is computed once for all candidates). Returns k, the scores and k's sample centroids."""
    x = np.asarray(vectors, dtype=np.float32)
    sample = _sample(x, sample_size, np.random.default_rng(seed))
    dist = _distances(sample)
    scores: dict[int, float] = {}
    centroids: dict[int, np.ndarray] = {}
    for k in candidates:
        if 2 <= k < sample.shape[0]:
            fitted = kmeans(sample, k, seed=seed, restarts=restarts, sample_size=sample_size)
            if np.unique(fitted.labels).size >= 2:
                scores[k] = _silhouette(dist, fitted.labels)
                centroids[k] = fitted.centroids
    if not scores:
        raise LensError(f"Too few photos ({x.shape[0]}) to choose a number of clusters.")
    best = max(scores, key=lambda k: (scores[k], -k))  # ties go to the smaller k
    return best, scores, centroids[best]


def name_clusters(
    vectors: np.ndarray,
    result: KMeansResult,
    anchors: np.ndarray | None = None,
    values: Sequence[str] = (),
    names_per_cluster: int = NAMES_PER_CLUSTER,
    representatives: int = REPRESENTATIVES,
) -> list[ClusterInfo]:
    """Size, nearest value words and representative photos of each cluster."""
    x = np.asarray(vectors, dtype=np.float32)
    infos = []
    for index, centroid in enumerate(result.centroids):
        members = np.flatnonzero(result.labels == index)
        dist = np.sum((x[members] - centroid) ** 2, axis=1)
        order = members[np.argsort(dist, kind="stable")][:representatives]
        names: list[tuple[str, float]] = []
        if anchors is not None and len(values):
            scores = np.asarray(anchors, dtype=np.float32) @ centroid
            top = np.argsort(-scores, kind="stable")[:names_per_cluster]
            names = [(values[int(i)], float(scores[i])) for i in top]
        infos.append(ClusterInfo(index, int(members.size), names, order))
    return infos


def cluster(
    projected: np.ndarray,
    k: int | None = None,
    anchors: np.ndarray | None = None,
    values: Sequence[str] = (),
    seed: int = 0,
    max_k: int = MAX_AUTO_K,
    sample_size: int = SAMPLE_SIZE,
    restarts: int = RESTARTS,
) -> Clustering:
    """Cluster lens-space vectors (n, dim). ``k=None`` picks k in 2..max_k by silhouette on a sample.

    ``anchors``/``values`` (from :mod:`photolens.lenses.group`) name the clusters; without them the
    clusters are unnamed. Clusters are numbered by decreasing size.
    """
    x = np.asarray(projected, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 2:
        raise LensError("Clustering needs at least two photos.")
    scores: dict[int, float] = {}
    init = None
    if k is None:
        upper = min(max_k, x.shape[0] - 1)
        k, scores, init = choose_k(
            x, range(2, upper + 1), seed=seed, sample_size=sample_size, restarts=restarts
        )
    result = kmeans(x, k, seed=seed, restarts=restarts, sample_size=sample_size, init=init)
    order = np.argsort(-np.bincount(result.labels, minlength=k), kind="stable")
    relabel = np.empty(k, dtype=np.int64)
    relabel[order] = np.arange(k)
    result = KMeansResult(relabel[result.labels], result.centroids[order], result.inertia)
    return Clustering(
        labels=result.labels,
        centroids=result.centroids,
        clusters=name_clusters(x, result, anchors, values),
        silhouette=scores.get(k, float("nan")),
        silhouette_by_k=scores,
    )
