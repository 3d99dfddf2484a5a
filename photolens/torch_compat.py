"""Lazy, safe import of torch and open_clip.

Why this exists: torch and open_clip cost seconds to import, so nothing imports them at module level; and
on machines where torchvision's compiled operators do not match the installed CPU torch, ``import
open_clip`` fails with ``operator torchvision::nms does not exist``. open_clip only needs torchvision's
Python transforms, so we load the compiled library when it works and otherwise declare the two operator
schemas torchvision's Python side registers fake kernels for. Declaring them where the real operators
load would abort the process, hence the order.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import threading
from types import ModuleType

_lock = threading.Lock()
_prepared = False


def _prepare_torchvision(torch: ModuleType) -> None:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return
    folder = list(spec.submodule_search_locations)[0]
    libraries = sorted(glob.glob(os.path.join(folder, "_C*.so")) + glob.glob(os.path.join(folder, "_C*.pyd")))
    for library in libraries:
        try:
            torch.ops.load_library(library)
            return
        except OSError:
            continue
    for name, schema in (
        ("nms", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"),
        ("qnms", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"),
    ):
        try:
            torch.library.define(f"torchvision::{name}", schema)
        except RuntimeError:
            pass  # already defined by an earlier import attempt


def import_torch() -> ModuleType:
    """Import torch, preparing torchvision so that a later ``import torchvision`` works."""
    global _prepared
    import torch

    with _lock:
        if not _prepared:
            _prepare_torchvision(torch)
            _prepared = True
    return torch


def import_open_clip() -> ModuleType:
    """Import open_clip after :func:`import_torch` has made torchvision importable."""
    import_torch()
    import open_clip

    return open_clip
