"""Is the match line right? Precision/recall of the photos marked as matches, per model, library and query.

Models (``benchmarks/relevance_models.py``): tiny CLIPs trained differently (seed, attribute words,
architecture) plus the randomly initialised ViT-B-32-256 ("knows nothing"). The cutoff's two constants
(``relevance.KNEE``, ``relevance.NULL_QUANTILE``) were tuned on ``fashion-a`` only; every other model is
held out. Libraries per model: ``full`` (all held-out renders) and ``partial`` (no bags, no sneakers, none
of one tint and one background: the queries for those are *absent concepts*).

Queries: one per item, tint and background word, six tint+item pairs, six off-topic sentences the models
never saw (absent everywhere), 20 "similar" photo queries (relevant = same item, tint and background) and
20 composed queries (reference + "in COLOUR": same item and background, the new tint). Per query: precision,
recall and F1 of the set marked as matches, the best F1 any single cosine threshold reaches on that query
(the oracle), and for absent concepts the fraction of the library marked. Summary targets (held-out
models): mean F1 >= 0.6 on present concepts, <= 1 % of the library marked for absent ones, no empty answer.

    python -m benchmarks.relevance_bench [--out bench-data/relevance.json] [--tiny] [--tune]

``--tiny``: a random tiny model and a few dozen planted photos, seconds, for CI (checks the harness runs).
``--tune``: also print the grid over the two constants on the tuning model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photolens.retrieval import relevance
from photolens.retrieval.composed import weighted_fusion
from photolens.retrieval.vocabulary import generic_captions
from photolens.vectors import normalize

OFF_TOPIC = ("a cat sleeping on a sofa", "a mountain lake at sunset", "a photo of a dog.", "a red sports car",
             "a plate of spaghetti", "children playing football")


@dataclass
class Model:
    name: str
    tuned_on: bool
    embedder: Any
    folder: Path  # the fixture whose photos it embeds


@dataclass
class Query:
    kind: str  # item, tint, background, pair, off-topic, similar, composed
    text: str
    vector: np.ndarray
    relevant: np.ndarray  # bool over the library
    exclude: int = -1  # the reference photo of photo queries


def embed_photos(embedder: Any, folder: Path, names: list[str], cache: Path) -> np.ndarray:
    from photolens.imaging import decode_for_model

    if cache.is_file():
        stored = np.load(cache)
        if len(stored) == len(names):
            return stored
    pre = embedder.preprocessing
    chunks = []
    for lo in range(0, len(names), 64):
        pixels = np.stack([decode_for_model(folder / "photos" / n, pre.image_size, pre.interpolation,
                                            pre.resize_mode).pixels for n in names[lo : lo + 64]])
        chunks.append(embedder.encode_pixels(pixels))
    vectors = np.concatenate(chunks)
    np.save(cache, vectors)
    return vectors


def libraries(labels: dict[str, dict[str, str]], vocab: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Row masks of the sorted photo names: the full set, and one lacking two items, a tint, a background."""
    names = sorted(labels)
    gone = ((lambda lab: lab["item"] in ("bag", "sneaker")), (lambda lab: lab["tint"] == vocab["tint"][-2]),
            (lambda lab: lab["background"] == vocab["background"][1]))
    partial = np.array([not any(rule(labels[n]) for rule in gone) for n in names])
    return {"full": np.ones(len(names), dtype=bool), "partial": partial}


