"""A tiny CLIP with real text–image alignment, trained in minutes on labelled Fashion-MNIST renders.

Why: lens (InDiReCT) and composed-query benchmarks need a model whose text and image sides genuinely agree
on several *independent* attributes, plus photos labelled with those attributes. Real CLIP weights are
gigabytes and unavailable offline, and a random model has no alignment, so we train one: Fashion-MNIST
items rendered in colour (item tint) on a coloured, textured background at one of two sizes, captioned
with varied and partial templates so that every attribute word is learned on its own.

Output (an open_clip ``local-dir`` model plus an evaluation library)::

    DIR/model/open_clip_config.json       {"model_cfg": ..., "preprocess_cfg": ...}
    DIR/model/open_clip_model.safetensors
    DIR/photos/p00000.jpg ...            held-out renders of the Fashion-MNIST *test* split
    DIR/labels.json                      photo path relative to DIR/photos -> {"item", "tint", "background", "size"}
    DIR/vocab.json                       notion -> value words
    DIR/metrics.json                     timings and zero-shot accuracies
    DIR/fingerprint.json                 written last; a complete build with the same parameters is reused

Use ``ensure_tiny_clip(Path("bench-data/tinyclip"))`` from benchmarks, or
``python -m benchmarks.tinyclip --out bench-data/tinyclip``. Needs ``apt-get install dataset-fashion-mnist``.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import json
import math
import os
import random
import re
import shutil
import struct
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: builds are not serialised
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import torch

DATASET_DIR = Path("/usr/share/datasets/fashion-mnist")
# Bump when rendering, captions or the output layout change, so that cached builds are not reused.
FORMAT_VERSION = 2

ITEMS: tuple[str, ...] = (
    "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
)
# Saturated item colours. Background colours are lighter/muted and textured, so "a red bag on a red
# background" is still visible, and they share four words with the tints: the text tower must learn which
# noun a colour word binds to (the hard case for lenses and composed queries), not just which words exist.
TINTS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (245, 135, 20),
    "yellow": (240, 215, 25),
    "green": (35, 165, 50),
    "blue": (35, 75, 225),
    "purple": (135, 45, 185),
    "pink": (250, 125, 195),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "white": (238, 238, 232),
    "black": (28, 28, 32),
    "gray": (128, 128, 128),
    "red": (200, 85, 80),
    "green": (95, 170, 105),
    "blue": (95, 135, 210),
    "yellow": (232, 212, 115),
}
SIZES: tuple[str, ...] = ("small", "large")
# Other attribute sets, for models trained differently from the default one (benchmarks/relevance_bench.py
# tunes on palette "a" and reports on the others): "b" is the issue-10 product library (8 colours x 6
# backgrounds, teal and brown among them), "c" shares few words with "a".
PALETTES: dict[str, tuple[dict[str, tuple[int, int, int]], dict[str, tuple[int, int, int]]]] = {
    "a": (TINTS, BACKGROUNDS),
    "b": (
        {"red": (215, 35, 35), "orange": (240, 130, 25), "yellow": (235, 210, 30), "green": (40, 160, 55),
         "teal": (20, 150, 150), "blue": (40, 70, 220), "purple": (130, 50, 180), "brown": (125, 75, 35)},
        {"white": (236, 236, 230), "black": (30, 30, 34), "gray": (130, 130, 130), "teal": (90, 175, 170),
         "pink": (235, 160, 190), "beige": (222, 205, 165)},
    ),
    "c": (
        {"crimson": (180, 20, 50), "lime": (150, 220, 40), "navy": (25, 35, 120), "gold": (215, 170, 30),
         "magenta": (215, 40, 200), "cyan": (40, 210, 225)},
        {"white": (238, 238, 232), "black": (28, 28, 32), "olive": (120, 125, 60), "lavender": (185, 170, 225),
         "orange": (235, 160, 90)},
    ),
}
NOTIONS: tuple[str, ...] = ("item", "tint", "background", "size")

# Zero-shot prompts (one per notion, "a photo of a {value} ..." style); also sensible InDiReCT templates.
ZERO_SHOT_TEMPLATES: dict[str, str] = {
    "item": "a photo of a {}.",
    "tint": "a photo of a {} object.",
    "background": "a photo of an object on a {} background.",
    "size": "a photo of a {} object.",
}
JOINT_TEMPLATE = "a photo of a {tint} {item} on a {background} background."

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

_GENERIC_NOUNS = ("object", "item", "thing", "product")
_PREFIXES = ("", "", "a photo of ", "a picture of ", "an image of ", "a product photo of ", "a photograph of ")
_BG_PHRASES = (
    "on a {} background",
    "with a {} background",
    "in front of a {} background",
    "against a {} backdrop",
    "on a plain {} background",
)
_TINT_FORMS = ("{s}{t} {n}", "{s}{t} {n}", "{s}{n} in {t}", "{s}{n}, {t},", "{s}{n} that is {t}", "{s}{t} colored {n}")


class FixtureUnavailableError(RuntimeError):
    """A prerequisite of the fixture (the Fashion-MNIST package) is missing; the message says how to fix it."""


@dataclass(frozen=True)
class TinyClipParams:
    """Everything that determines the trained model and the photo set (fingerprinted for the cache)."""

    seed: int = 0
    image_size: int = 64
    jitter: int = 4
    steps: int = 700
    batch_size: int = 128
    lr: float = 2e-3
    warmup_steps: int = 30
    weight_decay: float = 0.05
    n_holdout: int = 1500
    jpeg_quality: int = 92
    embed_dim: int = 128
    # open_clip's ModifiedResNet (CLIP RN50's design, narrow and shallow). A ViT from scratch is the wrong
    # tool for a few hundred steps: trained *supervised* on item class for 100 steps, a 4-layer ViT
    # (patch 16 or 8) reached 29% held-out accuracy, this ResNet 55% at the same cost per step.
    vision_width: int = 16
    vision_layers: tuple[int, ...] = (1, 1, 1, 1)
    text_width: int = 128
    text_layers: int = 3
    context_length: int = 32
    palette: str = "a"  # the attribute words and colours (PALETTES)

    @property
    def tints(self) -> dict[str, tuple[int, int, int]]:
        return PALETTES[self.palette][0]

    @property
    def backgrounds(self) -> dict[str, tuple[int, int, int]]:
        return PALETTES[self.palette][1]

    def model_cfg(self) -> dict[str, Any]:
        """open_clip ``model_cfg`` (CLIP class, default tokenizer since no ``hf_tokenizer_name``)."""
        return {
            "embed_dim": self.embed_dim,
            "vision_cfg": {
                "image_size": self.image_size,
                "layers": list(self.vision_layers),
                "width": self.vision_width,
                "head_width": 32,
            },
            "text_cfg": {
                "context_length": self.context_length,
                "vocab_size": 49408,
                "width": self.text_width,
                "heads": max(1, self.text_width // 32),
                "layers": self.text_layers,
                "mlp_ratio": 2.0,
            },
        }

    def preprocess_cfg(self) -> dict[str, Any]:
        """Preprocessing matching training: photos are rendered at the model's input size."""
        return {
            "size": self.image_size,
            "mode": "RGB",
            "mean": list(OPENAI_MEAN),
            "std": list(OPENAI_STD),
            "interpolation": "bicubic",
            "resize_mode": "shortest",
        }

    def fingerprint(self) -> str:
        """Hash of parameters, vocabulary, colours and format version: equal hash means reusable build."""
        params = asdict(self)
        if params["palette"] == "a":  # the default palette keeps the fingerprint of builds made before palettes
            del params["palette"]
        payload = {
            "format": FORMAT_VERSION,
            "params": params,
            "items": ITEMS,
            "tints": self.tints,
            "backgrounds": self.backgrounds,
            "sizes": SIZES,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


@dataclass
class TinyClipFixture:
    """A built fixture. ``labels`` keys are paths relative to ``photos_dir``."""

    model_dir: Path
    photos_dir: Path
    labels: dict[str, dict[str, str]]
    vocab: dict[str, list[str]]
    metrics: dict[str, Any] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=lambda: dict(ZERO_SHOT_TEMPLATES))

    @property
    def model_spec(self) -> str:
        """The name to give ``open_clip.create_model_and_transforms`` / ``get_tokenizer``."""
        return f"local-dir:{self.model_dir}"


