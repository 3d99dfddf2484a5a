"""Exact vs hnsw search on CLIP-like clustered vectors: build time, latency, recall, memory, filters.

    python -m benchmarks.search_bench [--sizes 10000,100000,1000000] [--dims 512,128] [--ef 0,256,512,1024]
        [--index-cache DIR]  # keep built graphs; a later run re-measures search without rebuilding

Data: a few thousand Gaussian clusters ("events") of log-normal size and spread on the sphere, sharing a
strong common direction (CLIP photo vectors have one: random photo pairs have cosine ~0.3-0.5), an
anisotropic spectrum (energy concentrated in the leading directions, like CLIP's), and 10% near-duplicates
(bursts). Queries: 100 "photo" queries (unseen photos of existing events: "more like this") and 100 "text"
queries (offset by a separate text direction, so best matches have cosine ~0.45, like CLIP text->image).
Every figure for hnsw is set against the exact search of the same run, on the same machine state; the load
average is printed because other processes on this machine skew absolute timings, and CPU time is given
next to wall time for the same reason.

Recorded 2026-11-23 on the 2-core development box (k=50; single queries; M=16, ef_construction=200, ef by
``auto_ef``; search figures from a run at load average ~1.5, builds from runs sharing the box):

    n x d       exact p50   hnsw p50 (p95)   R@10   R@50 (text)     build wall / CPU   RSS exact + hnsw
    100k x 512    6.7 ms    0.43 (0.61) ms   0.999  0.996 (0.997)    70 s / 41 s        195 + 209 MiB
    1M x 512     68.5 ms    2.0 (2.4) ms     0.985  0.985 (0.976)   438 s / 651 s      1953 + 2221 MiB
    100k x 128    2.0 ms    0.31 (0.41) ms   0.999  0.998 (0.998)    47 s / 23 s         49 + 63 MiB
    1M x 128     19.4 ms    1.4 (1.7) ms     0.992  0.994 (0.991)   646 s / 388 s       488 + 685 MiB

    filtered, 1M x 512: 10% allowed: exact 68 ms, hnsw over-fetch 4.1 ms (R@50 0.974);
                         1% allowed: exact 3.9 ms, hnsw filter callback 164 ms (IndexManager uses exact)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photolens.vindex import ExactIndex, HnswIndex, HnswParams, IndexSettings, bytes_per_photo  # noqa: E402
from photolens.vindex.hnsw import OVERFETCH_MAX, auto_ef, overfetch_size  # noqa: E402

K = 50


# -- data ----------------------------------------------------------------------------------------


def _unit(a: np.ndarray) -> np.ndarray:
    a /= np.linalg.norm(a, axis=-1, keepdims=True)
    return a


def clustered(n: int, d: int, n_queries: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(vectors (n, d), queries (n_queries, d)): first half photo-like queries, second half text-like."""
    rng = np.random.default_rng(seed)
    n_clusters = int(np.clip(n // 250, 20, 4000))
    basis = np.linalg.qr(rng.standard_normal((d, d)))[0].astype(np.float32)
    common, text_dir, sem = basis[:, 0].copy(), basis[:, 1].copy(), basis[:, 2:]
    spec = np.arange(1, d - 1, dtype=np.float32) ** -0.5
    spec /= np.sqrt((spec**2).sum())
    centres = _unit(rng.standard_normal((n_clusters, d - 2)).astype(np.float32) * spec) @ sem.T
    centres = _unit(0.7 * common + 0.75 * centres)
    weights = rng.lognormal(0, 1.0, n_clusters)
    weights /= weights.sum()
    spread = rng.lognormal(np.log(0.6), 0.4, n_clusters).astype(np.float32)

    def photos(labels: np.ndarray) -> np.ndarray:
        noise = _unit((rng.standard_normal((labels.size, d - 2)).astype(np.float32) * spec) @ sem.T)
        return _unit(centres[labels] + spread[labels, None] * noise)

    labels = rng.choice(n_clusters, size=n, p=weights)
    x = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, 65536):
        x[s : s + 65536] = photos(labels[s : s + 65536])
    dup_src, dup_dst = rng.integers(0, n, n // 10), rng.integers(0, n, n // 10)
    x[dup_dst] = _unit(x[dup_src] + 0.01 * rng.standard_normal((dup_src.size, d)).astype(np.float32))
    nq = n_queries // 2
    q_photo = photos(rng.choice(n_clusters, size=nq, p=weights))
    tl = rng.choice(n_clusters, size=n_queries - nq)
    sem_dir = _unit(centres[tl] - (centres[tl] @ common)[:, None] * common)
    z = _unit(rng.standard_normal((tl.size, d)).astype(np.float32))
    q_text = _unit(0.45 * sem_dir + 0.8 * text_dir + 0.25 * common + 0.35 * z)
    return x, np.vstack([q_photo, q_text]).astype(np.float32)


# -- measuring -----------------------------------------------------------------------------------


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def latencies(search, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Single-query wall and CPU latencies in ms (the interactive case) and the (q, K) result ids.

    CPU time (this thread) shows the work itself; wall time adds waiting for a core on a busy machine.
    """
    out, wall, cpu = [], [], []
    for i in range(queries.shape[0]):
        c0, t0 = time.thread_time(), time.perf_counter()
        hits = search(queries[i])
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        out.append(hits.ids[0])
    return np.asarray(wall) * 1e3, np.asarray(cpu) * 1e3, np.stack(out)


def recall(got: np.ndarray, want: np.ndarray, k: int) -> np.ndarray:
    rows = []
    for g, w in zip(got[:, :k], want[:, :k]):
        w = w[w >= 0]
        rows.append(len(set(g.tolist()) & set(w.tolist())) / max(w.size, 1))
    return np.asarray(rows)


@dataclass
class Row:
    n: int
    dim: int
    index: str
    params: str
    build_s: float | None
    build_cpu_s: float | None
    build_note: str
    mem_mib: float | None
    bytes_per_photo: int
    p50_ms: float
    p95_ms: float
    p50_cpu_ms: float
    speedup: float
    r10: float
    r50: float
    r50_text: float
    r50_worst: float


@dataclass
class FilterRow:
    n: int
    dim: int
    allowed: str
    exact_p50_ms: float
    hnsw_p50_ms: float
    hnsw_p95_ms: float
    hnsw_r10: float
    hnsw_r50: float
    route: str


def bench(n: int, d: int, args: argparse.Namespace) -> tuple[list[Row], list[FilterRow], dict]:
    print(f"\n== {n} x {d}: generating", flush=True)
    x, q = clustered(n, d, seed=args.seed)
    ids = np.arange(1, n + 1, dtype=np.int64) * 3  # sparse ids, as after deletions in a real store
    half = q.shape[0] // 2
    gc.collect()
    before = rss()
    t0 = time.perf_counter()
    exact = ExactIndex.from_arrays(ids, x)
    exact_build = time.perf_counter() - t0
    exact_mem = (rss() - before) / 2**20
    truth = exact.search(q, K).ids
    lat_e, cpu_e, _ = latencies(lambda v: exact.search(v, K), q)
    e50 = float(np.median(lat_e))
    rows = [
        Row(
            n=n,
            dim=d,
            index="exact",
            params="float32",
            build_s=exact_build,
            build_cpu_s=None,
            build_note="",
            mem_mib=exact_mem,
            bytes_per_photo=bytes_per_photo(d, hnsw=False).exact,
            p50_ms=e50,
            p95_ms=float(np.percentile(lat_e, 95)),
            p50_cpu_ms=float(np.median(cpu_e)),
            speedup=1.0,
            r10=1.0,
            r50=1.0,
            r50_text=1.0,
            r50_worst=1.0,
        )
    ]
    print(
        f"   exact: {e50:.2f} ms p50 wall, {rows[0].p50_cpu_ms:.2f} ms CPU ({e50 * 1e6 / (n * d):.3f} ns per float)",
        flush=True,
    )

    params = HnswParams(m=args.m, ef_construction=args.efc)
    gc.collect()
    before = rss()
    cache_meta = {"n": n, "dim": d, "m": args.m, "efc": args.efc, "seed": args.seed}
    cached = (
        args.index_cache / f"bench-{n}x{d}-M{args.m}-efc{args.efc}-s{args.seed}.hnsw"
        if args.index_cache
        else None
    )
    hnsw = HnswIndex(d, params, capacity=n)
    t0, c0 = time.perf_counter(), time.process_time()
    built, step, note = 0, 25_000, ""
    cached_times: tuple[float, float] | None = None
    if cached is not None and cached.exists():
        # Re-measuring search on a graph built by an earlier run (same data, same parameters).
        side = json.loads(cached.with_name(cached.name + ".json").read_text())
        del hnsw
        gc.collect()
        before = rss()
        hnsw = HnswIndex.load(cached, expected_ids=ids)
        meta = side["meta"]
        assert {k: meta[k] for k in cache_meta} == cache_meta
        built = n
        note = "graph from --index-cache: build times of the run that built it, RSS of loading it"
        cached_times = (meta["build_s"], meta["build_cpu_s"])
        print(f"   hnsw graph loaded from {cached}", flush=True)
    while built < n:
        t_chunk = time.perf_counter()
        hnsw.add(ids[built : built + step], x[built : built + step])
        built = min(n, built + step)
        elapsed = time.perf_counter() - t0
        rate = step / (time.perf_counter() - t_chunk)
        cpu = time.process_time() - c0
        print(
            f"   hnsw build {built}/{n} in {elapsed:.0f} s wall, {cpu:.0f} s CPU ({rate:.0f}/s now)",
            flush=True,
        )
        if built < n and elapsed > args.build_budget:
            est = elapsed + (n - built) / rate
            note = f"stopped at {built} after {elapsed:.0f}s; full build extrapolated ~{est:.0f}s wall"
            break
    hnsw_mem = (rss() - before) / 2**20
    build_s, build_cpu = cached_times or (time.perf_counter() - t0, time.process_time() - c0)
    if cached is not None and built == n and not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        hnsw.save(
            cached, meta={**cache_meta, "build_s": build_s, "build_cpu_s": build_cpu, "rss_mib": hnsw_mem}
        )
    if built < n:  # measure on what was built, against exact on the same subset
        part = ExactIndex.from_arrays(ids[:built], x[:built])
        truth_h = part.search(q, K).ids
        lat_p, _, _ = latencies(lambda v: part.search(v, K), q)
        base50 = float(np.median(lat_p))
        del part
    else:
        truth_h, base50 = truth, e50
    for ef in args.ef:
        hnsw.ef_search = ef or None  # 0: auto_ef by size, the library default
        lat_h, cpu_h, got = latencies(lambda v: hnsw.search(v, K), q)
        r10, r50 = recall(got, truth_h, 10), recall(got, truth_h, K)
        rows.append(
            Row(
                n=built,
                dim=d,
                index="hnsw",
                params=f"M={args.m} efc={args.efc} ef={ef or f'auto={auto_ef(built)}'}",
                build_s=build_s,
                build_cpu_s=build_cpu,
                build_note=note,
                mem_mib=hnsw_mem,
                bytes_per_photo=bytes_per_photo(d, args.m).hnsw,
                p50_ms=float(np.median(lat_h)),
                p95_ms=float(np.percentile(lat_h, 95)),
                p50_cpu_ms=float(np.median(cpu_h)),
                speedup=base50 / float(np.median(lat_h)),
                r10=float(r10.mean()),
                r50=float(r50.mean()),
                r50_text=float(r50[half:].mean()),
                r50_worst=float(r50.min()),
            )
        )
        r = rows[-1]
        print(
            f"   ef={ef}: {r.p50_ms:.2f} ms p50, {r.p95_ms:.2f} p95, {r.p50_cpu_ms:.2f} CPU, R@10 {r.r10:.4f} "
            f"R@50 {r.r50:.4f} (text {r.r50_text:.4f}, worst {r.r50_worst:.2f})",
            flush=True,
        )

    filters = []
    rng = np.random.default_rng(1)
    hnsw.ef_search = args.ef_filter or None
    qf = np.vstack([q[:50], q[half : half + 50]])  # 50 photo + 50 text queries: narrow hnsw filters are slow
    for frac in args.filters:
        allowed = np.sort(rng.choice(ids[:built], max(1, int(frac * built)), replace=False))
        want = exact.search(qf, K, allowed=allowed).ids
        lat_fe, _, _ = latencies(lambda v, a=allowed: exact.search(v, K, allowed=a), qf)
        lat_fh, _, got = latencies(lambda v, a=allowed: hnsw.search(v, K, allowed=a), qf)
        # IndexManager's rule: narrow filters exactly over the allowed rows, wide ones through the graph.
        narrow = allowed.size * d <= IndexSettings().exact_subset_cost
        route = "exact" if narrow or overfetch_size(K, allowed.size, built) > OVERFETCH_MAX else "hnsw"
        filters.append(
            FilterRow(
                n=built,
                dim=d,
                allowed=f"{frac:.0%}",
                exact_p50_ms=float(np.median(lat_fe)),
                hnsw_p50_ms=float(np.median(lat_fh)),
                hnsw_p95_ms=float(np.percentile(lat_fh, 95)),
                hnsw_r10=float(recall(got, want, 10).mean()),
                hnsw_r50=float(recall(got, want, K).mean()),
                route=route,
            )
        )
        f = filters[-1]
        print(
            f"   filter {f.allowed}: exact {f.exact_p50_ms:.2f} ms, hnsw {f.hnsw_p50_ms:.2f} ms "
            f"(p95 {f.hnsw_p95_ms:.2f}) R@10 {f.hnsw_r10:.4f} R@50 {f.hnsw_r50:.4f}",
            flush=True,
        )

    persist: dict = {}
    if args.persist and built == n:
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            path = Path(tmp) / "bench.hnsw"
            t0 = time.perf_counter()
            hnsw.save(path, meta={"bench": True})
            persist["save_s"] = time.perf_counter() - t0
            persist["file_mib"] = path.stat().st_size / 2**20
            t0 = time.perf_counter()
            HnswIndex.load(path, expected_ids=ids, expected_meta={"bench": True})
            persist["verify_load_s"] = time.perf_counter() - t0
        print(
            f"   persist: save {persist['save_s']:.1f} s, checksum-verified load {persist['verify_load_s']:.1f} s, "
            f"{persist['file_mib']:.0f} MiB",
            flush=True,
        )
    return rows, filters, persist  # the indexes are freed with this frame


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ints = lambda s: [int(v) for v in s.split(",")]  # noqa: E731
    ap.add_argument("--sizes", type=ints, default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--dims", type=ints, default=[512, 128])
    ap.add_argument("--m", type=int, default=HnswParams().m)
    ap.add_argument("--efc", type=int, default=HnswParams().ef_construction)
    ap.add_argument(
        "--ef", type=ints, default=[0, 128, 256, 512, 1024], help="search beams to sweep; 0 = auto"
    )
    ap.add_argument("--ef-filter", type=int, default=0, help="search beam for filtered search; 0 = auto")
    ap.add_argument("--filters", type=lambda s: [float(v) for v in s.split(",")], default=[0.1, 0.01])
    ap.add_argument("--build-budget", type=float, default=900, help="seconds; then extrapolate")
    ap.add_argument("--no-persist", dest="persist", action="store_false")
    ap.add_argument("--tmp", default=None, help="directory for the save/load timing")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--index-cache", type=Path, default=None, help="keep built graphs here and reuse them in later runs"
    )
    ap.add_argument("--json", type=Path, default=None, help="also write all figures here")
    args = ap.parse_args(argv)

    import hnswlib  # noqa: F401  (version line only)

    print(
        f"photolens vector index benchmark: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"numpy {np.__version__}, load average {os.getloadavg()[0]:.1f} at start"
    )
    rows: list[Row] = []
    filters: list[FilterRow] = []
    persists: dict[str, dict] = {}
    for d in args.dims:
        for n in args.sizes:
            r, f, p = bench(n, d, args)
            gc.collect()
            rows += r
            filters += f
            if p:
                persists[f"{n}x{d}"] = p
    print(f"\nload average {os.getloadavg()[0]:.1f} at end (2 cores; other processes inflate timings)\n")
    print(
        "| n | dim | index | params | build s wall | build s CPU | RSS MiB | B/photo (est.) | p50 ms | p95 ms | "
        "p50 CPU ms | x exact (p50) | R@10 | R@50 | R@50 text | worst R@50 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        build = (
            f"{r.build_s:.1f}" + (f" ({r.build_note})" if r.build_note else "")
            if r.build_s is not None
            else ""
        )
        cpu = f"{r.build_cpu_s:.0f}" if r.build_cpu_s is not None else ""
        print(
            f"| {r.n} | {r.dim} | {r.index} | {r.params} | {build} | {cpu} | {r.mem_mib:.0f} | {r.bytes_per_photo} | "
            f"{r.p50_ms:.2f} | {r.p95_ms:.2f} | {r.p50_cpu_ms:.2f} | {r.speedup:.1f} | {r.r10:.4f} | {r.r50:.4f} | "
            f"{r.r50_text:.4f} | {r.r50_worst:.2f} |"
        )
    print(
        f"\nFiltered search (k={K}, random allowed subsets, 100 queries; hnsw ef={args.ef_filter or 'auto'}):\n"
    )
    print(
        "| n | dim | allowed | exact p50 ms | hnsw p50 ms | hnsw p95 ms | hnsw R@10 | hnsw R@50 | manager uses |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for f in filters:
        print(
            f"| {f.n} | {f.dim} | {f.allowed} | {f.exact_p50_ms:.2f} | {f.hnsw_p50_ms:.2f} | {f.hnsw_p95_ms:.2f} | "
            f"{f.hnsw_r10:.4f} | {f.hnsw_r50:.4f} | {f.route} |"
        )
    print("\nMemory per photo (estimate from data layouts; exact always held, hnsw when built):")
    for d in args.dims:
        e = bytes_per_photo(d, args.m)
        print(
            f"  {d}-d: exact {e.exact} B + hnsw(M={args.m}) {e.hnsw} B = {e.total} B; "
            f"1M photos: {e.for_photos(1_000_000) / 2**30:.2f} GiB"
        )
    for key, p in persists.items():
        print(
            f"  {key}: file {p['file_mib']:.0f} MiB, save {p['save_s']:.1f} s, verified load {p['verify_load_s']:.1f} s"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": [asdict(r) for r in rows],
                    "filters": [asdict(f) for f in filters],
                    "persist": persists,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
