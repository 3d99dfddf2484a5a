"""Model specs: which CLIP to load, its identity key, and whether its weights are here.

A spec is one of

* ``ARCH:TAG`` — an open_clip architecture with a pretrained tag (weights from the Hugging Face cache);
* ``ARCH:/path/to/checkpoint.pt`` — an architecture with a local checkpoint file;
* ``local-dir:/path/to/folder`` (or just the folder) — ``open_clip_config.json`` plus weights;
* ``hf-hub:org/repo`` — an open_clip model repository in the Hugging Face cache.

The *model key* names the vectors a model produces (architecture + weights identity + preprocessing) and
is computed without importing torch, so ``photolens status`` stays instant. Vectors of different keys are
never mixed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from photolens.errors import ModelSpecError, ModelUnavailableError
from photolens.fingerprint import fingerprint_file

LOCAL_DIR = "local-dir:"
HF_HUB = "hf-hub:"
CHECKPOINT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".npz")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec. ``kind`` is ``"tag"``, ``"checkpoint"``, ``"local-dir"`` or ``"hf-hub"``."""

    text: str
    kind: str
    arch: str
    source: str  # the tag, file path, folder or hub repo

    @property
    def key(self) -> str:
        """Identity of the vectors this model produces."""
        if self.kind == "tag":
            return f"{self.arch}:{self.source}"
        if self.kind == "hf-hub":
            return f"hf-hub:{self.source}"
        if self.kind == "checkpoint":
            return f"{self.arch}:file-{_file_identity(Path(self.source))}"
        folder = Path(self.source)
        config = folder / "open_clip_config.json"
        weights = find_local_weights(folder)
        config_hash = hashlib.blake2b(_read_bytes(config), digest_size=6).hexdigest()
        weights_hash = _file_identity(weights) if weights else "noweights"
        return f"local-dir:{folder.name}:{config_hash}-{weights_hash}"


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelUnavailableError(f"Cannot read model config {path}: {exc.strerror or exc}") from exc


def _file_identity(path: Path) -> str:
    try:
        return fingerprint_file(path)[:16]
    except OSError as exc:
        raise ModelUnavailableError(f"Cannot read model weights {path}: {exc.strerror or exc}") from exc


def find_local_weights(folder: Path) -> Path | None:
    """The weights file open_clip would pick in a ``local-dir:`` folder."""
    preferred = (
        "open_clip_model.safetensors",
        "open_clip_pytorch_model.safetensors",
        "open_clip_pytorch_model.bin",
        "open_clip_pytorch_model.pth",
        "model.safetensors",
        "pytorch_model.bin",
    )
    for name in preferred:
        if (folder / name).is_file():
            return folder / name
    candidates = sorted(p for p in folder.glob("*") if p.suffix in (".safetensors", ".bin", ".pth"))
    return candidates[0] if candidates else None


def parse_model_spec(text: str) -> ModelSpec:
    """Parse a spec string; raises :class:`ModelSpecError` with the accepted forms when it is malformed."""
    spec = text.strip()
    if not spec:
        raise ModelSpecError("Empty model spec. " + SPEC_HELP)
    if spec.startswith(LOCAL_DIR):
        folder = os.path.abspath(os.path.expanduser(spec[len(LOCAL_DIR) :]))
        return ModelSpec(spec, "local-dir", "", folder)
    if spec.startswith(HF_HUB):
        repo = spec[len(HF_HUB) :]
        if repo.count("/") != 1:
            raise ModelSpecError(f"'{spec}': expected hf-hub:ORG/REPO. " + SPEC_HELP)
        return ModelSpec(spec, "hf-hub", "", repo)
    expanded = os.path.expanduser(spec)
    if os.path.isdir(expanded):
        return ModelSpec(spec, "local-dir", "", os.path.abspath(expanded))
    arch, sep, source = spec.partition(":")
    if not sep or not arch or not source:
        raise ModelSpecError(f"'{spec}' names no weights. " + SPEC_HELP)
    source_path = os.path.expanduser(source)
    if os.sep in source or source.endswith(CHECKPOINT_SUFFIXES) or os.path.isfile(source_path):
        return ModelSpec(spec, "checkpoint", arch, os.path.abspath(source_path))
    return ModelSpec(spec, "tag", arch, source)


SPEC_HELP = (
    "A model spec is ARCH:TAG (e.g. ViT-B-32-256:datacomp_s34b_b86k), ARCH:/path/to/checkpoint.pt, "
    "local-dir:/path/to/folder (open_clip_config.json + weights) or hf-hub:ORG/REPO."
)


