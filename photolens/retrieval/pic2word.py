"""Pic2Word (Saito et al., CVPR 2023) trained on the user's own library (docs/methods.md §2).

A small MLP maps a photo's CLIP vector to a pseudo word ``*``; a composed query is then the text embedding of
``"a photo of * , {change}"``. Training needs no labels and never touches the image tower: the library's stored
image vectors are the data, CLIP stays frozen, and the loss is CLIP's symmetric contrastive loss between
``N(e_I(x))`` and ``N(e_T("a photo of *"))`` (AdamW). The cost is the text tower's forward and backward pass
per photo and epoch: measured 10.4 CPU-seconds per 1,000 photos per epoch for ViT-B/32's text tower on one
core, so the default 5 epochs cost about 52 CPU-seconds per 1,000 photos (0.25 s for the tiny test CLIP).

Measured gain (``python -m benchmarks.composed_quality``, tiny CLIP, R@1/10/50): Pic2Word reaches
34.5/78.2/96.0 after 5 epochs (35.0/78.6/95.3 after 10), below the training-free default, weighted fusion
(46.1/91.5/99.5): it does not pay, so it is an opt-in experiment, off by default.

The trainer is a generator of progress events (the GUI and CLI adapt it) and can be checkpointed to bytes at
any yield and resumed later; a finished mapper is stored as bytes under :func:`mapper_key` (per model key).
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from photolens.retrieval.errors import CheckpointError, MapperUnavailableError, QueryError
from photolens.retrieval.pseudo_token import PLACEHOLDER, encode_text_with_tokens, text_tower
from photolens.torch_compat import import_torch
from photolens.vectors import normalize

FORMAT = "photolens-pic2word"
FORMAT_VERSION = 1
TRAIN_TEMPLATE = "a photo of *"
QUERY_TEMPLATE = "a photo of * , {change}"
MIN_PHOTOS = 32  # fewer: a contrastive batch has too few negatives to learn anything


def mapper_key(model_key: str) -> str:
    """Where the lead stores a mapper: one per CLIP model key (the mapper is useless with another model)."""
    return f"pic2word/v{FORMAT_VERSION}/{model_key}"


@dataclass(frozen=True)
class Pic2WordConfig:
    """Mapper shape and training schedule; defaults follow the paper's code where the paper has one."""

    hidden: int = 512  # Pic2Word's middle_dim
    layers: int = 2  # hidden layers (Linear, Dropout, ReLU), then an output Linear
    dropout: float = 0.1
    # The paper's lr 1e-4 is for millions of images; on one library, 1e-3 reaches the same recall in a quarter
    # of the epochs (benchmark R@10: 1e-3 x 5 epochs 78.2, 1e-4 x 20 epochs 76.0, 1e-4 x 5 epochs 64.3).
    lr: float = 1e-3
    weight_decay: float = 0.1
    batch_size: int = 128
    epochs: int = 5
    template: str = TRAIN_TEMPLATE
    seed: int = 0

    def __post_init__(self) -> None:
        if self.template.count(PLACEHOLDER) != 1:
            raise ValueError(f"template needs exactly one {PLACEHOLDER!r}: {self.template!r}")
        if min(self.hidden, self.layers, self.batch_size, self.epochs) < 1 or self.lr <= 0:
            raise ValueError("hidden, layers, batch_size, epochs and lr must be positive")


@dataclass(frozen=True)
class Pic2WordProgress:
    """One optimisation step (or the end): enough for a progress bar and a loss readout."""

    epoch: int  # epochs completed so far
    epochs: int
    step: int  # global steps done so far
    total_steps: int
    loss: float  # this step's loss (nan at the final event when nothing ran)
    elapsed_s: float  # training time so far, summed over resumed sessions
    done: bool = False

    @property
    def fraction(self) -> float:
        return self.step / self.total_steps if self.total_steps else 1.0


def _build_net(config: Pic2WordConfig, in_dim: int, out_dim: int) -> Any:
    torch = import_torch()
    nn = torch.nn
    parts: list[Any] = []
    width = in_dim
    for _ in range(config.layers):
        parts += [nn.Linear(width, config.hidden), nn.Dropout(config.dropout), nn.ReLU()]
        width = config.hidden
    parts.append(nn.Linear(width, out_dim))
    return nn.Sequential(*parts)


def _save(payload: dict[str, Any]) -> bytes:
    torch = import_torch()
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def _load(data: bytes, expect_model_key: str | None) -> dict[str, Any]:
    torch = import_torch()
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for damaged bytes
        raise CheckpointError(f"The stored Pic2Word mapper cannot be read ({type(exc).__name__}); retrain it.") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError("The stored bytes are not a photolens Pic2Word mapper; retrain it.")
    if payload.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"Pic2Word mapper format {payload.get('version')} is not supported; retrain it.")
    if expect_model_key is not None and payload.get("model_key") != expect_model_key:
        raise MapperUnavailableError(
            f"The stored Pic2Word mapper was trained for model {payload.get('model_key')}, not {expect_model_key}; "
            "train one for this model."
        )
    return payload