def build_queries(embedder: Any, vectors: np.ndarray, labels: dict[str, dict[str, str]],
                  vocab: dict[str, list[str]], seed: int = 0) -> list[Query]:
    names = sorted(labels)
    attr = {k: np.array([labels[n][k] for n in names]) for k in ("item", "tint", "background")}
    texts: list[tuple[str, str, np.ndarray]] = []
    texts += [("item", f"a photo of a {w}.", attr["item"] == w) for w in vocab["item"]]
    texts += [("tint", f"a photo of something {w}.", attr["tint"] == w) for w in vocab["tint"]]
    texts += [("background", f"something on a {w} background.", attr["background"] == w) for w in vocab["background"]]
    rng = np.random.default_rng(seed)
    for _ in range(6):
        t, i = rng.choice(vocab["tint"]), rng.choice(vocab["item"])
        texts.append(("pair", f"a photo of a {t} {i}.", (attr["tint"] == t) & (attr["item"] == i)))
    texts += [("off-topic", s, np.zeros(len(names), dtype=bool)) for s in OFF_TOPIC]
    encoded = embedder.encode_texts([t for _, t, _ in texts])
    queries = [Query(k, t, v, r) for (k, t, r), v in zip(texts, encoded)]
    same = lambda i, keys: np.all([attr[k] == attr[k][i] for k in keys], axis=0)  # noqa: E731
    for i in rng.choice(len(names), 20, replace=False):
        queries.append(Query("similar", f"like {names[i]}", vectors[i], same(i, ("item", "tint", "background")), int(i)))
    tints = vocab["tint"]
    changes = [t for t in tints]
    for i in rng.choice(len(names), 20, replace=False):
        new = rng.choice([t for t in changes if t != attr["tint"][i]])
        change = embedder.encode_texts([f"in {new}"])[0]
        relevant = same(i, ("item", "background")) & (attr["tint"] == new)
        queries.append(Query("composed", f"{names[i]} in {new}", weighted_fusion(vectors[i], change), relevant, int(i)))
    return queries


def judge(query: Query, matrix: np.ndarray, null: relevance.NullModel, keep: np.ndarray) -> np.ndarray:
    """Match mask over the library rows ``keep`` (the photo query's reference excluded), via the product code."""
    q = normalize(query.vector)
    rows = np.flatnonzero(keep)
    curve = relevance.query_curve(q, matrix, null, rows)
    scores = relevance.judged_scores(curve, null, matrix[rows], matrix[rows] @ q, q)
    mask = np.zeros(len(matrix), dtype=bool)
    mask[rows] = scores >= 1.0
    return mask


def best_f1(cos: np.ndarray, relevant: np.ndarray) -> float:
    if not relevant.any():
        return float("nan")
    order = np.argsort(-cos)
    hits = np.cumsum(relevant[order])
    return float((2 * hits / (np.arange(1, len(cos) + 1) + relevant.sum())).max())