@dataclass(frozen=True)
class WeightsStatus:
    """Where a model's weights are (or would be) and whether they are usable offline."""

    available: bool
    location: str
    detail: str


def hf_cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _hub_file_cached(repo: str, filenames: tuple[str, ...]) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        found = try_to_load_from_cache(repo_id=repo, filename=filename)
        if isinstance(found, str):
            return found
    return None


HUB_WEIGHT_NAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin", "open_clip_pytorch_model.safetensors")


def weights_status(spec: ModelSpec, pretrained_cfg: dict | None = None) -> WeightsStatus:
    """Check, without network, whether ``spec``'s weights can be loaded.

    ``pretrained_cfg`` is open_clip's entry for ``ARCH:TAG`` (needs open_clip imported, so the caller
    passes it); it names the Hugging Face repo the weights live in.
    """
    if spec.kind == "checkpoint":
        ok = os.path.isfile(spec.source)
        return WeightsStatus(ok, spec.source, "checkpoint file" if ok else "checkpoint file not found")
    if spec.kind == "local-dir":
        folder = Path(spec.source)
        if not (folder / "open_clip_config.json").is_file():
            return WeightsStatus(False, str(folder), "open_clip_config.json not found in that folder")
        weights = find_local_weights(folder)
        if weights is None:
            return WeightsStatus(False, str(folder), "no weights file (*.safetensors, *.bin) in that folder")
        return WeightsStatus(True, str(weights), "local folder")
    if spec.kind == "hf-hub":
        repo = spec.source
        found = _hub_file_cached(repo, HUB_WEIGHT_NAMES)
        config = _hub_file_cached(repo, ("open_clip_config.json",))
        ok = bool(found and config)
        return WeightsStatus(ok, found or f"{hf_cache_dir()} (repo {repo})", "Hugging Face cache")
    if not pretrained_cfg:
        return WeightsStatus(False, "", f"'{spec.source}' is not a known pretrained tag of {spec.arch}")
    # open_clip writes "ORG/REPO/" or, for a few tags, "ORG/REPO/FILE" (the weights' own file name)
    parts = (pretrained_cfg.get("hf_hub") or "").strip("/").split("/")
    repo, file_name = "/".join(parts[:2]), "/".join(parts[2:])
    if repo:
        found = _hub_file_cached(repo, ((file_name,) if file_name else ()) + HUB_WEIGHT_NAMES)
        return WeightsStatus(bool(found), found or f"{hf_cache_dir()} (repo {repo})", f"hf-hub:{repo}")
    url = pretrained_cfg.get("url", "")
    name = os.path.basename(url)
    cache = Path(os.path.expanduser("~/.cache/clip")) / name
    return WeightsStatus(cache.is_file(), str(cache), url)


def missing_weights_message(spec: ModelSpec, status: WeightsStatus) -> str:
    """One clear paragraph: what is missing, where we looked, how to provide it."""
    if spec.kind == "tag" and not status.location:
        return (f"Unknown model '{spec.text}': {status.detail}. `photolens models --all` lists the "
                "architectures and tags open_clip knows. " + SPEC_HELP)
    lines = [f"The weights of model '{spec.text}' are not available offline ({status.detail})."]
    if status.location:
        lines.append(f"Looked in: {status.location}")
    if spec.kind in ("tag", "hf-hub"):
        lines.append(
            f"Get them once on a machine with internet: `photolens --model {spec.text} models download`, "
            "which fills the Hugging Face cache "
            "(HF_HOME / ~/.cache/huggingface); copy that cache folder here if this machine is offline."
        )
    lines.append(
        "Or use weights you already have: --model ARCH:/path/to/checkpoint.pt, or "
        "--model local-dir:/path/to/folder (open_clip_config.json + open_clip_model.safetensors); "
        "PHOTOLENS_MODEL sets the default."
    )
    return "\n".join(lines)


def describe(spec: ModelSpec) -> dict:
    return {"spec": spec.text, "kind": spec.kind, "arch": spec.arch, "source": spec.source}


def dump_local_config(folder: Path, model_cfg: dict, preprocess_cfg: dict | None = None) -> None:
    """Write an ``open_clip_config.json`` the ``local-dir:`` loader reads (used by tests and tools)."""
    payload = {"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg or {}}
    (folder / "open_clip_config.json").write_text(json.dumps(payload, indent=2))
