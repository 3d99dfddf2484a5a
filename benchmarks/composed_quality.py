"""Composed queries, calibration, Pic2Word and OTI measured on a CLIP with real text-image alignment.

The data is ``benchmarks.tinyclip``: a tiny open_clip CLIP trained on Fashion-MNIST renders with an item, an
item tint and a background colour, plus held-out labelled photos. Every held-out photo is a reference; a
composed query changes one attribute ("in red", "on a blue background", "a dress") and the targets are the
photos with the other two attributes kept and the asked one changed (size is ignored). Recall@k = share of
queries with at least one target among the top k (the reference itself excluded).

Weights are tuned on the queries of even-numbered reference photos and reported on the odd ones, so the
defaults are not judged on the data that picked them. Timings are wall-clock on this machine with
``--threads`` torch threads; the ViT-B/32 rows time the real architecture's text tower (random weights:
the cost does not depend on them).

    python -m benchmarks.composed_quality [--data bench-data/tinyclip] [--out bench-data/composed_quality.json]

Results (fixture 45a4968bebf8288f419b: 700 steps, zero-shot item 0.61 / tint 0.996 / background 1.00; test
half, 2,250 queries, 3.2 targets each; R@1/10/50 %):

    image only 2.0/16.3/56.2      text only 1.9/13.0/48.1       sum 42.2/88.8/99.2
    weighted α=0.8 39.7/86.6/98.6  weighted α=0.6 (default) 46.1/91.5/99.5
    PDV β=0.3 α=1/1, exact lens 47.8/91.4/99.4; with the shipped presets 31.5/60.2/72.8
    Pic2Word (lr 1e-3, 5 epochs) 34.5/78.2/96.0
    OTI vs image, same item: mAP 25.4 vs 25.4; cost (1 core, CPU s) ViT-B/32: Pic2Word 10.4 per 1,000
    photos per epoch, OTI 7.2 per query. Calibration (z, cutoff 3.0): balanced accuracy 74%, precision 96%.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.tinyclip import FixtureUnavailableError, TinyClipFixture, ensure_tiny_clip
from photolens.retrieval import calibration
from photolens.retrieval.composed import (
    DEFAULT_ALPHA,
    DEFAULT_METHOD,
    DEFAULT_PDV,
    PDVWeights,
    PropertyPrompts,
    compose,
    describe,
    image_only,
    pdv_vector,
    sum_fusion,
    text_only,
    weighted_fusion,
)
from photolens.vectors import normalize

NOTIONS = ("item", "tint", "background")
KS = (1, 10, 50)
CHANGE_TEXT = {"tint": "in {}", "background": "on a {} background", "item": "a {}"}
OFF_TOPIC = [  # words the tiny model never saw: a library of product photos has no good match for them
    "a cat sleeping on a sofa", "a mountain lake at sunset", "a birthday party with balloons",
    "a plate of spaghetti", "a city street at night", "a dog running on the beach", "a snowy forest",
    "a portrait of an old man", "fireworks over a harbour", "a bowl of ramen", "a sailing boat",
    "a church tower", "children playing football", "a field of tulips", "a rainy window", "a red sports car",
]
_AN = re.compile(r"\ba (?=[aeiou])")


def articles(text: str) -> str:
    return _AN.sub("an ", text)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ data


@dataclass
class Library:
    vectors: np.ndarray  # (n, d)
    attrs: np.ndarray  # (n, 3) codes of NOTIONS
    names: list[str]
    vocab: dict[str, list[str]]


def embed_library(fixture: TinyClipFixture, embedder: Any, cache: Path | None = None) -> Library:
    """Embed the held-out photos the way the indexer does (decode_for_model + encode_pixels); cached per build."""
    from photolens.imaging import decode_for_model

    names = sorted(fixture.labels)
    attrs = np.array([[fixture.vocab[k].index(fixture.labels[n][k]) for k in NOTIONS] for n in names])
    fingerprint = str(fixture.metrics.get("fingerprint", ""))
    if cache is not None and cache.is_file():
        stored = np.load(cache)
        if str(stored["fingerprint"]) == fingerprint and len(stored["vectors"]) == len(names):
            return Library(stored["vectors"], attrs, names, fixture.vocab)
    pre = embedder.preprocessing
    chunks = []
    for lo in range(0, len(names), 128):
        pixels = np.stack([decode_for_model(fixture.photos_dir / n, pre.image_size, pre.interpolation,
                                            pre.resize_mode).pixels for n in names[lo : lo + 128]])
        chunks.append(embedder.encode_pixels(pixels))
    vectors = np.concatenate(chunks)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, vectors=vectors, fingerprint=np.array(fingerprint))
    return Library(vectors, attrs, names, fixture.vocab)


def encode_unique(embedder: Any, texts: list[str]) -> np.ndarray:
    unique = list(dict.fromkeys(texts))
    vectors = embedder.encode_texts(unique)
    index = {t: i for i, t in enumerate(unique)}
    return vectors[[index[t] for t in texts]]


@dataclass
class Queries:
    ref: np.ndarray  # (m,) reference rows
    kind: np.ndarray  # (m,) index into NOTIONS of the changed attribute
    new: np.ndarray  # (m,) new value code
    text: list[str]  # change texts
    targets: np.ndarray  # (m, n) bool
    tune: np.ndarray  # (m,) bool: reference row is even


def build_queries(lib: Library, seed: int = 0) -> Queries:
    """One query per reference and notion: a random other value for which targets exist."""
    rng = np.random.default_rng(seed)
    refs, kinds, news, texts, targets = [], [], [], [], []
    for r in range(len(lib.names)):
        for k, notion in enumerate(NOTIONS):
            keep = np.all(np.delete(lib.attrs, k, axis=1) == np.delete(lib.attrs[r], k), axis=1)
            values = sorted(set(lib.attrs[keep, k].tolist()) - {int(lib.attrs[r, k])})
            if not values:
                continue
            new = int(rng.choice(values))
            refs.append(r)
            kinds.append(k)
            news.append(new)
            texts.append(articles(CHANGE_TEXT[notion].format(lib.vocab[notion][new])))
            targets.append(keep & (lib.attrs[:, k] == new))
    ref = np.array(refs)
    return Queries(ref, np.array(kinds), np.array(news), texts, np.array(targets), ref % 2 == 0)


def ranks(queries: np.ndarray, lib_vectors: np.ndarray, targets: np.ndarray, exclude: np.ndarray) -> np.ndarray:
    """1-based rank of the best-ranked target of each query (``exclude`` rows removed from the ranking)."""
    scores = queries @ lib_vectors.T
    scores[np.arange(len(exclude)), exclude] = -np.inf
    best = np.where(targets, scores, -np.inf).max(axis=1)
    return 1 + (scores > best[:, None]).sum(axis=1)


def recalls(rank: np.ndarray) -> dict[str, float]:
    return {f"R@{k}": round(float(np.mean(rank <= k)) * 100, 1) for k in KS}


def objective(rank: np.ndarray) -> float:
    return float(np.mean([np.mean(rank <= k) for k in KS]))


# -------------------------------------------------------------------------------------- composed


def property_prompts(fixture: TinyClipFixture, embedder: Any) -> list[PropertyPrompts]:
    """Lens-like candidate prompts: one property per notion, the fixture's zero-shot template."""
    out = []
    for notion in ("item", "tint", "background", "size"):
        words = fixture.vocab[notion]
        vectors = embedder.encode_texts([articles(fixture.templates[notion].format(w)) for w in words])
        out.append(PropertyPrompts(notion, tuple(words), vectors))
    return out


