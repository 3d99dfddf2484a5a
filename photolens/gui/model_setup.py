"""Model setup for the GUI: is the model here, how big is it, and fetching its weights.

The cheap check (:func:`check_model`, run in a task: it touches the disk) never imports torch: for a
local folder, a checkpoint file or a Hugging Face repo it asks
:func:`photolens.embedding.spec.weights_status`; for an ``ARCH:TAG`` spec whose repository is listed in
:data:`KNOWN_HUB_REPOS` (the default model is) it looks in the Hugging Face cache too. Other ``ARCH:TAG``
specs are only known to open_clip, so their check is left to the first search or indexing run, which
raises ``ModelUnavailableError`` with the same guidance.

:func:`download_weights` (run in a task) resolves the spec's Hugging Face repository and downloads the
weights into the Hugging Face cache, reporting bytes as they arrive; cancelling stops it at the next chunk
(the partial file stays, and the next download resumes it).
"""

from __future__ import annotations

import os
import threading
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


#: Hugging Face repositories of ``ARCH:TAG`` models, so their weights can be looked for without open_clip
#: (open_clip's ``get_pretrained_cfg`` gives the same answer, checked by tests/test_gui_app.py).
KNOWN_HUB_REPOS = {"ViT-B-32-256:datacomp_s34b_b86k": "laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K"}


class DownloadCancelled(Exception):
    """The user cancelled the model download."""


@dataclass(frozen=True)
class ModelCheck:
    """``available``: True, False, or None when it cannot be known without importing torch."""

    available: bool | None
    message: str = ""
    detail: str = ""  # the short reason ("no weights file in that folder")


def check_model(spec: ModelSpec) -> ModelCheck:
    repo = KNOWN_HUB_REPOS.get(spec.text)
    if spec.kind == "tag" and repo is None:
        return ModelCheck(None)
    try:
        status = weights_status(spec, {"hf_hub": repo} if repo else None)
    except Exception as exc:  # noqa: BLE001 - e.g. huggingface_hub missing; decided at first use
        return ModelCheck(None, str(exc))
    if status.available:
        return ModelCheck(True)
    where = f"\nLooked in: {status.location}" if status.location else ""
    return ModelCheck(False, f"The weights of '{spec.text}' are not here ({status.detail}).{where}", status.detail)


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
    if spec.text in KNOWN_HUB_REPOS:
        return KNOWN_HUB_REPOS[spec.text]
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
    """Download ``spec``'s weights into the Hugging Face cache; returns the local file. Needs a network.
    Raises :class:`DownloadCancelled` soon after ``cancel`` is set."""
    from huggingface_hub import HfApi, hf_hub_download

    cancel = cancel or threading.Event()
    repo = _hub_repo(spec)
    try:
        files = set(HfApi().list_repo_files(repo))
        filename = next((name for name in HUB_WEIGHT_NAMES if name in files), None)
        if filename is None:
            raise ModelUnavailableError(f"The repository {repo} has none of {', '.join(HUB_WEIGHT_NAMES)}.")
    except ModelUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - offline, DNS, proxy, HTTP errors: one clear message
        raise ModelUnavailableError(f"Cannot reach Hugging Face to download {repo}: {exc}".strip()) from exc
    if cancel.is_set():
        raise DownloadCancelled()
    bar = progress_bar_class(progress, cancel)
    try:
        for name in [n for n in ("open_clip_config.json",) if n in files]:
            hf_hub_download(repo, name)
        path = hf_hub_download(repo, filename, tqdm_class=bar)
    except DownloadCancelled:
        raise
    except Exception as exc:  # noqa: BLE001
        if cancel.is_set():
            raise DownloadCancelled() from exc
        raise ModelUnavailableError(f"Download of {repo} failed: {exc}") from exc
    return path


def progress_bar_class(progress: Callable[[int, int], None], cancel: threading.Event) -> type:
    """A tqdm class for huggingface_hub that reports (bytes done, total) and stops when ``cancel`` is set."""
    from tqdm.auto import tqdm

    class _Bar(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = False
            kwargs["file"] = open(os.devnull, "w")  # noqa: SIM115 - closed with the bar
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            if cancel.is_set():
                raise DownloadCancelled()
            shown = super().update(n)
            progress(int(self.n), int(self.total or 0))
            return shown

        def close(self) -> None:
            super().close()
            if self.fp is not None and not self.fp.closed:
                self.fp.close()

    return _Bar