class Pic2WordMapper:
    """A trained image -> pseudo-word mapper for one CLIP model."""

    def __init__(self, net: Any, config: Pic2WordConfig, model_key: str, in_dim: int, width: int,
                 info: dict[str, Any] | None = None):
        self.net = net.eval()
        self.config = config
        self.model_key = model_key
        self.in_dim = in_dim
        self.width = width
        self.info = dict(info or {})  # photos, epochs done, final loss, seconds

    def token_embeddings(self, image_vectors: np.ndarray) -> Any:
        """Pseudo-word embeddings ``(B, width)`` for normalised image vectors ``(B, d)`` (torch tensor)."""
        torch = import_torch()
        vectors = normalize(np.atleast_2d(image_vectors))
        if vectors.shape[1] != self.in_dim:
            raise MapperUnavailableError(
                f"The Pic2Word mapper expects {self.in_dim}-d vectors, got {vectors.shape[1]}-d: another model."
            )
        with torch.no_grad():
            return self.net(torch.from_numpy(vectors))

    def query_vectors(self, model: Any, tokenizer: Any, image_vectors: np.ndarray,
                      changes: Sequence[str], template: str = QUERY_TEMPLATE) -> np.ndarray:
        """Normalised ``e_T(template.format(change))`` with ``*`` = the mapped reference, one row per pair.

        A ``*`` typed inside a change is removed: only the template's placeholder stands for the photo.
        """
        torch = import_torch()
        refs = np.atleast_2d(image_vectors)
        if len(changes) != refs.shape[0]:
            raise ValueError(f"{refs.shape[0]} references but {len(changes)} changes")
        texts = [template_text(template, change) for change in changes]
        tokens = self.token_embeddings(refs)
        with torch.no_grad():
            out = encode_text_with_tokens(model, tokenizer, texts, tokens, normalize=True)
        return out.float().numpy().astype(np.float32, copy=False)

    def to_bytes(self) -> bytes:
        return _save({
            "format": FORMAT, "version": FORMAT_VERSION, "kind": "mapper", "model_key": self.model_key,
            "config": asdict(self.config), "in_dim": self.in_dim, "width": self.width, "info": self.info,
            "state": self.net.state_dict(),
        })

    @classmethod
    def from_bytes(cls, data: bytes, model_key: str | None = None) -> Pic2WordMapper:
        """Load a mapper (or the mapper inside a training checkpoint); checks it belongs to ``model_key``."""
        payload = _load(data, model_key)
        config = Pic2WordConfig(**payload["config"])
        net = _build_net(config, int(payload["in_dim"]), int(payload["width"]))
        net.load_state_dict(payload["state"])
        return cls(net, config, str(payload["model_key"]), int(payload["in_dim"]), int(payload["width"]),
                   dict(payload.get("info") or {}))


def template_text(template: str, change: str) -> str:
    """Fill a query template, dropping placeholders typed by the user and tidying empty changes."""
    change = " ".join(change.replace(PLACEHOLDER, " ").split())
    if template.count(PLACEHOLDER) != 1 or "{change}" not in template:
        raise QueryError(f"A Pic2Word template needs one {PLACEHOLDER!r} and a {{change}} slot: {template!r}")
    text = template.format(change=change)
    return text.rstrip(" ,") if not change else text


@dataclass
class _Position:
    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    elapsed_s: float = 0.0
    last_loss: float = math.nan
    history: list[float] = field(default_factory=list)  # mean loss of each finished epoch