def evaluate(model: Model, vectors: np.ndarray, captions: np.ndarray, queries: list[Query],
             libs: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    rows_out = []
    for lib_name, in_lib in libs.items():
        matrix = vectors[in_lib]
        null = relevance.build_null(captions, matrix)
        for query in queries:
            relevant = query.relevant[in_lib]
            keep = np.ones(len(matrix), dtype=bool)
            if query.exclude >= 0:
                if not in_lib[query.exclude]:
                    continue  # the reference is not in this library
                ref_row = int(in_lib[: query.exclude].sum())
                keep[ref_row] = False
                relevant = relevant & keep
            mask = judge(query, matrix, null, keep)
            cos = matrix @ normalize(query.vector)
            tp = int((mask & relevant).sum())
            n_rel, n_mark = int(relevant.sum()), int(mask.sum())
            p = tp / n_mark if n_mark else float(n_rel == 0)
            r = tp / n_rel if n_rel else float("nan")
            f1 = 2 * p * r / (p + r) if n_rel and p + r > 0 else (0.0 if n_rel else float("nan"))
            rows_out.append({
                "model": model.name, "tuned_on": model.tuned_on, "library": lib_name, "kind": query.kind,
                "query": query.text, "relevant": n_rel, "marked": n_mark, "library_size": int(keep.sum()),
                "precision": round(p, 4), "recall": round(r, 4) if n_rel else None,
                "f1": round(f1, 4) if n_rel else None,
                "best_f1": round(best_f1(np.where(keep, cos, -np.inf), relevant), 4) if n_rel else None,
                "marked_fraction": round(n_mark / max(int(keep.sum()), 1), 5),
                "empty": bool(keep.sum() == 0),
            })
    return rows_out


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model and library: mean F1 (present), mean best F1, absent-concept marked fraction, by kind."""
    out = []
    keys = sorted({(r["model"], r["library"], r["tuned_on"]) for r in rows}, key=lambda k: (not k[2], k[0], k[1]))
    for model, lib, tuned in keys:
        sel = [r for r in rows if r["model"] == model and r["library"] == lib]
        present = [r for r in sel if r["relevant"] > 0]
        absent = [r for r in sel if r["relevant"] == 0]
        entry = {
            "model": model, "library": lib, "tuned_on": tuned,
            "present_queries": len(present), "mean_f1": _mean([r["f1"] for r in present]),
            "mean_best_f1": _mean([r["best_f1"] for r in present]),
            "absent_queries": len(absent), "absent_marked_mean": _mean([r["marked_fraction"] for r in absent]),
            "absent_marked_max": max((r["marked_fraction"] for r in absent), default=float("nan")),
            "empty_answers": sum(r["empty"] for r in sel),
            "f1_by_kind": {k: _mean([r["f1"] for r in present if r["kind"] == k])
                           for k in sorted({r["kind"] for r in present})},
        }
        out.append(entry)
    return out


def _mean(values: list[float | None]) -> float:
    vals = [v for v in values if v is not None and v == v]
    return round(float(np.mean(vals)), 4) if vals else float("nan")


def print_summary(summary: list[dict[str, Any]]) -> None:
    print("| model | tuned on | library | mean F1 (present) | best single-threshold F1 | absent: marked mean / max |"
          " empty | F1 by kind |")
    print("|---|---|---|---|---|---|---|---|")
    for s in summary:
        kinds = ", ".join(f"{k} {v:.2f}" for k, v in s["f1_by_kind"].items())
        print(f"| {s['model']} | {'yes' if s['tuned_on'] else 'no'} | {s['library']} | {s['mean_f1']:.3f} "
              f"({s['present_queries']} q) | {s['mean_best_f1']:.3f} | {100 * s['absent_marked_mean']:.2f} % / "
              f"{100 * s['absent_marked_max']:.2f} % ({s['absent_queries']} q) | {s['empty_answers']} | {kinds} |")


# ----------------------------------------------------------------------------------------------- models


def load_models(tiny: bool, only: set[str] | None = None) -> list[tuple[Model, dict, dict]]:
    """(model, labels, vocab) for every model of the benchmark; tiny: one random tiny model on planted photos."""
    from photolens.embedding.embedder import load_embedder

    if tiny:
        return [_tiny_model()]
    from benchmarks.index_bench import ensure_model
    from benchmarks.relevance_models import VARIANTS, build

    out = []
    for variant in VARIANTS:
        if only and variant.name not in only and variant.name != "fashion-a":
            continue
        fixture = build(variant, log=lambda m: print(m, file=sys.stderr, flush=True))
        embedder = load_embedder(fixture.model_spec)
        out.append((Model(variant.name, variant.tuned_on, embedder, variant.folder), fixture.labels, fixture.vocab))
    first = out[0]
    if only and "random-ViT-B-32-256" not in only:
        return out
    random_vit = load_embedder(ensure_model("ViT-B-32-256"))
    out.append((Model("random-ViT-B-32-256", False, random_vit, first[0].folder), first[1], first[2]))
    return out


def _tiny_model() -> tuple[Model, dict, dict]:
    """A random tiny open_clip model and 40 rendered photos with two attributes (seconds)."""
    from PIL import Image

    from photolens.embedding.embedder import load_embedder
    from tests.tiny_model import make_tiny_model

    root = Path(tempfile.mkdtemp(prefix="relevance-tiny-"))
    spec = f"local-dir:{make_tiny_model(root / 'model')}"
    vocab = {"item": ["square", "stripe"], "tint": ["red", "blue"], "background": ["white", "black"]}
    rgb = {"red": (220, 30, 30), "blue": (30, 60, 220), "white": (240, 240, 240), "black": (20, 20, 20)}
    labels = {}
    (root / "photos").mkdir()
    rng = np.random.default_rng(0)
    for i in range(40):
        lab = {k: str(rng.choice(v)) for k, v in vocab.items()}
        img = np.zeros((32, 32, 3), np.uint8) + np.array(rgb[lab["background"]], np.uint8)
        if lab["item"] == "square":
            img[8:24, 8:24] = rgb[lab["tint"]]
        else:
            img[14:18, :] = rgb[lab["tint"]]
        Image.fromarray(img).save(root / "photos" / f"p{i:03d}.png")
        labels[f"p{i:03d}.png"] = lab
    return Model("tiny-random", False, load_embedder(spec), root), labels, vocab


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.relevance_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-data/relevance.json"))
    parser.add_argument("--tiny", action="store_true", help="seconds: a random tiny model on planted photos")
    parser.add_argument("--tune", action="store_true", help="print the grid of the two constants on the tuning model")
    parser.add_argument("--models", nargs="*", help="only these models (the tuning model is always included)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    grid: list[dict[str, Any]] = []
    for model, labels, vocab in load_models(args.tiny, set(args.models or ())):
        names = sorted(labels)
        cache = model.folder / f"vectors-{model.name}.npy"
        vectors = embed_photos(model.embedder, model.folder, names, cache)
        captions = model.embedder.encode_texts(generic_captions())
        queries = build_queries(model.embedder, vectors, labels, vocab)
        libs = libraries(labels, vocab)
        if args.tune and model.tuned_on:
            grid = tune(model, vectors, captions, queries, libs)
        rows += evaluate(model, vectors, captions, queries, libs)
        print(f"{model.name}: done ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    summary = summarise(rows)
    print_summary(summary)
    report = {"knee": relevance.KNEE, "null_quantile": relevance.NULL_QUANTILE, "null_share": relevance.NULL_SHARE,
              "summary": summary,
              "queries": rows, "tuning_grid": grid, "load_average": os.getloadavg()[0],
              "wall_s": round(time.perf_counter() - start, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out} ({report['wall_s']} s, load {report['load_average']:.1f})")
    return 0


def tune(model: Model, vectors: np.ndarray, captions: np.ndarray, queries: list[Query],
         libs: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Grid over (KNEE, NULL_QUANTILE) on the tuning model: objective = mean F1 present - 10 x absent marked."""
    saved = relevance.KNEE, relevance.NULL_QUANTILE, relevance.NULL_SHARE
    grid = []
    try:
        for knee in (0.5, 0.6, 0.7, 0.8):
            for quantile, share in ((0.9, 1.0), (1.0, 0.5), (1.0, 0.75), (1.0, 0.9)):
                relevance.KNEE, relevance.NULL_QUANTILE, relevance.NULL_SHARE = knee, quantile, share
                s = summarise(evaluate(model, vectors, captions, queries, libs))
                f1 = _mean([x["mean_f1"] for x in s])
                absent = _mean([x["absent_marked_mean"] for x in s])
                grid.append({"knee": knee, "null_quantile": quantile, "null_share": share, "mean_f1": f1,
                             "absent_marked": absent, "objective": round(f1 - 10 * absent, 4)})
                print(f"tune knee {knee} quantile {quantile} share {share}: F1 {f1:.3f} absent {100 * absent:.2f} %",
                      file=sys.stderr, flush=True)
    finally:
        relevance.KNEE, relevance.NULL_QUANTILE, relevance.NULL_SHARE = saved
    return grid


if __name__ == "__main__":
    sys.exit(main())
