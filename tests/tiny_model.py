"""A tiny random-initialised open_clip CLIP saved as a ``local-dir:`` model, for tests.

Random weights carry no meaning, but they exercise every real code path (config, weights loading,
tokenizer, preprocessing, batching) in well under a second per batch.
"""

from __future__ import annotations

import json
from pathlib import Path

TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2},
}


def make_tiny_model(folder: Path, seed: int = 0, config: dict | None = None) -> Path:
    """Write ``open_clip_config.json`` + weights into ``folder`` and return it."""
    from photolens.torch_compat import import_open_clip, import_torch

    torch = import_torch()
    open_clip = import_open_clip()
    folder.mkdir(parents=True, exist_ok=True)
    cfg = config or TINY_CONFIG
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg, "preprocess_cfg": {}}))
    torch.manual_seed(seed)
    model = open_clip.create_model(f"local-dir:{folder}", load_weights=False)
    torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")
    return folder
