"""The CLIP embedder: open_clip model loading (offline, with clear errors) and batch encoding.

torch and open_clip are imported here lazily, only when a model is actually loaded.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from photolens.embedding.spec import (
    ModelSpec,
    missing_weights_message,
    parse_model_spec,
    weights_status,
)
from photolens.errors import ModelSpecError, ModelUnavailableError
from photolens.torch_compat import import_open_clip, import_torch

log = logging.getLogger(__name__)

TEXT_BATCH = 256

#: Numeric precision of the image tower. ``auto`` picks ``bf16`` where the CPU computes bfloat16 natively
#: (AVX-512 BF16 or AMX: ViT-B-32-256 embeds photos ~2-4x faster, and the vectors keep a cosine
#: >= 0.999 with float32 ones) and ``fp32`` elsewhere (emulated bfloat16 would be slower). Text always runs
#: in float32: queries are few and cheap. ``PHOTOLENS_PRECISION`` overrides the default.
PRECISIONS = ("auto", "fp32", "bf16")
PRECISION_ENV = "PHOTOLENS_PRECISION"


@dataclass(frozen=True)
class Preprocessing:
    """What the image tower expects; the decoder reproduces open_clip's transform with it."""

    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"


class Embedder:
    """A loaded CLIP model. Thread-safe for one caller at a time per method (a lock guards inference)."""

    def __init__(self, spec: ModelSpec, model: Any, tokenizer: Any, preprocessing: Preprocessing,
                 precision: str = "fp32"):
        self.spec = spec
        self.key = spec.key
        self.model = model
        self.tokenizer = tokenizer
        self.preprocessing = preprocessing
        self._lock = threading.Lock()
        torch = import_torch()
        #: intra-op threads the model was loaded for (the pipeline lowers them while decoders need cores)
        self.threads = torch.get_num_threads()
        #: ``fp32`` or ``bf16``: the image tower's weights and activations (vectors are float32 either way)
        self.precision = resolve_precision(precision)
        self._image_dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        if self.precision == "bf16":
            self.model.visual.to(torch.bfloat16)
        mean = torch.tensor(preprocessing.mean, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(preprocessing.std, dtype=torch.float32).view(1, 3, 1, 1)
        # (x / 255 - mean) / std == x * scale + shift: one fused pass over the batch, in float32
        self._scale = 1.0 / (255.0 * std)
        self._shift = -mean / std
        # CLIP's towers share the embedding size; the image tower usually states it (no text pass needed)
        output_dim = getattr(getattr(self.model, "visual", None), "output_dim", None)
        if isinstance(output_dim, int) and output_dim > 0:
            self.dim = output_dim
        else:
            with torch.inference_mode():
                probe = self.model.encode_text(self.tokenizer(["a photo"]))
            self.dim = int(probe.shape[-1])

    # ----------------------------------------------------------------- encoding
    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Encode a batch of prepared images, uint8 ``(B, S, S, 3)``, into normalised float32 ``(B, d)``."""
        torch = import_torch()
        with self._lock, torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float()
            batch = torch.addcmul(self._shift, batch, self._scale).to(self._image_dtype)
            features = self.model.encode_image(batch)
            features = torch.nn.functional.normalize(features.float(), dim=-1)
        return features.numpy().astype(np.float32, copy=False)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Encode strings into normalised float32 ``(n, d)``."""
        torch = import_torch()
        out = []
        with self._lock, torch.inference_mode():
            for start in range(0, len(texts), TEXT_BATCH):
                tokens = self.tokenizer(list(texts[start : start + TEXT_BATCH]))
                features = self.model.encode_text(tokens)
                out.append(torch.nn.functional.normalize(features.float(), dim=-1).numpy())
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)


def _preprocessing_from(model: Any) -> Preprocessing:
    cfg = getattr(getattr(model, "visual", None), "preprocess_cfg", None) or {}
    size = cfg.get("size") or getattr(model.visual, "image_size", 224)
    if isinstance(size, (tuple, list)):
        size = size[0]
    return Preprocessing(
        image_size=int(size),
        mean=tuple(cfg.get("mean", (0.48145466, 0.4578275, 0.40821073))),
        std=tuple(cfg.get("std", (0.26862954, 0.26130258, 0.27577711))),
        interpolation=str(cfg.get("interpolation", "bicubic")),
        resize_mode=str(cfg.get("resize_mode", "shortest")),
    )