# ----------------------------------------------------------------------------------------------- data


def _read_idx(path: Path, expected_magic: int) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic != expected_magic:
        raise FixtureUnavailableError(f"{path} is not an IDX file of the expected kind (magic {magic}).")
    ndim = magic & 0xFF
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_fashion_mnist(split: str, dataset_dir: Path = DATASET_DIR) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 28, 28), labels uint8 (n,)) of split "train" (60k) or "test" (10k)."""
    prefix = {"train": "train", "test": "t10k"}[split]
    images_path = dataset_dir / f"{prefix}-images-idx3-ubyte.gz"
    labels_path = dataset_dir / f"{prefix}-labels-idx1-ubyte.gz"
    if not images_path.is_file() or not labels_path.is_file():
        raise FixtureUnavailableError(
            f"Fashion-MNIST not found in {dataset_dir}. Install the Debian package first:\n"
            "    apt-get update && apt-get install -y dataset-fashion-mnist"
        )
    images = _read_idx(images_path, 0x00000803)
    labels = _read_idx(labels_path, 0x00000801)
    if len(images) != len(labels):
        raise FixtureUnavailableError(f"Fashion-MNIST {split}: {len(images)} images but {len(labels)} labels.")
    return images, labels


def render(
    torch: Any,
    glyphs: torch.Tensor,
    tint: torch.Tensor,
    background: torch.Tensor,
    size: torch.Tensor,
    generator: torch.Generator,
    image_size: int,
    jitter: int = 4,
    tints: dict[str, tuple[int, int, int]] | None = None,
    backgrounds: dict[str, tuple[int, int, int]] | None = None,
) -> torch.Tensor:
    """Render (B, 28, 28) uint8 glyphs as (B, 3, S, S) float RGB in [0, 1].

    The item keeps its Fashion-MNIST shading (tint × brightness) with a dark outline; the background is a
    jittered, lit (gradient) and noisy flat colour, so both colours read as colours and not as one blob.
    Items sit near the centre (±``jitter`` px) like product photos: free placement would make a few-minute
    model spend its budget on translation invariance instead of item shapes.
    """
    functional = torch.nn.functional
    n = glyphs.shape[0]
    s = image_size
    shade_src = glyphs.float().unsqueeze(1) / 255.0
    shade = torch.zeros(n, 1, s, s)
    for size_index, fraction in enumerate((0.47, 0.875)):
        idx = (size == size_index).nonzero().flatten()
        if len(idx) == 0:
            continue
        px = round(s * fraction)
        scaled = functional.interpolate(shade_src[idx], size=(px, px), mode="bilinear", align_corners=False)
        free = s - px
        shift = min(jitter, free // 2)
        offsets = free // 2 + torch.randint(-shift, shift + 1, (len(idx), 2), generator=generator)
        for row, i in enumerate(idx.tolist()):
            oy, ox = offsets[row].tolist()
            shade[i, :, oy : oy + px, ox : ox + px] = scaled[row]
    alpha = ((shade - 0.02) * 4.0).clamp(0.0, 1.0)
    edge = (functional.max_pool2d(alpha, 3, stride=1, padding=1) - alpha).clamp(0.0, 1.0)

    tint_table = torch.tensor(list((tints or TINTS).values()), dtype=torch.float32) / 255.0
    bg_table = torch.tensor(list((backgrounds or BACKGROUNDS).values()), dtype=torch.float32) / 255.0
    tint_rgb = tint_table[tint].view(n, 3, 1, 1) * (0.85 + 0.25 * torch.rand(n, 1, 1, 1, generator=generator))
    item = tint_rgb * (0.4 + 0.6 * shade)

    bg_rgb = bg_table[background].view(n, 3, 1, 1) * (0.92 + 0.14 * torch.rand(n, 1, 1, 1, generator=generator))
    ramp = torch.linspace(-1.0, 1.0, s)
    angle = torch.rand(n, generator=generator) * 2 * math.pi
    light = ramp.view(1, 1, 1, s) * angle.cos().view(n, 1, 1, 1) + ramp.view(1, 1, s, 1) * angle.sin().view(n, 1, 1, 1)
    canvas = bg_rgb * (1.0 + 0.07 * light) + 0.02 * torch.randn(n, 1, s, s, generator=generator)
    canvas = canvas * (1.0 - 0.6 * edge)
    canvas = canvas * (1.0 - alpha) + item * alpha
    return canvas.clamp(0.0, 1.0)


_AN = re.compile(r"\ba (?=[aeiou])")


def _articles(text: str) -> str:
    return _AN.sub("an ", text)


def make_caption(rng: random.Random, item: int, tint: int, background: int, size: int,
                 tint_words: Sequence[str] = tuple(TINTS),
                 bg_words: Sequence[str] = tuple(BACKGROUNDS)) -> tuple[str, tuple[int, ...]]:
    """A caption naming a random non-empty subset of the attributes, and its values (-1 = not named).

    Partial captions ("a red object", "an item on a blue background", "a sneaker") make each word carry its
    own attribute; varied word orders make the text tower bind colour words to the item or the background.
    Items are named most often because shape is the slowest attribute to learn; colours come in ~100 steps.
    """
    while True:
        named = (rng.random() < 0.85, rng.random() < 0.65, rng.random() < 0.65, rng.random() < 0.35)
        if any(named):
            break
    n_item, n_tint, n_bg, n_size = named
    noun = ITEMS[item] if n_item else rng.choice(_GENERIC_NOUNS)
    size_word = f"{SIZES[size]} " if n_size else ""
    tint_word = tint_words[tint]
    bg_word = bg_words[background]
    if n_tint:
        subject = rng.choice(_TINT_FORMS).format(s=size_word, t=tint_word, n=noun)
    else:
        subject = f"{size_word}{noun}"
    prefix = rng.choice(_PREFIXES)
    if n_bg and not (n_item or n_tint or n_size) and rng.random() < 0.3:
        text = f"{prefix}a {bg_word} background"
    elif n_bg and rng.random() < 0.2:
        text = f"{prefix}a {bg_word} background with a {subject.rstrip(',')}"
    elif n_bg:
        text = f"{prefix}a {subject} " + rng.choice(_BG_PHRASES).format(bg_word)
    else:
        text = f"{prefix}a {subject.rstrip(',')}"
    if rng.random() < 0.5:
        text += "."
    values = (item if n_item else -1, tint if n_tint else -1, background if n_bg else -1, size if n_size else -1)
    return _articles(text), values


def _fill(template: str, word: str) -> str:
    return _articles(template.format(word))


# ------------------------------------------------------------------------------------------- training


class _CachedTokenizer:
    """open_clip's default tokenizer with a per-string cache (captions repeat a lot)."""

    def __init__(self, open_clip: Any, context_length: int) -> None:
        self._tokenizer = open_clip.tokenizer.SimpleTokenizer(context_length=context_length)
        self._cache: dict[str, Any] = {}

    def __call__(self, torch: Any, texts: Sequence[str]) -> torch.Tensor:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, row in zip(missing, self._tokenizer(missing), strict=True):
                self._cache[text] = row
        return torch.stack([self._cache[t] for t in texts])