def preset_distractors(embedder: Any) -> list[PropertyPrompts]:
    """The product's lens presets (photo words the tiny model never learned): noise for PDV to ignore."""
    from photolens.lenses.presets import list_presets, load_preset

    return [PropertyPrompts.from_templates(d.name, d.values, d.templates, embedder.encode_texts)
            for d in map(load_preset, list_presets())]


def pdv_parts(lib: Library, q: Queries, change_vecs: np.ndarray, props: list[PropertyPrompts],
              context: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """t and tc for every query, and how often the change was applied to the right property."""
    ts, tcs, right = [], [], 0
    for i in range(len(q.ref)):
        d = describe(lib.vectors[q.ref[i]], props, q.text[i], change_vecs[i], context)
        ts.append(d.t)
        tcs.append(d.tc)
        right += any(c.property == NOTIONS[q.kind[i]] for c in d.changes)
    return np.stack(ts), np.stack(tcs), right / len(q.ref)


def compose_all(lib: Library, q: Queries, change_vecs: np.ndarray, method: str,
                props_of: Any, **kwargs: Any) -> tuple[np.ndarray, dict[str, int]]:
    """The product's entry point, :func:`compose`, for every query; also counts the methods it fell back to."""
    vectors, used = [], {}
    for i in range(len(q.ref)):
        out = compose(method, lib.vectors[q.ref[i]], q.text[i], change_vecs[i], properties=props_of(i), **kwargs)
        vectors.append(out.vector)
        used[out.method] = used.get(out.method, 0) + 1
    return np.stack(vectors), used


def evaluate_methods(lib: Library, q: Queries, change_vecs: np.ndarray, props: list[PropertyPrompts],
                     distractors: list[PropertyPrompts]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    refs = lib.vectors[q.ref]
    t, tc, prop_accuracy = pdv_parts(lib, q, change_vecs, props)
    tune, test = q.tune, ~q.tune

    def rank_of(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return ranks(vectors[rows], lib.vectors, q.targets[rows], q.ref[rows])

    alphas = np.round(np.arange(0.0, 1.0001, 0.05), 2)
    alpha_curve = {float(a): objective(rank_of(weighted_fusion(refs, change_vecs, a), tune)) for a in alphas}
    best_alpha = max(alpha_curve, key=alpha_curve.get)

    betas, scales = (0.0, 0.1, 0.2, 0.3, 0.5, 0.55, 0.7, 0.9), (0.5, 1.0, 1.4, 2.0)
    pdv_curve = {(b, ai, at): objective(rank_of(pdv_vector(refs, t, tc, PDVWeights(b, ai, at)), tune))
                 for b, ai, at in itertools.product(betas, scales, scales)}
    best_pdv = PDVWeights(*max(pdv_curve, key=pdv_curve.get))

    d = DEFAULT_PDV
    vectors = {
        "image only": image_only(refs),
        "text only": text_only(change_vecs),
        "sum": sum_fusion(refs, change_vecs),
        "weighted α=0.8 (paper)": weighted_fusion(refs, change_vecs, 0.8),
        f"weighted α={DEFAULT_ALPHA} (default)": weighted_fusion(refs, change_vecs, DEFAULT_ALPHA),
        f"weighted α={best_alpha} (tuned)": weighted_fusion(refs, change_vecs, best_alpha),
        "PDV β=0.7 α=1.0/1.0 (paper's range)": pdv_vector(refs, t, tc, PDVWeights(0.7, 1.0, 1.0)),
        f"PDV β={d.beta} α={d.alpha_i}/{d.alpha_t} (default)": pdv_vector(refs, t, tc, DEFAULT_PDV),
        f"PDV β={best_pdv.beta} α={best_pdv.alpha_i}/{best_pdv.alpha_t} (tuned)": pdv_vector(refs, t, tc, best_pdv),
        "PDV changed description only (tc)": normalize(tc),
    }
    t_full, tc_full, _ = pdv_parts(lib, q, change_vecs, props, context=0.0)
    vectors["PDV, description with all notions"] = pdv_vector(refs, t_full, tc_full, DEFAULT_PDV)
    t_d, tc_d, _ = pdv_parts(lib, q, change_vecs, props + distractors, context=0.0)
    vectors[f"PDV, all notions + {len(distractors)} preset lenses in the description"] = pdv_vector(refs, t_d, tc_d,
                                                                                                   DEFAULT_PDV)
    used: dict[str, dict[str, int]] = {}
    vectors["PDV via compose(), notions + lens presets"], used["pdv, notions + presets"] = compose_all(
        lib, q, change_vecs, "pdv", lambda i: props + distractors)
    vectors["PDV via compose(), lens presets only (as shipped)"], used["pdv, presets only"] = compose_all(
        lib, q, change_vecs, "pdv", lambda i: distractors)
    vectors[f"default ({DEFAULT_METHOD}) via compose()"], used["default"] = compose_all(
        lib, q, change_vecs, "default", lambda i: distractors)
    table = {}
    for name, vecs in vectors.items():
        row = {"test": recalls(rank_of(vecs, test)), "tune": recalls(rank_of(vecs, tune))}
        row["by_kind"] = {NOTIONS[k]: recalls(rank_of(vecs, test & (q.kind == k))) for k in range(3)}
        table[name] = row
    info = {
        "alpha_curve_tune": alpha_curve, "best_alpha": best_alpha,
        "best_pdv": vars(best_pdv), "pdv_top5_tune": sorted(((v, k) for k, v in pdv_curve.items()), reverse=True)[:5],
        "pdv_default_tune": pdv_curve.get((d.beta, d.alpha_i, d.alpha_t)),
        "property_match_accuracy": round(prop_accuracy, 4), "methods_used": used,
    }
    return {"methods": table, "tuning": info}, vectors


# ------------------------------------------------------------------------------------------ pic2word


def pic2word_study(lib: Library, q: Queries, embedder: Any, epochs: int, lr: float, batch: int,
                   checkpoints: tuple[int, ...]) -> dict[str, Any]:
    """Train on the library's own vectors (no labels) and measure composed recall at several epochs."""
    from photolens.retrieval.pic2word import Pic2WordConfig, Pic2WordTrainer

    config = Pic2WordConfig(epochs=epochs, lr=lr, batch_size=batch)
    trainer = Pic2WordTrainer(embedder.model, embedder.tokenizer, lib.vectors, embedder.key, config)
    test = ~q.tune
    refs = lib.vectors[q.ref[test]]
    texts = [q.text[i] for i in np.flatnonzero(test)]
    curve = []
    for progress in trainer.run():
        end_of_epoch = progress.step % trainer.steps_per_epoch == 0
        if end_of_epoch and (progress.epoch in checkpoints or progress.done):
            mapper = trainer.mapper()
            row: dict[str, Any] = {"epoch": progress.epoch, "loss": round(trainer.position.history[-1], 4)}
            for template in ("a photo of * , {change}", "a photo of * {change}"):
                vecs = mapper.query_vectors(embedder.model, embedder.tokenizer, refs, texts, template)
                row[template] = recalls(ranks(vecs, lib.vectors, q.targets[test], q.ref[test]))
            curve.append(row)
            log(f"  pic2word lr={lr} epoch {progress.epoch}: {row}")
    return {"lr": lr, "batch": batch, "photos": len(lib.names), "curve": curve}


def _cpu(fn: Any) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``fn()``. CPU time is what this process used; with one torch thread it
    is the time an idle core would take, whatever else the machine is running."""
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def costs(lib: Library, embedder: Any, threads: list[int]) -> dict[str, Any]:
    """Pic2Word per 1,000 photos per epoch and OTI per query, tiny model and ViT-B/32's text tower.

    ViT-B/32 is built with random weights (no download; the cost does not depend on the weights). The CPU
    seconds at one thread are the figure to trust on a shared machine: with more threads than free cores,
    torch's worker threads spin and both CPU and wall time balloon. On two idle cores the wall time is at
    most the one-thread figure.
    """
    from photolens.retrieval.pic2word import Pic2WordConfig, Pic2WordTrainer
    from photolens.retrieval.text_inversion import invert
    from photolens.torch_compat import import_open_clip, import_torch

    torch = import_torch()
    open_clip = import_open_clip()
    vit = open_clip.create_model("ViT-B-32").eval()
    models = {"tiny": (embedder.model, embedder.tokenizer, lib.vectors),
              "ViT-B/32": (vit, open_clip.get_tokenizer("ViT-B-32"),
                           normalize(np.random.default_rng(0).normal(size=(1024, 512)).astype(np.float32)))}
    out: dict[str, Any] = {}
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for name, (model, tokenizer, vectors) in models.items():
            steps = 8 if name == "ViT-B/32" else 11
            trainer = Pic2WordTrainer(model, tokenizer, vectors, name, Pic2WordConfig(epochs=1, batch_size=128))
            run = trainer.run()
            next(run)  # warm-up step
            cpu, wall = _cpu(lambda run=run, steps=steps: [next(run) for _ in range(steps - 1)])
            photos = 128 * (steps - 1)
            invert(model, tokenizer, vectors[:1], steps=5)  # warm-up
            oti_cpu, oti_wall = _cpu(lambda model=model, tokenizer=tokenizer, vectors=vectors:
                                     invert(model, tokenizer, vectors[:1]))
            b_cpu, b_wall = _cpu(lambda model=model, tokenizer=tokenizer, vectors=vectors:
                                 invert(model, tokenizer, vectors[:32]))
            out[f"{name}, {n_threads} thread(s)"] = {
                "pic2word cpu s / 1000 photos / epoch": round(cpu / photos * 1000, 2),
                "pic2word wall s / 1000 photos / epoch": round(wall / photos * 1000, 2),
                "OTI cpu s / query": round(oti_cpu, 3), "OTI wall s / query": round(oti_wall, 3),
                "OTI cpu s / query (batch of 32)": round(b_cpu / 32, 3),
            }
            log(f"  costs {name} {n_threads} threads: {out[f'{name}, {n_threads} thread(s)']}")
    return out


# ------------------------------------------------------------------------------------------ OTI


def oti_study(lib: Library, embedder: Any, n_queries: int, seed: int = 0) -> dict[str, Any]:
    """Image-to-image: raw image vector vs the OTI text vector, relevance = same item / same attributes."""
    from photolens.retrieval.text_inversion import invert

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(lib.names), size=min(n_queries, len(lib.names)), replace=False))
    inverted = [invert(embedder.model, embedder.tokenizer, lib.vectors[rows[lo : lo + 50]])
                for lo in range(0, len(rows), 50)]
    oti = np.concatenate([r.vectors for r in inverted])
    final_loss = np.concatenate([r.final_loss for r in inverted])
    initial_loss = np.concatenate([r.initial_loss for r in inverted])
    out: dict[str, Any] = {"queries": len(rows), "loss_initial_mean": round(float(initial_loss.mean()), 4),
                           "loss_final_mean": round(float(final_loss.mean()), 4), "steps": inverted[0].steps}
    relevance = {
        "same item": lib.attrs[rows, 0][:, None] == lib.attrs[None, :, 0],
        "same item+tint+background": np.all(lib.attrs[rows][:, None, :] == lib.attrs[None, :, :], axis=2),
    }
    for name, rel in relevance.items():
        rel = rel.copy()
        rel[np.arange(len(rows)), rows] = False
        has = rel.any(axis=1)
        for label, queries in (("image", lib.vectors[rows]), ("OTI", oti),
                               ("image+OTI", normalize(lib.vectors[rows] + oti))):
            scores = queries @ lib.vectors.T
            scores[np.arange(len(rows)), rows] = -np.inf
            out[f"{name} | {label}"] = {"mAP": round(mean_ap(scores[has], rel[has]) * 100, 1),
                                        **recalls(ranks(queries[has], lib.vectors, rel[has], rows[has]))}
    return out


def mean_ap(scores: np.ndarray, relevant: np.ndarray) -> float:
    order = np.argsort(-scores, axis=1, kind="stable")
    rel = np.take_along_axis(relevant, order, axis=1)
    hits = np.cumsum(rel, axis=1)
    precision = hits / np.arange(1, rel.shape[1] + 1)
    return float(np.mean((precision * rel).sum(axis=1) / np.maximum(rel.sum(axis=1), 1)))


# -------------------------------------------------------------------------------------- calibration


@dataclass
class CalibrationSet:
    """Queries of one kind, each with the photos that truly match it and a row to leave out (or -1)."""

    vectors: np.ndarray
    relevant: np.ndarray  # (m, n) bool
    exclude: np.ndarray  # (m,)


def calibration_sets(lib: Library, q: Queries, composed: np.ndarray, embedder: Any, seed: int = 1
                     ) -> dict[str, CalibrationSet]:
    """Queries at the level the tiny model sees reliably (colours near-perfect, items at ~40%).

    - text: "a photo of a {tint} object on a {background} background." (match = that tint and background)
      and "a photo of a {tint} object." (match = that tint);
    - image (more like this): match = same tint and background;
    - composed (the default method): match = the kept colour(s) and the asked value (item ignored unless it is
      what changed);
    - off-topic text: words the model never saw, nothing matches.
    """
    rng = np.random.default_rng(seed)
    tint, item, bg = lib.attrs[:, 1], lib.attrs[:, 0], lib.attrs[:, 2]
    vocab = lib.vocab
    pairs = sorted({(int(a), int(b)) for a, b in zip(tint, bg)})
    prompts = [articles(f"a photo of a {vocab['tint'][a]} object on a {vocab['background'][b]} background.")
               for a, b in pairs]
    rel_pairs = np.array([(tint == a) & (bg == b) for a, b in pairs])
    tints = range(len(vocab["tint"]))
    rel_tints = np.array([tint == a for a in tints])
    text_vecs = embedder.encode_texts(prompts + [articles(f"a photo of a {vocab['tint'][a]} object.") for a in tints])
    img_rows = rng.choice(len(lib.names), size=300, replace=False)
    img_rel = (tint[None, :] == tint[img_rows, None]) & (bg[None, :] == bg[img_rows, None])
    rows = rng.choice(len(q.ref), size=600, replace=False)
    comp_rel = []
    for i in rows:
        k, new, r = q.kind[i], q.new[i], q.ref[i]
        want = {0: item[r], 1: tint[r], 2: bg[r]}
        want[k] = new
        rel = (tint == want[1]) & (bg == want[2])
        comp_rel.append(rel & (item == want[0]) if k == 0 else rel)
    off = embedder.encode_texts(OFF_TOPIC)
    none = np.full
    return {
        "text": CalibrationSet(text_vecs, np.concatenate([rel_pairs, rel_tints]), none(len(text_vecs), -1)),
        "image": CalibrationSet(lib.vectors[img_rows], img_rel, img_rows),
        "composed": CalibrationSet(composed[rows], np.array(comp_rel), q.ref[rows]),
        "off-topic text": CalibrationSet(off, np.zeros((len(off), len(lib.names)), dtype=bool), none(len(off), -1)),
    }


def size_trend(lib: Library, sets: dict[str, CalibrationSet], seed: int = 5) -> dict[str, Any]:
    """Median best score of text queries with / without their matches on random sub-libraries of n photos:
    how the default scale's cutoff would drift with library size."""
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for n in (200, 400, 800, len(lib.names)):
        sub = np.sort(rng.choice(len(lib.names), n, replace=False))
        match, none = [], []
        for name in ("text", "off-topic text"):
            cs = sets[name]
            for i in range(len(cs.vectors)):
                raw = lib.vectors[sub] @ cs.vectors[i]
                rel = cs.relevant[i][sub]
                if rel.any():
                    match.append(float(calibration.fit_scale(raw)(raw).max()))
                    raw = raw[~rel]
                none.append(float(calibration.fit_scale(raw)(raw).max()))
        out[str(n)] = {"match top median": round(float(np.median(match)), 2),
                       "no-match top median": round(float(np.median(none)), 2),
                       "no-match top p90": round(float(np.quantile(none, 0.9)), 2)}
    return out


def calibration_study(lib: Library, q: Queries, composed: np.ndarray, embedder: Any) -> dict[str, Any]:
    """Can a cutoff on the calibrated score tell 'has a match' from 'has none'?

    Each query is run twice: on the library as it is, and on the library with every matching photo removed
    (the planted no-match case; near misses stay, which is the hard, realistic case). A good cutoff answers
    the first and stays silent on the second; result precision/recall count (query, photo) pairs above it.
    """
    sets = calibration_sets(lib, q, composed, embedder)
    cutoffs = np.round(np.arange(1.0, 12.01, 0.25), 2)
    results: dict[str, Any] = {}
    for kind in calibration.KINDS:
        per_set: dict[str, dict[str, np.ndarray]] = {}
        rel_all, irr_all = [], []
        for name, cs in sets.items():
            match_top, none_top, top_rel = [], [], []
            for i in range(len(cs.vectors)):
                raw = lib.vectors @ cs.vectors[i]
                shown = np.ones(len(raw), dtype=bool)
                if cs.exclude[i] >= 0:
                    shown[cs.exclude[i]] = False
                cal = calibration.fit_scale(raw, kind)(raw)  # statistics over the whole library, as in the product
                rel = cs.relevant[i] & shown
                if rel.any():
                    best = int(np.argmax(np.where(shown, cal, -np.inf)))
                    match_top.append(float(cal[best]))
                    top_rel.append(bool(rel[best]))
                    rel_all.append(cal[rel])
                    irr_all.append(cal[shown & ~rel])
                    kept = ~cs.relevant[i]  # the same library without its matches
                    raw_none = raw[kept]
                    cal_none = calibration.fit_scale(raw_none, kind)(raw_none)
                    none_top.append(float(np.max(np.where(shown[kept], cal_none, -np.inf))))
                else:
                    none_top.append(float(np.max(np.where(shown, cal, -np.inf))))
            per_set[name] = {"match": np.array(match_top), "none": np.array(none_top), "top_rel": np.array(top_rel)}
        match = np.concatenate([v["match"] for v in per_set.values()])
        none = np.concatenate([v["none"] for v in per_set.values()])
        rel_scores, irr_scores = np.concatenate(rel_all), np.concatenate(irr_all)
        rows = []
        for c in cutoffs:
            tp, fp = int((rel_scores >= c).sum()), int((irr_scores >= c).sum())
            row = {"cutoff": float(c),
                   "match answered %": round(float(np.mean(match >= c)) * 100, 1),
                   "no-match silent %": round(float(np.mean(none < c)) * 100, 1)}
            row["balanced %"] = round((row["match answered %"] + row["no-match silent %"]) / 2, 1)
            row["result precision %"] = round(tp / max(tp + fp, 1) * 100, 1)
            row["result recall %"] = round(tp / max(len(rel_scores), 1) * 100, 1)
            for name, v in per_set.items():
                if len(v["match"]):
                    row[f"{name}: answered/silent"] = (f"{np.mean(v['match'] >= c) * 100:.0f}/"
                                                       f"{np.mean(v['none'] < c) * 100:.0f}")
                else:
                    row[f"{name}: silent"] = f"{np.mean(v['none'] < c) * 100:.0f}"
            rows.append(row)
        best = max(rows, key=lambda r: (r["balanced %"], -abs(r["cutoff"] - 4)))
        summary = {name: {"queries": int(len(v["none"])),
                          "top-1 relevant %": round(float(np.mean(v["top_rel"])) * 100, 1) if len(v["top_rel"]) else None,
                          "match top p10/p50": [round(float(np.quantile(v["match"], x)), 2) for x in (0.1, 0.5)]
                          if len(v["match"]) else None,
                          "no-match top p50/p90": [round(float(np.quantile(v["none"], x)), 2) for x in (0.5, 0.9)]}
                   for name, v in per_set.items()}
        results[kind] = {"by_query_kind": summary, "cutoffs": rows, "best_cutoff": best,
                         "relevant score p10/p50": [round(float(np.quantile(rel_scores, x)), 2) for x in (0.1, 0.5)],
                         "irrelevant score p99/p99.9": [round(float(np.quantile(irr_scores, x)), 2) for x in (0.99, 0.999)]}
    results["library_size"] = size_trend(lib, sets)
    raw_summary = {}
    for name, cs in sets.items():
        s = cs.vectors @ lib.vectors.T
        if cs.relevant.any():
            raw_summary[name] = {"relevant cos median": round(float(np.median(s[cs.relevant])), 3),
                                 "irrelevant cos median": round(float(np.median(s[~cs.relevant])), 3)}
    results["raw_cosines"] = raw_summary
    return results


# ------------------------------------------------------------------------------------------ report


def print_table(title: str, rows: dict[str, dict[str, float]]) -> None:
    print(f"\n### {title}\n")
    columns = list(next(iter(rows.values())))
    print("| method | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[c]}" for c in columns) + " |")


def summary(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The headline table: each method once, test half."""
    methods = report["composed"]["methods"]
    rows = {}
    for name in methods:
        if name.startswith(("image only", "text only", "sum", "weighted α=0.8", "PDV β")) or "(default)" in name:
            rows[name] = methods[name]["test"]
    for study in report.get("pic2word", []):
        best = max(study["curve"], key=lambda r: objective_of(r["a photo of * , {change}"]))
        rows[f"Pic2Word lr={study['lr']}, epoch {best['epoch']} (best of curve)"] = best["a photo of * , {change}"]
    default = next(k for k in methods if k.startswith("default ("))
    rows[default] = methods[default]["test"]
    return rows


def objective_of(row: dict[str, float]) -> float:
    return float(np.mean([row[f"R@{k}"] for k in KS]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.composed_quality", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("bench-data/tinyclip"))
    parser.add_argument("--out", type=Path, default=Path("bench-data/composed_quality.json"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pic2word-epochs", type=int, default=20)
    parser.add_argument("--pic2word-lr", type=float, nargs="+", default=[1e-4, 1e-3])
    parser.add_argument("--oti-queries", type=int, default=300)
    parser.add_argument("--cost-threads", type=int, nargs="+", default=[1],
                        help="torch threads for the cost measurements (e.g. 1 2 on an idle machine)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["pic2word", "oti", "calibration", "costs"])
    args = parser.parse_args(argv)

    from photolens.embedding.embedder import load_embedder
    from photolens.torch_compat import import_torch

    torch = import_torch()
    try:
        fixture = ensure_tiny_clip(args.data, log=log)
    except FixtureUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    embedder = load_embedder(fixture.model_spec, threads=args.threads)
    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {"threads": args.threads, "cpu_count": os.cpu_count(),
                              "load_average_start": os.getloadavg(), "fixture": fixture.metrics.get("fingerprint")}
    t0 = time.perf_counter()
    lib = embed_library(fixture, embedder, args.out.with_name("composed_quality_vectors.npz"))
    q = build_queries(lib)
    change_vecs = encode_unique(embedder, q.text)
    props = property_prompts(fixture, embedder)
    log(f"{len(lib.names)} photos embedded, {len(q.ref)} composed queries ({time.perf_counter() - t0:.1f}s)")
    report["photos"], report["queries"] = len(lib.names), len(q.ref)
    report["targets_per_query_mean"] = round(float(q.targets.sum(1).mean()), 2)

    composed, vectors = evaluate_methods(lib, q, change_vecs, props, preset_distractors(embedder))
    report["composed"] = composed
    print(f"# Composed queries: {len(q.ref)} queries over {len(lib.names)} photos, "
          f"{report['targets_per_query_mean']} targets each on average (weights tuned on the even half)")
    print_table("All variants, test half (%)", {k: v["test"] for k, v in composed["methods"].items()})
    for kind in NOTIONS:
        print_table(f"Change of {kind}, test half (%)", {k: v["by_kind"][kind] for k, v in composed["methods"].items()})
    tuning = composed["tuning"]
    print(f"\nPDV change→property match accuracy: {tuning['property_match_accuracy']}; "
          f"methods compose() used: {tuning['methods_used']}")
    print(f"tuned α={tuning['best_alpha']}; tuned PDV={tuning['best_pdv']}; "
          f"PDV objective (tune) default {tuning['pdv_default_tune']:.4f}, top-5 {tuning['pdv_top5_tune']}")

    if "pic2word" not in args.skip:
        report["pic2word"] = [pic2word_study(lib, q, embedder, args.pic2word_epochs, lr, 128, (1, 2, 5, 10, 20, 40))
                              for lr in args.pic2word_lr]
        for study in report["pic2word"]:
            print(f"\n### Pic2Word lr={study['lr']} (batch {study['batch']}, trained on the {study['photos']} "
                  "library photos, test-half queries)\n")
            print("| epoch | loss | R@1/10/50 'a photo of * , {change}' | R@1/10/50 'a photo of * {change}' |")
            print("|---|---|---|---|")
            for row in study["curve"]:
                cells = ["/".join(str(v) for v in row[t].values())
                         for t in ("a photo of * , {change}", "a photo of * {change}")]
                print(f"| {row['epoch']} | {row['loss']} | {cells[0]} | {cells[1]} |")
    if "oti" not in args.skip:
        report["oti"] = oti_study(lib, embedder, args.oti_queries)
        print("\n### Image-to-image: raw vs OTI (Cross the Gap)\n")
        print(json.dumps(report["oti"], indent=1, ensure_ascii=False))
    if "calibration" not in args.skip:
        default_name = next(k for k in vectors if k.startswith("default ("))
        report["calibration"] = calibration_study(lib, q, vectors[default_name], embedder)
        for kind in calibration.KINDS:
            cal = report["calibration"][kind]
            print(f"\n### Calibration '{kind}': top calibrated score per query kind\n")
            print(json.dumps(cal["by_query_kind"], indent=1))
            print_table(f"'{kind}' cutoffs (best balanced: {cal['best_cutoff']['cutoff']})",
                        {str(r["cutoff"]): {k: v for k, v in r.items() if k != "cutoff"}
                         for r in cal["cutoffs"] if r["cutoff"] % 0.5 == 0})
        print("\nlibrary size trend (text queries, default scale):",
              json.dumps(report["calibration"]["library_size"]))
        print("raw cosines:", json.dumps(report["calibration"]["raw_cosines"]))
    if "costs" not in args.skip:
        report["costs"] = costs(lib, embedder, args.cost_threads)
        torch.set_num_threads(args.threads)
        print("\n### Costs (CPU seconds = one idle core; wall seconds on this, possibly busy, machine)\n")
        print(json.dumps(report["costs"], indent=1, ensure_ascii=False))
    print_table("Summary: composed queries, test half (%)", summary(report))
    report["load_average_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(f"\nload average {report['load_average_start']} -> {report['load_average_end']}; full report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
