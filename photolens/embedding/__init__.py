"""CLIP models: spec parsing and key (cheap, no torch) and the embedder (loads torch lazily)."""

from photolens.embedding.spec import ModelSpec, parse_model_spec

__all__ = ["ModelSpec", "parse_model_spec"]