class Pic2WordTrainer:
    """Trains a :class:`Pic2WordMapper` on a library's image vectors; resumable from :meth:`checkpoint`.

    ``model``/``tokenizer`` are the Embedder's (shared, not modified: gradients are taken only with respect
    to the mapper, so the frozen CLIP never accumulates ``.grad``).
    """

    def __init__(self, model: Any, tokenizer: Any, image_vectors: np.ndarray, model_key: str,
                 config: Pic2WordConfig | None = None, checkpoint: bytes | None = None):
        torch = import_torch()
        self.model = model
        self.tokenizer = tokenizer
        self.model_key = model_key
        self.vectors = normalize(np.asarray(image_vectors, dtype=np.float32))
        if self.vectors.ndim != 2 or self.vectors.shape[0] < MIN_PHOTOS:
            raise QueryError(
                f"Pic2Word needs at least {MIN_PHOTOS} embedded photos to learn from; the library has "
                f"{0 if self.vectors.ndim != 2 else self.vectors.shape[0]}."
            )
        width = text_tower(model).width
        payload = _load(checkpoint, model_key) if checkpoint is not None else None
        if payload is not None and payload.get("kind") != "checkpoint":
            raise CheckpointError("These bytes hold a finished mapper, not a training checkpoint.")
        self.config = Pic2WordConfig(**payload["config"]) if payload else (config or Pic2WordConfig())
        torch.manual_seed(self.config.seed)
        self.net = _build_net(self.config, self.vectors.shape[1], width)
        self.optimizer = torch.optim.AdamW(self.net.parameters(), lr=self.config.lr,
                                           weight_decay=self.config.weight_decay)
        self.position = _Position()
        if payload is not None:
            if int(payload["in_dim"]) != self.vectors.shape[1] or int(payload["width"]) != width:
                raise CheckpointError("The checkpoint's sizes do not match this model; start training again.")
            self.net.load_state_dict(payload["state"])
            self.optimizer.load_state_dict(payload["optimizer"])
            self.position = _Position(**payload["position"])
        self.width = width
        logit_scale = getattr(model, "logit_scale", None)
        # CLIP's own (frozen) temperature, capped at 100 as in CLIP training
        self._scale = min(100.0, math.exp(float(logit_scale.detach()))) if logit_scale is not None else 100.0

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.vectors.shape[0] // self.config.batch_size)  # drop the ragged tail: equal batches

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs

    @property
    def done(self) -> bool:
        return self.position.epoch >= self.config.epochs

    def _order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.config.seed, epoch]).permutation(self.vectors.shape[0])

    def loss_on(self, vectors: np.ndarray) -> float:
        """The contrastive loss on a batch of image vectors, without training (dropout off)."""
        torch = import_torch()
        self.net.eval()
        with torch.no_grad():
            return float(self._loss(torch.from_numpy(normalize(vectors))))

    def _loss(self, images: Any) -> Any:
        torch = import_torch()
        tokens = self.net(images)
        text = encode_text_with_tokens(self.model, self.tokenizer, self.config.template, tokens, normalize=True)
        logits = self._scale * images @ text.float().T
        target = torch.arange(images.shape[0])
        cross = torch.nn.functional.cross_entropy
        return 0.5 * (cross(logits, target) + cross(logits.T, target))

    def run(self, cancel: threading.Event | None = None) -> Iterator[Pic2WordProgress]:
        """Train until done or cancelled, yielding after every step; a final event has ``done`` set."""
        torch = import_torch()
        pos = self.position
        per_epoch = self.steps_per_epoch
        epoch_losses: list[float] = []
        if self.done:
            yield Pic2WordProgress(pos.epoch, self.config.epochs, pos.global_step, self.total_steps,
                                   pos.last_loss, pos.elapsed_s, done=True)
            return
        while not self.done:
            if cancel is not None and cancel.is_set():
                return
            start = time.perf_counter()
            order = self._order(pos.epoch)
            lo = pos.step_in_epoch * self.config.batch_size
            batch = torch.from_numpy(self.vectors[order[lo : lo + self.config.batch_size]])
            self.net.train()
            loss = self._loss(batch)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward(inputs=list(self.net.parameters()))
            self.optimizer.step()
            pos.last_loss = float(loss.detach())
            epoch_losses.append(pos.last_loss)
            pos.global_step += 1
            pos.step_in_epoch += 1
            if pos.step_in_epoch >= per_epoch:
                pos.history.append(float(np.mean(epoch_losses)) if epoch_losses else math.nan)
                epoch_losses = []
                pos.epoch += 1
                pos.step_in_epoch = 0
            pos.elapsed_s += time.perf_counter() - start
            yield Pic2WordProgress(pos.epoch, self.config.epochs, pos.global_step, self.total_steps,
                                   pos.last_loss, pos.elapsed_s, done=self.done)
        self.net.eval()

    def checkpoint(self) -> bytes:
        """Everything needed to resume (mapper, optimizer, position); store it and pass it back later."""
        return _save({
            "format": FORMAT, "version": FORMAT_VERSION, "kind": "checkpoint", "model_key": self.model_key,
            "config": asdict(self.config), "in_dim": self.vectors.shape[1], "width": self.width,
            "info": self._info(), "state": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
            "position": asdict(self.position),
        })

    def _info(self) -> dict[str, Any]:
        return {"photos": int(self.vectors.shape[0]), "epochs_done": self.position.epoch,
                "steps": self.position.global_step, "final_loss": self.position.last_loss,
                "seconds": round(self.position.elapsed_s, 3)}

    def mapper(self) -> Pic2WordMapper:
        """The mapper as trained so far (usually after :meth:`run` finished); independent of the trainer."""
        net = _build_net(self.config, self.vectors.shape[1], self.width)
        net.load_state_dict(self.net.state_dict())
        return Pic2WordMapper(net, self.config, self.model_key, self.vectors.shape[1], self.width, self._info())