def _normalise(torch: Any, images: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(OPENAI_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(OPENAI_STD).view(1, 3, 1, 1)
    return (images - mean) / std


def train(params: TinyClipParams, log: Callable[[str], None]) -> tuple[Any, dict[str, float]]:
    """Train the tiny CLIP contrastively; returns (model in eval mode, timings).

    The loss is CLIP's symmetric cross-entropy with *multi-positive* targets: a partial caption such as
    "a red object" is a correct match for every red image in the batch, so it must not be pushed away from
    them (the usual one-positive target would teach the model to ignore exactly those words).
    """
    from photolens.torch_compat import import_open_clip

    open_clip = import_open_clip()
    import torch

    torch.manual_seed(params.seed)
    generator = torch.Generator().manual_seed(params.seed)
    rng = random.Random(params.seed)
    glyphs_np, classes_np = load_fashion_mnist("train")
    glyphs = torch.from_numpy(glyphs_np.copy())
    classes = torch.from_numpy(classes_np.astype(np.int64))

    model = open_clip.CLIP(**params.model_cfg())
    model.train()
    tokenizer = _CachedTokenizer(open_clip, params.context_length)
    # Captions use ~60 of the tokenizer's 49,408 tokens: a sparse gradient and SparseAdam for the token table
    # skip a dense 6.3M-parameter update every step (about a tenth of a step's CPU time).
    model.token_embedding.sparse = True
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if name == "token_embedding.weight":
            continue
        (decay if param.ndim >= 2 and "embedding" not in name else no_decay).append(param)
    optimizers = [
        torch.optim.AdamW(
            [{"params": decay, "weight_decay": params.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=params.lr,
            betas=(0.9, 0.98),
            eps=1e-6,
        ),
        torch.optim.SparseAdam([model.token_embedding.weight], lr=params.lr, betas=(0.9, 0.98), eps=1e-6),
    ]

    def lr_at(step: int) -> float:
        if step < params.warmup_steps:
            return params.lr * (step + 1) / params.warmup_steps
        progress = (step - params.warmup_steps) / max(1, params.steps - params.warmup_steps)
        return params.lr * 0.5 * (1.0 + math.cos(math.pi * progress))

    n_tints, n_bgs = len(params.tints), len(params.backgrounds)
    words = (tuple(params.tints), tuple(params.backgrounds))
    start = time.perf_counter()
    cpu_start = time.process_time()
    render_s = 0.0
    batch = params.batch_size
    for step in range(params.steps):
        t0 = time.perf_counter()
        idx = torch.randint(0, len(glyphs), (batch,), generator=generator)
        attrs = torch.stack(
            [
                classes[idx],
                torch.randint(0, n_tints, (batch,), generator=generator),
                torch.randint(0, n_bgs, (batch,), generator=generator),
                torch.randint(0, len(SIZES), (batch,), generator=generator),
            ],
            dim=1,
        )
        images = _normalise(
            torch, render(torch, glyphs[idx], attrs[:, 1], attrs[:, 2], attrs[:, 3], generator, params.image_size,
                          params.jitter, params.tints, params.backgrounds)
        )
        captions, values = zip(*(make_caption(rng, *row, *words) for row in attrs.tolist()), strict=True)
        tokens = tokenizer(torch, captions)
        named = torch.tensor(values)
        render_s += time.perf_counter() - t0

        match = ((named.unsqueeze(0) == -1) | (attrs.unsqueeze(1) == named.unsqueeze(0))).all(dim=-1).float()
        image_features, text_features, logit_scale = model(images, tokens)[:3]
        logits = logit_scale * image_features @ text_features.T
        loss_i2t = -(match / match.sum(1, keepdim=True) * logits.log_softmax(1)).sum(1).mean()
        loss_t2i = -(match / match.sum(0, keepdim=True) * logits.log_softmax(0)).sum(0).mean()
        loss = 0.5 * (loss_i2t + loss_t2i)

        for optimizer in optimizers:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % 50 == 0 or step == params.steps - 1:
            log(
                f"  step {step:4d}/{params.steps}  loss {loss.item():.3f}  "
                f"scale {model.logit_scale.exp().item():5.1f}  {time.perf_counter() - start:6.1f}s "
                f"(cpu {time.process_time() - cpu_start:6.1f}s)"
            )
    model.token_embedding.sparse = False
    model.eval()
    timings = {
        "train_s": time.perf_counter() - start,
        "train_cpu_s": time.process_time() - cpu_start,
        "render_and_tokenize_s": render_s,
    }
    return model, timings


# ------------------------------------------------------------------------------------------ build/save


def _save_model(model: Any, params: TinyClipParams, model_dir: Path) -> None:
    from safetensors.torch import save_file

    model_dir.mkdir(parents=True, exist_ok=True)
    config = {"model_cfg": params.model_cfg(), "preprocess_cfg": params.preprocess_cfg()}
    (model_dir / "open_clip_config.json").write_text(json.dumps(config, indent=2) + "\n")
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    weights = model_dir / "open_clip_model.safetensors"
    save_file(state, str(weights))
    weights.chmod(0o644)  # safetensors creates it 0600; the fixture is shared read-only data


def _write_holdout(params: TinyClipParams, photos_dir: Path) -> dict[str, dict[str, str]]:
    """Render held-out photos from the Fashion-MNIST *test* split (never seen in training) as JPEGs."""
    import torch
    from PIL import Image

    glyphs_np, classes_np = load_fashion_mnist("test")
    generator = torch.Generator().manual_seed(params.seed + 1_000_003)
    order = torch.randperm(len(glyphs_np), generator=generator)[: params.n_holdout]
    glyphs = torch.from_numpy(glyphs_np.copy())[order]
    classes = torch.from_numpy(classes_np.astype(np.int64))[order]
    n = len(order)
    tint = torch.randint(0, len(params.tints), (n,), generator=generator)
    background = torch.randint(0, len(params.backgrounds), (n,), generator=generator)
    size = torch.randint(0, len(SIZES), (n,), generator=generator)
    photos_dir.mkdir(parents=True, exist_ok=True)
    tint_words, bg_words = list(params.tints), list(params.backgrounds)
    labels: dict[str, dict[str, str]] = {}
    for lo in range(0, n, 256):
        hi = min(n, lo + 256)
        images = render(torch, glyphs[lo:hi], tint[lo:hi], background[lo:hi], size[lo:hi], generator, params.image_size,
                        params.jitter, params.tints, params.backgrounds)
        arrays = (images.permute(0, 2, 3, 1).numpy() * 255.0 + 0.5).astype(np.uint8)
        for offset, array in enumerate(arrays):
            i = lo + offset
            name = f"p{i:05d}.jpg"
            Image.fromarray(array).save(photos_dir / name, quality=params.jpeg_quality)
            labels[name] = {
                "item": ITEMS[int(classes[i])],
                "tint": tint_words[int(tint[i])],
                "background": bg_words[int(background[i])],
                "size": SIZES[int(size[i])],
            }
    return labels


def vocabulary(params: TinyClipParams | None = None) -> dict[str, list[str]]:
    """Value words of each notion, in label-index order."""
    params = params or TinyClipParams()
    return {"item": list(ITEMS), "tint": list(params.tints), "background": list(params.backgrounds), "size": list(SIZES)}


def zero_shot_report(
    model_spec: str, photos_dir: Path, labels: dict[str, dict[str, str]], vocab: dict[str, list[str]]
) -> dict[str, Any]:
    """Zero-shot accuracy per notion on the held-out JPEGs, loading the model the way photolens will.

    Also: joint accuracy over every tint × item × background prompt, and a binding check (photos whose
    tint and background are different shared colour words: does "a red bag on a blue background" beat the
    swapped "a blue bag on a red background"?), which is what composed queries depend on.
    """
    from photolens.torch_compat import import_open_clip

    open_clip = import_open_clip()
    import torch
    from PIL import Image

    model, _, preprocess = open_clip.create_model_and_transforms(model_spec)
    tokenizer = open_clip.get_tokenizer(model_spec)
    model.eval()
    names = sorted(labels)

    def encode_texts(texts: list[str]) -> torch.Tensor:
        out = []
        with torch.no_grad():
            for lo in range(0, len(texts), 512):
                out.append(torch.nn.functional.normalize(model.encode_text(tokenizer(texts[lo : lo + 512])), dim=-1))
        return torch.cat(out)

    with torch.no_grad():
        chunks = []
        for lo in range(0, len(names), 256):
            batch = torch.stack([preprocess(Image.open(photos_dir / n).convert("RGB")) for n in names[lo : lo + 256]])
            chunks.append(torch.nn.functional.normalize(model.encode_image(batch), dim=-1))
        image_emb = torch.cat(chunks)

    report: dict[str, Any] = {"n_photos": len(names), "notions": {}}
    for notion, template in ZERO_SHOT_TEMPLATES.items():
        words = vocab[notion]
        text_emb = encode_texts([_fill(template, w) for w in words])
        predicted = (image_emb @ text_emb.T).argmax(1).tolist()
        truth = [words.index(labels[n][notion]) for n in names]
        accuracy = sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(names)
        report["notions"][notion] = {
            "template": template,
            "accuracy": round(accuracy, 4),
            "chance": round(1.0 / len(words), 4),
        }

    combos = [(t, i, b) for t in vocab["tint"] for i in vocab["item"] for b in vocab["background"]]
    joint_emb = encode_texts([_articles(JOINT_TEMPLATE.format(tint=t, item=i, background=b)) for t, i, b in combos])
    best = (image_emb @ joint_emb.T).argmax(1).tolist()
    hits = sum(
        combos[b] == (labels[n]["tint"], labels[n]["item"], labels[n]["background"])
        for n, b in zip(names, best, strict=True)
    )
    report["joint"] = {
        "template": JOINT_TEMPLATE,
        "accuracy": round(hits / len(names), 4),
        "chance": round(1.0 / len(combos), 6),
    }

    shared = set(vocab["tint"]) & set(vocab["background"])
    rows = [k for k, n in enumerate(names) if {labels[n]["tint"], labels[n]["background"]} <= shared
            and labels[n]["tint"] != labels[n]["background"]]
    if rows:
        right = [_articles(JOINT_TEMPLATE.format(**labels[names[k]])) for k in rows]
        swapped = [
            _articles(JOINT_TEMPLATE.format(
                tint=labels[names[k]]["background"], item=labels[names[k]]["item"], background=labels[names[k]]["tint"]
            ))
            for k in rows
        ]
        sel = image_emb[rows]
        wins = ((sel * encode_texts(right)).sum(1) > (sel * encode_texts(swapped)).sum(1)).float().mean().item()
        report["binding"] = {"accuracy": round(wins, 4), "chance": 0.5, "n": len(rows)}
    return report


def _complete(out_dir: Path, fingerprint: str) -> bool:
    try:
        stored = json.loads((out_dir / "fingerprint.json").read_text())
        labels = json.loads((out_dir / "labels.json").read_text())
    except (OSError, ValueError):
        return False
    model_dir = out_dir / "model"
    return (
        stored.get("fingerprint") == fingerprint
        and (model_dir / "open_clip_config.json").is_file()
        and (model_dir / "open_clip_model.safetensors").is_file()
        and (out_dir / "vocab.json").is_file()
        and all((out_dir / "photos" / name).is_file() for name in labels)
    )


def _load_fixture(out_dir: Path) -> TinyClipFixture:
    metrics_path = out_dir / "metrics.json"
    return TinyClipFixture(
        model_dir=(out_dir / "model").resolve(),
        photos_dir=(out_dir / "photos").resolve(),
        labels=json.loads((out_dir / "labels.json").read_text()),
        vocab=json.loads((out_dir / "vocab.json").read_text()),
        metrics=json.loads(metrics_path.read_text()) if metrics_path.is_file() else {},
    )


def _training_threads() -> int:
    """All cores on an idle machine, one on a busy one.

    Measured on the 2-core dev box with other jobs running: a 2-thread step took 5–17 s against 1.1–1.5 s
    with one thread (OpenMP threads spin waiting for a descheduled sibling); OMP_WAIT_POLICY=PASSIVE,
    which main() sets, removes most of that, but one thread was still no slower under load.
    """
    cores = os.cpu_count() or 1
    return cores if _load_average() < cores - 0.5 else 1


def _load_average() -> float:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on Windows
        return 0.0


@contextlib.contextmanager
def _build_lock(out_dir: Path) -> Iterator[None]:
    """Serialise builds of one directory: several benchmarks may ask for the fixture at the same time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".build.lock", "a+") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def ensure_tiny_clip(
    out_dir: Path,
    params: TinyClipParams | None = None,
    log: Callable[[str], None] | None = None,
) -> TinyClipFixture:
    """Return the fixture in ``out_dir``, training and rendering it first unless a complete build with the
    same parameters is already there. Raises FixtureUnavailableError when Fashion-MNIST is not installed."""
    params = params or TinyClipParams()
    log = log or (lambda _message: None)
    out_dir = Path(out_dir)
    fingerprint = params.fingerprint()
    if _complete(out_dir, fingerprint):
        log(f"reusing tiny CLIP in {out_dir} (fingerprint {fingerprint})")
        return _load_fixture(out_dir)
    load_fashion_mnist("test")  # fail fast, before spending minutes
    with _build_lock(out_dir):
        if _complete(out_dir, fingerprint):  # another process built it while we waited
            log(f"reusing tiny CLIP in {out_dir} (fingerprint {fingerprint})")
        else:
            _build(out_dir, params, fingerprint, log)
    return _load_fixture(out_dir)


def _build(out_dir: Path, params: TinyClipParams, fingerprint: str, log: Callable[[str], None]) -> None:
    from photolens.torch_compat import import_torch

    torch = import_torch()
    for stale in ("fingerprint.json", "labels.json", "vocab.json", "metrics.json"):
        (out_dir / stale).unlink(missing_ok=True)
    for stale_dir in ("model", "photos"):
        shutil.rmtree(out_dir / stale_dir, ignore_errors=True)

    threads = torch.get_num_threads()
    torch.set_num_threads(_training_threads())
    environment = {"threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "load_average": _load_average()}
    try:
        total_start = time.perf_counter()
        log(f"training tiny CLIP ({params.steps} steps × {params.batch_size}) on {environment['threads']} thread(s), "
            f"load average {environment['load_average']:.1f} on {environment['cpu_count']} cores")
        model, timings = train(params, log)
        n_params = sum(p.numel() for p in model.parameters())
        _save_model(model, params, out_dir / "model")
        del model

        t0 = time.perf_counter()
        labels = _write_holdout(params, out_dir / "photos")
        timings["holdout_s"] = time.perf_counter() - t0
        vocab = vocabulary(params)
        (out_dir / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True) + "\n")
        (out_dir / "vocab.json").write_text(json.dumps(vocab, indent=2) + "\n")

        t0 = time.perf_counter()
        report = zero_shot_report(f"local-dir:{out_dir / 'model'}", out_dir / "photos", labels, vocab)
        timings["eval_s"] = time.perf_counter() - t0
        timings["total_s"] = time.perf_counter() - total_start
    finally:
        torch.set_num_threads(threads)

    metrics = {
        "fingerprint": fingerprint,
        "params": asdict(params),
        "n_parameters": n_params,
        "environment": environment,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "zero_shot": report,
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out_dir / "fingerprint.json").write_text(json.dumps({"fingerprint": fingerprint}) + "\n")


def format_metrics(metrics: dict[str, Any]) -> str:
    """Human-readable summary of metrics.json."""
    lines = [f"parameters: {metrics.get('n_parameters', '?'):,}"]
    lines.append("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in metrics.get("timings_s", {}).items()))
    report = metrics.get("zero_shot", {})
    lines.append(f"zero-shot on {report.get('n_photos', '?')} held-out photos (accuracy vs chance):")
    for notion, row in report.get("notions", {}).items():
        lines.append(f"  {notion:<11} {row['accuracy']:.3f}  (chance {row['chance']:.3f})  '{row['template']}'")
    for key in ("joint", "binding"):
        if key in report:
            row = report[key]
            lines.append(f"  {key:<11} {row['accuracy']:.3f}  (chance {row['chance']:.4f})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: build (or reuse) the fixture and print timings and zero-shot accuracy."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tinyclip", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-data/tinyclip"), help="output directory")
    parser.add_argument("--steps", type=int, default=TinyClipParams.steps, help="training steps")
    parser.add_argument("--seed", type=int, default=TinyClipParams.seed)
    parser.add_argument("--holdout", type=int, default=TinyClipParams.n_holdout, help="held-out photos to write")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when torch loads, which happens after this
    params = TinyClipParams(seed=args.seed, steps=args.steps, n_holdout=args.holdout)
    start = time.perf_counter()
    try:
        fixture = ensure_tiny_clip(args.out, params, log=lambda message: print(message, flush=True))
    except FixtureUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_metrics(fixture.metrics))
    print(f"model: {fixture.model_spec}")
    print(f"photos: {fixture.photos_dir} ({len(fixture.labels)} labelled)")
    print(f"wall time this run: {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
