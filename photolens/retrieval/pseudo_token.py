"""Encode text in which a placeholder word is replaced by a free token embedding (a *pseudo word*).

Pic2Word and Cross-the-Gap both need ``e_T("a photo of *")`` with ``*`` standing for a vector that is not in
CLIP's vocabulary. open_clip has no hook for that, so :func:`encode_text_with_tokens` re-runs the text tower of
open_clip's ``CLIP`` step by step (token embedding, positional embedding, causal transformer, final norm,
EOT pooling, projection) with the placeholder rows swapped. Done explicitly rather than with a forward hook
because the model is shared with the indexer and search threads: a hook would leak into their calls.

Speed: the text tower is causal and pools at the end-of-text token, so the positions after the last EOT of a
batch cannot change the result. We cut the sequence there (77 -> about 6 tokens for "a photo of *"), which
makes training and inversion an order of magnitude cheaper on CPU with bit-for-bit the same maths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from photolens.retrieval.errors import UnsupportedModelError
from photolens.torch_compat import import_torch

PLACEHOLDER = "*"


@dataclass(frozen=True)
class TextTower:
    """The pieces of an open_clip text tower that :func:`encode_text_with_tokens` runs by hand."""

    token_embedding: Any
    positional_embedding: Any
    transformer: Any
    ln_final: Any
    text_projection: Any
    attn_mask: Any
    pool_type: str
    eos_id: int | None

    @property
    def width(self) -> int:
        return int(self.token_embedding.weight.shape[1])


def text_tower(model: Any) -> TextTower:
    """Locate the text tower of an open_clip ``CLIP`` (or a ``CustomTextCLIP`` with a plain
    ``TextTransformer``); raise :class:`UnsupportedModelError` for towers we cannot feed a pseudo word."""
    owner = model
    if not hasattr(model, "token_embedding"):
        owner = getattr(model, "text", None)
        if owner is None or not hasattr(owner, "token_embedding"):
            raise UnsupportedModelError(
                "This model's text encoder (e.g. a Hugging Face text tower) does not accept pseudo-word "
                "tokens, so Pic2Word and precise 'more like this' are not available with it."
            )
        if getattr(owner, "cls_emb", None) is not None or getattr(owner, "use_pad_mask", False):
            raise UnsupportedModelError(
                "This model's text encoder uses a class token or padding mask; pseudo-word queries are "
                "only supported for CLIP-style causal text towers."
            )
    pool_type = getattr(owner, "text_pool_type", None) or getattr(owner, "pool_type", "argmax")
    eos_id = getattr(owner, "text_eos_id", None) if owner is model else getattr(owner, "eos_id", None)
    return TextTower(
        token_embedding=owner.token_embedding,
        positional_embedding=owner.positional_embedding,
        transformer=owner.transformer,
        ln_final=owner.ln_final,
        text_projection=owner.text_projection,
        attn_mask=owner.attn_mask,
        pool_type=str(pool_type),
        eos_id=eos_id,
    )


def placeholder_id(tokenizer: Any, placeholder: str = PLACEHOLDER) -> int:
    """The vocabulary id of ``placeholder``; it must be a single token on its own."""
    row = tokenizer([placeholder])[0]
    ids = [int(t) for t in row.tolist()]
    end = max(range(len(ids)), key=lambda i: ids[i])  # EOT is the largest id in CLIP's vocabulary
    if end != 2:
        raise UnsupportedModelError(f"The placeholder {placeholder!r} is not a single token for this tokenizer.")
    return ids[1]


def spaced(text: str, placeholder: str = PLACEHOLDER) -> str:
    """Put spaces round the placeholder: CLIP's BPE merges ``*,`` into one different token."""
    return text.replace(placeholder, f" {placeholder} ")