_PREPROCESS_KEYS = ("mean", "std", "interpolation", "resize_mode")


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 matrix products natively (AVX-512 BF16 or AMX) through oneDNN."""
    torch = import_torch()
    try:
        return bool(torch.backends.mkldnn.is_available()
                    and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()))
    except (AttributeError, RuntimeError):  # private helpers: absent from other torch builds
        return False


def resolve_precision(precision: str | None = None) -> str:
    """``fp32`` or ``bf16`` for a requested precision (``None``: ``PHOTOLENS_PRECISION``, else ``auto``)."""
    value = (precision or os.environ.get(PRECISION_ENV) or "auto").strip().lower()
    if value not in PRECISIONS:
        raise ModelSpecError(f"Unknown precision '{value}': use one of {', '.join(PRECISIONS)}.")
    if value == "auto":
        return "bf16" if native_bf16() else "fp32"
    return value


def load_embedder(spec: ModelSpec | str, threads: int | None = None, precision: str | None = None) -> Embedder:
    """Load a model strictly offline. Raises :class:`ModelUnavailableError` with a clear message.

    ``precision`` is the image tower's (see :data:`PRECISIONS`); ``None`` means ``PHOTOLENS_PRECISION`` or
    ``auto``."""
    # Importing torch and open_clip and building a CLIP create ~400k long-lived objects and little
    # garbage: the cyclic collector would rescan them all six times meanwhile (~0.8 s of CPU, a quarter
    # of a ViT-B-32 load). Once loaded they are frozen out of later collections, which otherwise rescan
    # them in every full collection and once more at interpreter exit (~1 s of CPU at the end of
    # `photolens index`); the price is ~2 MB of import-time garbage kept for the life of the process.
    collecting = gc.isenabled()
    gc.disable()
    loaded = False
    try:
        embedder = _load_embedder(spec, threads, precision)
        loaded = True
        return embedder
    finally:
        if loaded:
            gc.freeze()
        if collecting:
            gc.enable()


def _load_embedder(spec: ModelSpec | str, threads: int | None, precision: str | None) -> Embedder:
    if isinstance(spec, str):
        spec = parse_model_spec(spec)
    if "torch" not in sys.modules:
        # OpenMP threads that wait passively give their core back to the decoders and to other programs;
        # spinning ones burn it (2 bf16 threads on a busy 2-core machine: 59 -> 38 ms CPU per photo).
        # libgomp reads this once, when torch loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    precision = resolve_precision(precision)
    torch = import_torch()
    torch.set_num_threads(threads or os.cpu_count() or 1)
    open_clip = import_open_clip()

    kwargs: dict[str, Any] = {}
    if spec.kind == "tag":
        if spec.arch not in open_clip.list_models():
            raise ModelUnavailableError(
                f"Unknown open_clip architecture '{spec.arch}'. `photolens models --all` lists them."
            )
        pretrained_cfg = open_clip.get_pretrained_cfg(spec.arch, spec.source)
        status = weights_status(spec, pretrained_cfg)
        if not status.available:
            raise ModelUnavailableError(missing_weights_message(spec, status))
        name, kwargs["pretrained"] = spec.arch, status.location
        kwargs["force_preprocess_cfg"] = {k: pretrained_cfg[k] for k in _PREPROCESS_KEYS if k in pretrained_cfg}
        if pretrained_cfg.get("quick_gelu"):
            kwargs["force_quick_gelu"] = True
    else:
        status = weights_status(spec)
        if not status.available:
            raise ModelUnavailableError(missing_weights_message(spec, status))
        if spec.kind == "checkpoint":
            name, kwargs["pretrained"] = spec.arch, spec.source
        elif spec.kind == "hf-hub":
            name = "local-dir:" + os.path.dirname(status.location)
        else:
            name = "local-dir:" + spec.source
    try:
        model = open_clip.create_model(name, device="cpu", **kwargs)
        tokenizer = open_clip.get_tokenizer(name if name.startswith("local-dir:") else spec.arch)
    except (RuntimeError, ValueError, KeyError, OSError) as exc:
        raise ModelUnavailableError(
            f"Could not load model '{spec.text}': {str(exc).splitlines()[0][:300]}\n"
            "Check that the weights match the architecture (a checkpoint of another model, or a damaged "
            "file, fails here)."
        ) from exc
    model.eval()
    return Embedder(spec, model, tokenizer, _preprocessing_from(model), precision=precision)
