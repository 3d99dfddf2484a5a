"""Vector index layer: exactness, recall on clustered data, incremental consistency, filters, persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from photolens.vindex import (
    PAD_ID,
    ExactIndex,
    HnswIndex,
    HnswParams,
    IndexCorruptError,
    IndexManager,
    IndexSettings,
    SearchHits,
    VectorIndex,
    bytes_per_photo,
)

DIM = 48
KEY = ("test-model", "raw")


def clustered(n: int, dim: int = DIM, seed: int = 0, clusters: int = 40) -> np.ndarray:
    """Gaussian clusters of varying size and spread around a shared direction, like CLIP photo vectors."""
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(dim)
    centres = rng.standard_normal((clusters, dim)) + 1.5 * common / np.linalg.norm(common) * np.sqrt(dim) / 4
    sizes = rng.lognormal(0, 0.8, clusters)
    labels = rng.choice(clusters, size=n, p=sizes / sizes.sum())
    spread = rng.uniform(0.3, 0.8, clusters)
    x = centres[labels] + spread[labels, None] * rng.standard_normal((n, dim)) * np.linalg.norm(
        centres, axis=1
    ).mean() / np.sqrt(dim)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def reference(queries: np.ndarray, ids: np.ndarray, vecs: np.ndarray, k: int) -> SearchHits:
    """Brute force with the documented order (score desc, then id) and padding."""
    q = np.atleast_2d(queries)
    out_ids = np.full((q.shape[0], k), PAD_ID, dtype=np.int64)
    out_sc = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
    for r in range(q.shape[0]):
        s = vecs @ q[r]
        order = np.lexsort((ids, -s))[:k]
        out_ids[r, : order.size] = ids[order]
        out_sc[r, : order.size] = s[order]
    return SearchHits(out_ids, out_sc)


def recall(got: np.ndarray, want: np.ndarray) -> float:
    hits = [len(set(g[g >= 0]) & set(w[w >= 0])) / max((w >= 0).sum(), 1) for g, w in zip(got, want)]
    return float(np.mean(hits))


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    both = clustered(3040)  # queries from the same distribution ("more like this" on unseen photos)
    x, queries = both[:3000], both[3000:]
    ids = np.random.default_rng(1).permutation(100_000)[:3000].astype(np.int64)
    return ids, x, queries


# -- exact -------------------------------------------------------------------------------------------


def test_exact_matches_brute_force(data):
    ids, x, q = data
    index = ExactIndex.from_arrays(ids, x)
    assert isinstance(index, VectorIndex)
    assert len(index) == 3000 and index.dim == DIM
    for k in (1, 10, 50):
        got = index.search(q, k)
        want = reference(q, ids, x, k)
        np.testing.assert_array_equal(got.ids, want.ids)
        np.testing.assert_allclose(got.scores, want.scores, rtol=1e-5, atol=1e-6)
    single = index.search(q[0], 5)
    assert single.ids.shape == (1, 5)
    np.testing.assert_array_equal(single.ids[0], reference(q[:1], ids, x, 5).ids[0])


def test_exact_pads_when_fewer_than_k():
    index = ExactIndex(4)
    assert index.search(np.ones(4, np.float32) / 2, 3).ids.tolist() == [[PAD_ID] * 3]
    index.add(np.array([5, 9]), np.eye(4, dtype=np.float32)[:2])
    hits = index.search(np.eye(4, dtype=np.float32)[0], 5)
    assert hits.ids[0].tolist() == [5, 9, PAD_ID, PAD_ID, PAD_ID]
    assert np.isneginf(hits.scores[0, 2:]).all()
    ids, scores = hits.row(0)
    assert ids.tolist() == [5, 9] and scores.tolist() == [1.0, 0.0]
    assert index.search(np.eye(4, dtype=np.float32)[0], 0).ids.shape == (1, 0)


def test_exact_incremental_add_replace_remove(data):
    ids, x, q = data
    rng = np.random.default_rng(3)
    index = ExactIndex(DIM)
    model: dict[int, np.ndarray] = {}
    for start in range(0, 3000, 250):  # grows through several reallocations
        index.add(ids[start : start + 250], x[start : start + 250])
        model.update(zip(ids[start : start + 250].tolist(), x[start : start + 250]))
    changed = rng.choice(ids, 300, replace=False)
    new_vecs = clustered(300, seed=11)
    index.add(changed, new_vecs)  # replaces: a changed photo
    model.update(zip(changed.tolist(), new_vecs))
    gone = rng.choice(ids, 2500, replace=False)  # enough to trigger the shrink path
    index.remove(np.concatenate([gone, [10**9]]))  # unknown ids are ignored
    for g in gone.tolist():
        model.pop(g)
    index.remove(gone)  # removing twice is harmless
    # duplicate id in one batch: the last vector wins
    index.add(np.array([777_777, 777_777]), np.stack([x[0], x[1]]))
    model[777_777] = x[1]
    assert len(index) == len(model)
    ref_ids = np.array(sorted(model), dtype=np.int64)
    ref_vecs = np.stack([model[i] for i in ref_ids.tolist()])
    assert sorted(index.ids().tolist()) == ref_ids.tolist()
    got = index.search(q, 20)
    want = reference(q, ref_ids, ref_vecs, 20)
    np.testing.assert_array_equal(got.ids, want.ids)
    present, vecs = index.get(np.array([777_777, 123_456_789]))
    assert present.tolist() == [777_777]
    np.testing.assert_array_equal(vecs[0], x[1])


@pytest.mark.parametrize("fraction", [0.002, 0.03, 0.2, 0.7])
def test_exact_filter_is_exact_top_k_among_allowed(data, fraction):
    ids, x, q = data
    index = ExactIndex.from_arrays(ids, x)
    rng = np.random.default_rng(5)
    allowed = rng.choice(ids, max(1, int(fraction * ids.size)), replace=False)
    allowed_with_noise = np.concatenate([allowed, [999_999_999, allowed[0]]])  # unknown + duplicate
    sub = np.isin(ids, allowed)
    for k in (5, 30):
        got = index.search(q, k, allowed=allowed_with_noise)
        want = reference(q, ids[sub], x[sub], k)
        np.testing.assert_array_equal(got.ids, want.ids)
    assert index.search(q, 5, allowed=np.array([], dtype=np.int64)).ids.max() == PAD_ID


# -- hnsw --------------------------------------------------------------------------------------------


def test_hnsw_recall_on_clustered_data(data):
    ids, x, q = data
    hnsw = HnswIndex(DIM, HnswParams(m=16, ef_construction=100, ef_search=64), capacity=500)
    hnsw.add(ids, x)  # grows from 500 by resize_index
    assert len(hnsw) == 3000 and isinstance(hnsw, VectorIndex)
    exact = ExactIndex.from_arrays(ids, x)
    for k in (10, 50):
        assert recall(hnsw.search(q, k).ids, exact.search(q, k).ids) >= 0.97
    got = hnsw.search(q, 10)
    want = exact.search(q, 10)
    np.testing.assert_allclose(got.scores[:, 0], want.scores[:, 0], atol=1e-5)


def test_hnsw_incremental_consistency(data):
    ids, x, q = data
    hnsw = HnswIndex(DIM, capacity=100)
    hnsw.add(ids[:2000], x[:2000])
    hnsw.add(ids[2000:], x[2000:])
    gone = ids[:600]
    hnsw.remove(gone)
    hnsw.remove(gone)  # idempotent
    hnsw.remove(np.array([123_456_789]))
    assert len(hnsw) == 2400
    assert hnsw.deleted_fraction == pytest.approx(600 / 3000)
    hits = hnsw.search(x[:600], 10)
    assert not np.isin(hits.ids, gone).any()
    # changed vector: the photo is found by its new vector, not its old one
    target = int(ids[2500])
    hnsw.add(np.array([target]), x[10:11])
    assert hnsw.search(x[10], 1).ids[0, 0] == target
    # re-adding a deleted id revives it
    hnsw.add(ids[:1], x[:1])
    assert ids[0] in hnsw and len(hnsw) == 2401
    assert hnsw.search(x[0], 1).ids[0, 0] == ids[0]
    # tiny or empty results pad instead of raising
    small = HnswIndex(DIM)
    assert small.search(q[0], 3).ids.tolist() == [[PAD_ID] * 3]
    small.add(ids[:2], x[:2])
    small.remove(ids[:1])
    assert small.search(q[0], 3).ids[0].tolist() == [ids[1], PAD_ID, PAD_ID]


@pytest.mark.parametrize("fraction", [0.6, 0.05])
def test_hnsw_filter_returns_only_allowed_with_high_recall(data, fraction):
    ids, x, q = data
    hnsw = HnswIndex(DIM)
    hnsw.add(ids, x)
    exact = ExactIndex.from_arrays(ids, x)
    allowed = np.random.default_rng(9).choice(ids, int(fraction * ids.size), replace=False)
    got = hnsw.search(q, 10, allowed=allowed)
    assert np.isin(got.ids, allowed).all()
    assert recall(got.ids, exact.search(q, 10, allowed=allowed).ids) >= 0.95
    # A filter far from the query (a folder of other events): over-fetch finds none, the callback must.
    far = ids[np.argsort(x @ q[0])[:300]]
    got = hnsw.search(q[0], 10, allowed=far)
    assert np.isin(got.ids, far).all()
    assert recall(got.ids, exact.search(q[0], 10, allowed=far).ids) >= 0.9
    few = allowed[:3]
    got = hnsw.search(q[:2], 10, allowed=few)
    assert sorted(got.row(0)[0].tolist()) == sorted(few.tolist())
    assert (got.ids[:, 3:] == PAD_ID).all()


def test_hnsw_save_load_roundtrip_and_checks(tmp_path: Path, data):
    ids, x, q = data
    hnsw = HnswIndex(DIM)
    hnsw.add(ids, x)
    hnsw.remove(ids[:10])
    path = tmp_path / "raw.hnsw"
    meta = {"model_key": "m", "lens_key": "raw"}
    hnsw.save(path, meta=meta)
    loaded = HnswIndex.load(path, expected_ids=ids[10:], expected_meta=meta)
    assert len(loaded) == 2990 and loaded.deleted_fraction == pytest.approx(10 / 3000)
    np.testing.assert_array_equal(loaded.search(q, 10).ids, hnsw.search(q, 10).ids)
    assert not list(tmp_path.glob(".*.tmp")), "temporary files must not survive a save"
    with pytest.raises(IndexCorruptError, match="out of date"):
        HnswIndex.load(path, expected_ids=ids)
    with pytest.raises(IndexCorruptError, match="built for"):
        HnswIndex.load(path, expected_meta={"model_key": "other", "lens_key": "raw"})


@pytest.mark.parametrize("damage", ["truncate", "flip", "sidecar", "ids", "missing"])
def test_hnsw_damaged_file_is_detected_before_hnswlib_reads_it(tmp_path: Path, data, damage):
    ids, x, _ = data
    hnsw = HnswIndex(DIM)
    hnsw.add(ids[:1000], x[:1000])
    path = tmp_path / "raw.hnsw"
    hnsw.save(path)
    blob = path.read_bytes()
    if damage == "truncate":  # hnswlib itself would crash or read garbage on this
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "flip":
        mid = len(blob) // 2
        path.write_bytes(blob[:mid] + bytes([blob[mid] ^ 0xFF]) + blob[mid + 1 :])
    elif damage == "sidecar":
        path.with_name(path.name + ".json").write_text("{not json")
    elif damage == "ids":
        p = path.with_name(path.name + ".ids")
        p.write_bytes(p.read_bytes()[:-8])
    else:
        path.unlink()
    with pytest.raises(IndexCorruptError):
        HnswIndex.load(path, expected_ids=ids[:1000])


# -- manager -----------------------------------------------------------------------------------------


def sync_settings(**kw) -> IndexSettings:
    base = {"mode": "hnsw", "background": False, "params": HnswParams(ef_search=64)}
    base.update(kw)
    return IndexSettings(**base)


def test_manager_search_matches_exact_and_follows_updates(tmp_path: Path, data):
    ids, x, q = data
    mgr = IndexManager(tmp_path, sync_settings())
    mgr.open(KEY, ids[:2500], x[:2500])
    assert mgr.status(KEY).backend == "hnsw"
    exact = ExactIndex.from_arrays(ids[:2500], x[:2500])
    got = mgr.search(KEY, q, 10)
    want = exact.search(q, 10)
    assert recall(got.ids, want.ids) >= 0.97
    # scores are exact (re-scored against the exact vectors), not hnswlib's approximations
    rows = {i: r for r, i in enumerate(ids[:2500].tolist())}
    for r in range(q.shape[0]):
        for i, s in zip(*got.row(r)):
            assert s == pytest.approx(float(x[rows[int(i)]] @ q[r]), abs=1e-5)
    # add, change, delete: the next search reflects them
    mgr.add(KEY, ids[2500:], x[2500:])
    mgr.remove(KEY, ids[:300])
    moved = int(ids[1000])
    mgr.add(KEY, np.array([moved]), q[:1])  # changed photo: now identical to query 0
    got = mgr.search(KEY, q, 10)
    assert got.ids[0, 0] == moved and got.scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert not np.isin(got.ids, ids[:300]).any()
    assert mgr.status(KEY).pending == 0 and mgr.status(KEY).count == 2700
    present, vecs = mgr.vectors(KEY, np.array([moved, int(ids[0])]))
    assert present.tolist() == [moved] and np.array_equal(vecs[0], q[0])
    # filters: narrow ones are answered exactly, wide ones stay inside the allowed set
    live_ids, live_vecs = np.array(ids[300:]), x[300:].copy()
    live_vecs[np.flatnonzero(live_ids == moved)[0]] = q[0]
    narrow = live_ids[::50]
    got = mgr.search(KEY, q, 10, allowed=narrow)
    sub = np.isin(live_ids, narrow)
    np.testing.assert_array_equal(got.ids, reference(q, live_ids[sub], live_vecs[sub], 10).ids)
    wide = np.concatenate([live_ids[::2], ids[:300]])  # includes deleted ids: never returned
    mgr_wide = IndexManager(None, sync_settings(exact_subset_cost=0))
    mgr_wide.open(KEY, live_ids, live_vecs)
    got = mgr_wide.search(KEY, q, 10, allowed=wide)
    assert np.isin(got.ids, live_ids[::2]).all()
    sub = np.isin(live_ids, wide)
    assert recall(got.ids, reference(q, live_ids[sub], live_vecs[sub], 10).ids) >= 0.95
    mgr.close()
    mgr_wide.close()


def test_manager_compacts_after_many_deletions(data):
    ids, x, q = data
    mgr = IndexManager(None, sync_settings(compact_fraction=0.2))
    mgr.open(KEY, ids, x)
    mgr.remove(KEY, ids[:500])
    assert mgr.status(KEY).deleted_fraction == pytest.approx(500 / 3000)
    mgr.remove(KEY, ids[500:800])  # crosses 20%: rebuilt without the deleted elements
    status = mgr.status(KEY)
    assert status.deleted_fraction == 0.0 and status.hnsw_count == 2200
    assert not np.isin(mgr.search(KEY, q, 20).ids, ids[:800]).any()


def test_manager_persists_loads_and_reconciles(tmp_path: Path, data, monkeypatch):
    ids, x, q = data
    mgr = IndexManager(tmp_path, sync_settings())
    mgr.open(KEY, ids[:2800], x[:2800])
    mgr.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 3 and any(f.endswith(".hnsw.json") for f in files)

    builds = []
    original = IndexManager._build
    monkeypatch.setattr(IndexManager, "_build", lambda self, e: builds.append(e.key) or original(self, e))
    # The store changed while the app was closed: 200 photos new, 100 deleted, 50 re-embedded.
    store_ids = np.concatenate([ids[100:2800], ids[2800:]])
    store_vecs = np.concatenate([x[100:2800], x[2800:]]).copy()
    changed = np.arange(50)
    store_vecs[changed] = clustered(50, seed=99)
    mgr2 = IndexManager(tmp_path, sync_settings())
    mgr2.open(KEY, store_ids, store_vecs)
    assert builds == [], "a valid persisted graph is loaded and repaired, not rebuilt"
    assert mgr2.status(KEY).backend == "hnsw" and mgr2.status(KEY).hnsw_count == 2900
    got = mgr2.search(KEY, store_vecs[changed], 1)
    assert got.ids[:, 0].tolist() == store_ids[changed].tolist()
    assert not np.isin(mgr2.search(KEY, q, 20).ids, ids[:100]).any()
    assert recall(mgr2.search(KEY, q, 10).ids, reference(q, store_ids, store_vecs, 10).ids) >= 0.97
    mgr2.close()

    # Damage the saved graph: detected, rebuilt, and searches stay right.
    graph = next(p for p in tmp_path.iterdir() if p.name.endswith(".hnsw"))
    graph.write_bytes(graph.read_bytes()[:1000])
    mgr3 = IndexManager(tmp_path, sync_settings())
    mgr3.open(KEY, store_ids, store_vecs)
    assert builds == [KEY]
    assert recall(mgr3.search(KEY, q, 10).ids, reference(q, store_ids, store_vecs, 10).ids) >= 0.97
    mgr3.close()
    side = json.loads(next(p for p in tmp_path.iterdir() if p.name.endswith(".json")).read_text())
    assert side["count"] == 2900 and side["meta"] == {"model_key": KEY[0], "lens_key": KEY[1]}


def test_manager_background_build_never_blocks_search(data):
    ids, x, q = data
    mgr = IndexManager(None, IndexSettings(mode="hnsw", params=HnswParams(ef_search=64)))
    mgr.open(KEY, ids, x)
    hits = mgr.search(KEY, q, 10)  # served exactly (or by the graph if it already finished)
    assert recall(hits.ids, reference(q, ids, x, 10).ids) >= 0.97
    mgr.add(KEY, np.array([5_000_000]), q[:1])  # a write during the build is journaled and replayed
    assert mgr.wait(timeout=60)
    assert mgr.status(KEY).backend == "hnsw" and mgr.status(KEY).hnsw_count == 3001
    assert mgr.search(KEY, q[0], 1).ids[0, 0] == 5_000_000
    mgr.close()


def test_manager_auto_mode_switches_by_size(data):
    ids, x, q = data
    mgr = IndexManager(None, IndexSettings(background=False, hnsw_min_cost=2000 * DIM, hnsw_floor=1000))
    mgr.open(KEY, ids[:1500], x[:1500])
    assert mgr.status(KEY).backend == "exact"
    mgr.add(KEY, ids[1500:], x[1500:])
    assert mgr.status(KEY).backend == "hnsw"
    mgr.remove(KEY, ids[:2500])  # far below the switch-over and the floor: the graph is dropped
    assert mgr.status(KEY).backend == "exact"
    exact_only = IndexManager(None, IndexSettings(mode="exact", background=False))
    exact_only.open(KEY, ids, x)
    np.testing.assert_array_equal(exact_only.search(KEY, q, 10).ids, reference(q, ids, x, 10).ids)
    with pytest.raises(KeyError):
        exact_only.search(("other", "raw"), q, 1)


def test_bytes_per_photo_states_memory():
    est = bytes_per_photo(512, m=16)
    assert est.exact == 512 * 4 + 8 + 4
    assert 2048 + 132 < est.hnsw < 2600
    assert est.for_photos(1_000_000) < 5 * 2**30  # 1M photos at 512-d: under 5 GiB for both indexes
    assert bytes_per_photo(128, hnsw=False).hnsw == 0


def test_manager_one_writer_many_readers(data):
    """Writes, searches and a background build interleave: no errors, no unknown ids, right final state."""
    import threading

    ids, x, q = data
    mgr = IndexManager(None, IndexSettings(mode="hnsw", params=HnswParams(ef_search=64), apply_batch=32))
    mgr.open(KEY, ids[:1000], x[:1000])
    errors: list[BaseException] = []
    stop = threading.Event()
    ever = set(ids.tolist())

    def reader() -> None:
        try:
            while not stop.is_set():
                got = mgr.search(KEY, q[:4], 10)
                bad = set(got.ids[got.ids >= 0].tolist()) - ever
                assert not bad, bad
                assert (got.ids[:, :10] >= 0).all()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for start in range(1000, 3000, 100):
            mgr.add(KEY, ids[start : start + 100], x[start : start + 100])
            mgr.remove(KEY, ids[start - 1000 : start - 950])
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert not errors, errors[0]
    assert mgr.wait(timeout=60)
    removed = np.concatenate([ids[s - 1000 : s - 950] for s in range(1000, 3000, 100)])
    live = np.setdiff1d(ids, removed)
    status = mgr.status(KEY)
    assert status.count == live.size and status.backend == "hnsw" and status.pending == 0
    got = mgr.search(KEY, q, 10)
    assert not np.isin(got.ids, removed).any()
    keep = np.isin(ids, live)
    assert recall(got.ids, reference(q, ids[keep], x[keep], 10).ids) >= 0.95
    mgr.close()


def test_manager_pending_changes_are_searched_exactly(tmp_path: Path, data):
    """While a save holds the graph, changes wait; searches still see them (exact merge, re-scoring)."""
    ids, x, q = data
    mgr = IndexManager(tmp_path, sync_settings())
    mgr.open(KEY, ids[:2000], x[:2000])
    entry = mgr._entries[KEY]
    with entry.save_lock:  # as if a save were writing the graph
        mgr.add(KEY, ids[2000:2100], x[2000:2100])
        mgr.add(KEY, ids[:1], q[:1])  # changed
        mgr.remove(KEY, ids[1:51])
        assert mgr.status(KEY).pending == 151
        live = np.concatenate([ids[:1], ids[51:2100]])
        vecs = np.concatenate([q[:1], x[51:2100]])
        got = mgr.search(KEY, q, 10)
        assert not np.isin(got.ids, ids[1:51]).any()
        assert got.ids[0, 0] == ids[0]
        assert recall(got.ids, reference(q, live, vecs, 10).ids) >= 0.97
        allowed = ids[1900:2100]  # narrow: exact path; includes pending additions
        mgr_hits = mgr.search(KEY, x[2050], 5, allowed=allowed)
        assert mgr_hits.ids[0, 0] == ids[2050]
    mgr.save()
    assert mgr.status(KEY).pending == 0
    mgr.close()


def test_sparse_ids_fall_back_from_table_to_dict(data):
    """Huge ids (not SQLite-like) must not allocate a table up to the largest id."""
    from photolens.vindex.idmap import MISSING, IdMap

    m = IdMap()
    m.set(np.array([1, 5, 7]), np.array([0, 1, 2]))
    assert len(m) == 3 and 5 in m and 6 not in m and m.value_of(7) == 2
    m.set(np.array([10**13]), np.array([3]))  # switches to the dict
    assert m.nbytes < 10**6 and len(m) == 4
    assert m.get(np.array([5, 10**13, 99])).tolist() == [1, 3, MISSING]
    m.delete(np.array([5, 123]))
    assert m.keys().tolist() == [1, 7, 10**13] and m.keys_with(3).tolist() == [10**13]

    ids, x, q = data
    sparse = ids * 10**9
    exact = ExactIndex.from_arrays(sparse, x)
    hnsw = HnswIndex(DIM)
    hnsw.add(sparse, x)
    want = reference(q, sparse, x, 10)
    np.testing.assert_array_equal(exact.search(q, 10).ids, want.ids)
    assert recall(hnsw.search(q, 10).ids, want.ids) >= 0.97
    exact.remove(sparse[:100])
    hnsw.remove(sparse[:100])
    assert len(exact) == len(hnsw) == 2900 and sparse[100] in exact and sparse[0] not in hnsw