def tokenize_with_placeholder(tokenizer: Any, texts: Sequence[str], placeholder: str = PLACEHOLDER) -> tuple[Any, Any]:
    """Token ids ``(B, L)`` and a boolean mask of the placeholder positions; every text needs one."""
    torch = import_torch()
    unique = list(dict.fromkeys(texts))  # training repeats one template per batch: tokenize it once
    tokens = tokenizer([spaced(t, placeholder) for t in unique])
    if not isinstance(tokens, torch.Tensor):
        tokens = torch.as_tensor(tokens)
    if len(unique) != len(texts):
        where = {t: i for i, t in enumerate(unique)}
        tokens = tokens[torch.tensor([where[t] for t in texts])]
    mask = tokens == placeholder_id(tokenizer, placeholder)
    missing = [t for t, found in zip(texts, mask.any(dim=1).tolist()) if not found]
    if missing:
        raise ValueError(f"No placeholder {placeholder!r} in {missing[0]!r} (or it was cut by the context length).")
    return tokens, mask


def _pool_positions(tower: TextTower, tokens: Any) -> Any:
    if tower.pool_type == "argmax":
        return tokens.argmax(dim=-1)
    if tower.pool_type == "eos" and tower.eos_id is not None:
        return (tokens == tower.eos_id).int().argmax(dim=-1)
    if tower.pool_type == "first":
        return tokens.new_zeros(tokens.shape[0])
    raise UnsupportedModelError(f"Text pooling {tower.pool_type!r} is not supported for pseudo-word queries.")


def encode_text_with_tokens(
    model: Any,
    tokenizer: Any,
    template: str | Sequence[str],
    token_embeddings: Any,
    placeholder: str = PLACEHOLDER,
    normalize: bool = False,
    truncate: bool = True,
) -> Any:
    """``e_T(template)`` with every ``placeholder`` token replaced by a learned embedding; differentiable.

    ``token_embeddings``: a torch tensor ``(B, width)`` (one pseudo word per text) or ``(width,)``;
    ``template``: one string for all rows or ``B`` strings. Returns ``(B, embed_dim)`` like ``encode_text``.
    """
    torch = import_torch()
    tower = text_tower(model)
    tokens_in = token_embeddings if token_embeddings.ndim == 2 else token_embeddings.unsqueeze(0)
    texts = [template] if isinstance(template, str) else list(template)
    batch = max(len(texts), tokens_in.shape[0])
    if len(texts) == 1:
        texts = texts * batch
    if tokens_in.shape[0] == 1 and batch > 1:
        tokens_in = tokens_in.expand(batch, -1)
    if len(texts) != batch or tokens_in.shape[0] != batch:
        raise ValueError(f"{len(texts)} templates for {tokens_in.shape[0]} token embeddings")
    if tokens_in.shape[1] != tower.width:
        raise ValueError(f"token embeddings have width {tokens_in.shape[1]}, the text tower needs {tower.width}")

    tokens, mask = tokenize_with_placeholder(tokenizer, texts, placeholder)
    pool_at = _pool_positions(tower, tokens)
    attn_mask = tower.attn_mask
    length = tokens.shape[1]
    if truncate and attn_mask is not None:
        length = int(pool_at.max()) + 1  # causal: later positions never reach the pooled one
        tokens, mask = tokens[:, :length], mask[:, :length]
        attn_mask = attn_mask[:length, :length]

    cast_dtype = tower.transformer.get_cast_dtype()
    x = tower.token_embedding(tokens).to(cast_dtype)
    x = torch.where(mask.unsqueeze(-1), tokens_in.to(cast_dtype).unsqueeze(1).expand_as(x), x)
    x = x + tower.positional_embedding[:length].to(cast_dtype)
    x = tower.transformer(x, attn_mask=attn_mask)
    x = tower.ln_final(x)
    x = x[torch.arange(x.shape[0]), pool_at]
    if tower.text_projection is not None:
        if isinstance(tower.text_projection, torch.nn.Linear):
            x = tower.text_projection(x)
        else:
            x = x @ tower.text_projection
    return torch.nn.functional.normalize(x, dim=-1) if normalize else x


def token_embedding_of(model: Any, tokenizer: Any, word: str) -> Any:
    """The (frozen) vocabulary embedding of a single-token word, e.g. to check or initialise a pseudo word."""
    tower = text_tower(model)
    return tower.token_embedding.weight[placeholder_id(tokenizer, word)].detach().clone()
