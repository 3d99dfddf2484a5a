"""Model setup for the GUI: is the model here, how big is it, and fetching its weights.

The cheap check (:func:`check_model`) never imports torch: for a local folder, a checkpoint file or a
Hugging Face repo it asks :func:`photolens.embedding.spec.weights_status`; for an ``ARCH:TAG`` spec the
repository is only known to open_clip, so that check is left to the first search or indexing run, which
raises ``ModelUnavailableError`` with the same guidance.

:func:`download_weights` (run in a worker) resolves the spec's Hugging Face repository through open_clip
and downloads the weights into the Hugging Face cache, reporting bytes as the partial file grows.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from photolens.embedding.spec import (
    HUB_WEIGHT_NAMES,
    ModelSpec,
    find_local_weights,
    weights_status,
)
from photolens.errors import ModelUnavailableError

#: Parameter counts of common open_clip architectures (image + text towers), for "about N MB" in the
#: model dialog: float32 weights take 4 bytes per parameter.
KNOWN_PARAMS = {
    "RN50": 102_000_000,
    "ViT-B-32": 151_000_000,
    "ViT-B-32-256": 151_000_000,
    "ViT-B-32-quickgelu": 151_000_000,
    "ViT-B-16": 150_000_000,
    "ViT-L-14": 428_000_000,
    "ViT-L-14-336": 428_000_000,
    "ViT-H-14": 986_000_000,
}


@dataclass(frozen=True)
class ModelCheck:
    """``available``: True, False, or None when it cannot be known without importing torch."""

    available: bool | None
    message: str = ""


def check_model(spec: ModelSpec) -> ModelCheck:
    if spec.kind == "tag":
        return ModelCheck(None)
    try:
        status = weights_status(spec)
    except Exception as exc:  # noqa: BLE001 - e.g. huggingface_hub missing; decided at first use
        return ModelCheck(None, str(exc))
    if status.available:
        return ModelCheck(True)
    where = f"\nLooked in: {status.location}" if status.location else ""
    return ModelCheck(False, f"The weights of '{spec.text}' are not here ({status.detail}).{where}")


def size_estimate(spec: ModelSpec) -> int | None:
    """Bytes of the weights: the real file when it is on disk, else an estimate for known architectures."""
    if spec.kind == "checkpoint" and os.path.isfile(spec.source):
        return os.path.getsize(spec.source)
    if spec.kind == "local-dir":
        weights = find_local_weights(Path(spec.source)) if os.path.isdir(spec.source) else None
        return weights.stat().st_size if weights else None
    params = KNOWN_PARAMS.get(spec.arch)
    return params * 4 if params else None


def describe_size(spec: ModelSpec) -> str:
    size = size_estimate(spec)
    if size is None:
        return "size unknown"
    return f"about {size / 1e6:,.0f} MB" if size < 1e9 else f"about {size / 1e9:.1f} GB"


def can_download(spec: ModelSpec) -> bool:
    return spec.kind in ("tag", "hf-hub")


def _hub_repo(spec: ModelSpec) -> str:
    if spec.kind == "hf-hub":
        return spec.source
    from photolens.torch_compat import import_open_clip

    open_clip = import_open_clip()
    cfg = open_clip.get_pretrained_cfg(spec.arch, spec.source) or {}
    repo = (cfg.get("hf_hub") or "").rstrip("/")
    if not repo:
        raise ModelUnavailableError(f"open_clip knows no Hugging Face repository for '{spec.text}'; download its "
                                    "checkpoint by hand and choose it with 'Use a checkpoint file…'.")
    return repo


def download_weights(spec: ModelSpec, progress: Callable[[int, int], None],
                     cancel: threading.Event | None = None) -> str:
    """Download ``spec``'s weights into the Hugging Face cache; returns the local file. Needs a network."""
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.constants import HF_HUB_CACHE

    repo = _hub_repo(spec)
    try:
        files = set(HfApi().list_repo_files(repo))
        filename = next((name for name in HUB_WEIGHT_NAMES if name in files), None)
        if filename is None:
            raise ModelUnavailableError(f"The repository {repo} has none of {', '.join(HUB_WEIGHT_NAMES)}.")
        info = HfApi().model_info(repo, files_metadata=True)
        total = next((s.size or 0 for s in info.siblings or [] if s.rfilename == filename), 0)
    except ModelUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - offline, DNS, proxy, HTTP errors: one clear message
        raise ModelUnavailableError(f"Cannot reach Hugging Face to download {repo}: {exc}".strip()) from exc

    blobs = Path(HF_HUB_CACHE) / ("models--" + repo.replace("/", "--")) / "blobs"
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.3):
            partial = sum(p.stat().st_size for p in blobs.glob("*.incomplete")) if blobs.is_dir() else 0
            progress(partial, total)

    watcher = threading.Thread(target=watch, name="photolens-download-progress", daemon=True)
    watcher.start()
    try:
        extra = [name for name in ("open_clip_config.json",) if name in files]
        for name in extra:
            hf_hub_download(repo, name)
        path = hf_hub_download(repo, filename)
    except Exception as exc:  # noqa: BLE001
        raise ModelUnavailableError(f"Download of {repo} failed: {exc}") from exc
    finally:
        done.set()
        watcher.join(timeout=1)
    progress(total, total)
    time.sleep(0)  # let the last progress signal through before the result
    return path
