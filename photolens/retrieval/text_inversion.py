"""Precise 'more like this' through the text side (Cross the Gap, 2025; docs/methods.md §3).

CLIP's image-image similarities are less well aligned than its image-text ones. Optimisation-based text
inversion (OTI) learns one pseudo-word embedding ``w`` per query photo so that ``e_T("a photo of w")`` is close
to ``e_I(photo)`` (loss 1 - cosine, AdamW lr 0.02, 150 steps), then searches the image vectors with that text
vector. There is no training data and nothing to store: it costs a text-tower forward/backward per step,
measured 7.2 CPU-seconds per query for ViT-B/32 on one core (1.6 s per query when 32 are batched), so it is
an opt-in mode (``similar --precise``). Several photos can be inverted in one batch (each row has its own
token), which the benchmark uses.

Measured gain on the tiny CLIP (``python -m benchmarks.composed_quality``): none. The inversion converges
(1 - cos 0.48 -> 0.04) but image-to-image retrieval is unchanged (same item: mAP 25.4 -> 25.4, R@1 50.7 ->
50.3; same item and colours: mAP 46.3 -> 45.1). The paper reports +2-3 mAP with real CLIP models, whose
image-image similarities are worse aligned than this tiny model's; that could not be checked offline.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from photolens.retrieval.pseudo_token import PLACEHOLDER, encode_text_with_tokens, text_tower
from photolens.torch_compat import import_torch
from photolens.vectors import normalize

TEMPLATE = "a photo of *"
STEPS = 150
LR = 0.02
WEIGHT_DECAY = 0.01  # AdamW's default


@dataclass(frozen=True)
class Inversion:
    """Result of :func:`invert`: the normalised text vectors to search with, and how it went."""

    vectors: np.ndarray  # (B, d) float32, L2-normalised
    initial_loss: np.ndarray  # (B,) 1 - cos before optimising
    final_loss: np.ndarray  # (B,) 1 - cos of the returned vectors
    steps: int
    seconds: float


def invert(model: Any, tokenizer: Any, image_vectors: np.ndarray, steps: int = STEPS, lr: float = LR,
           template: str = TEMPLATE, seed: int = 0, cancel: threading.Event | None = None) -> Inversion:
    """OTI for each row of ``image_vectors`` ``(B, d)``: returns ``N(e_T(template with w_b))`` per row.

    ``w`` starts at the mean vocabulary embedding plus a little seeded noise (a neutral, typical-norm word);
    the best iterate per row is kept, so the result is never worse than the start. ``cancel`` stops early
    and returns the best so far. The model is only read (gradients are taken with respect to ``w``).
    """
    if template.count(PLACEHOLDER) != 1:
        raise ValueError(f"template needs exactly one {PLACEHOLDER!r}: {template!r}")
    torch = import_torch()
    targets = torch.from_numpy(normalize(np.atleast_2d(image_vectors)))
    start = time.perf_counter()
    table = text_tower(model).token_embedding.weight.detach()
    generator = torch.Generator().manual_seed(seed)
    init = table.mean(0, keepdim=True) + 0.01 * table.std() * torch.randn(targets.shape[0], table.shape[1],
                                                                         generator=generator)
    w = init.float().clone().requires_grad_(True)
    optimizer = torch.optim.AdamW([w], lr=lr, weight_decay=WEIGHT_DECAY)
    best_loss = torch.full((targets.shape[0],), float("inf"))
    best = torch.zeros_like(targets)
    initial = None
    for step in range(steps + 1):  # the last pass only evaluates the final w
        text = encode_text_with_tokens(model, tokenizer, template, w, normalize=True).float()
        loss = 1.0 - (text * targets).sum(-1)
        with torch.no_grad():
            if initial is None:
                initial = loss.detach().clone()
            better = loss < best_loss
            best_loss = torch.where(better, loss.detach(), best_loss)
            best[better] = text.detach()[better]
        if step == steps or (cancel is not None and cancel.is_set()):
            break
        optimizer.zero_grad(set_to_none=True)
        loss.sum().backward(inputs=[w])  # rows are independent: the sum gives each its own gradient
        optimizer.step()
    vectors = normalize(best.numpy())
    return Inversion(vectors, initial.numpy(), best_loss.numpy(), steps, time.perf_counter() - start)
