"""The models and libraries of ``benchmarks/relevance_bench.py``: which tiny CLIPs, built how, and which are
held out from tuning.

Three differently trained tiny CLIPs (``benchmarks/tinyclip.py``): different seeds, attribute sets (palettes)
and architectures. The relevance cutoff is tuned on ``fashion-a`` only; ``fashion-b`` (the issue-10 product
library: 8 colours x 6 backgrounds, another seed, a wider ResNet) and ``fashion-c`` (other colour words, a
deeper ResNet, a narrower text tower, another seed) are held out, as is the randomly initialised
ViT-B-32-256 ("knows nothing").
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.tinyclip import TinyClipFixture, TinyClipParams, ensure_tiny_clip

BENCH_DATA = Path("bench-data")


@dataclass(frozen=True)
class ModelVariant:
    name: str
    params: TinyClipParams
    tuned_on: bool

    @property
    def folder(self) -> Path:
        return BENCH_DATA / ("tinyclip" if self.name == "fashion-a" else f"tinyclip-{self.name}")


VARIANTS: tuple[ModelVariant, ...] = (
    ModelVariant("fashion-a", TinyClipParams(), tuned_on=True),  # the default fixture other benchmarks share
    ModelVariant("fashion-b", TinyClipParams(seed=1, palette="b", vision_width=24, steps=300), tuned_on=False),
    ModelVariant("fashion-c", TinyClipParams(seed=2, palette="c", vision_layers=(1, 1, 2, 1), embed_dim=96,
                                             text_width=96, text_layers=2, steps=300), tuned_on=False),
)


def build(variant: ModelVariant, log=print) -> TinyClipFixture:
    """Build (or reuse the cached build of) one variant under bench-data/."""
    return ensure_tiny_clip(variant.folder, variant.params, log=log)


if __name__ == "__main__":  # python -m benchmarks.relevance_models [NAME ...]: build ahead of the benchmark
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    wanted = set(sys.argv[1:])
    for v in VARIANTS:
        if not wanted or v.name in wanted:
            build(v, log=lambda m: print(m, flush=True))
