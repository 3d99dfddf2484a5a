"""Pseudo-word text encoding, Pic2Word training/checkpoints and OTI, on the tiny random open_clip model."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from photolens.retrieval.composed import compose
from photolens.retrieval.errors import CheckpointError, MapperUnavailableError, UnsupportedModelError
from photolens.retrieval.pic2word import (
    Pic2WordConfig,
    Pic2WordMapper,
    Pic2WordTrainer,
    mapper_key,
    template_text,
)
from photolens.retrieval.pseudo_token import encode_text_with_tokens, text_tower, token_embedding_of
from photolens.retrieval.text_inversion import invert
from photolens.vectors import normalize


def photos(n: int, d: int, seed: int = 0) -> np.ndarray:
    return normalize(np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32))


@pytest.mark.parametrize("truncate", [True, False])
def test_pseudo_word_set_to_a_real_word_reproduces_encode_text(tiny_embedder, truncate: bool) -> None:
    import torch

    model, tokenizer = tiny_embedder.model, tiny_embedder.tokenizer
    words = ["dog", "beach", "night"]
    tokens = torch.stack([token_embedding_of(model, tokenizer, w) for w in words])
    templates = ["a photo of *", "a photo of *, at night", "* on a sunny day with friends"]
    with torch.no_grad():
        ours = encode_text_with_tokens(model, tokenizer, templates, tokens, truncate=truncate)
        reference = model.encode_text(tokenizer(["a photo of dog", "a photo of beach , at night",
                                                 "night on a sunny day with friends"]))
        one = encode_text_with_tokens(model, tokenizer, "a photo of *", tokens[0])
    assert ours.shape == reference.shape
    assert torch.allclose(ours, reference, atol=1e-5)
    assert torch.allclose(one[0], reference[0], atol=1e-5)
    # a different token gives a different sentence (the substitution is not a no-op)
    other = encode_text_with_tokens(model, tokenizer, "a photo of *", tokens[1])[0]
    assert not torch.allclose(other, reference[0], atol=1e-3)


def test_pseudo_word_input_errors_are_clear(tiny_embedder) -> None:
    import torch

    model, tokenizer = tiny_embedder.model, tiny_embedder.tokenizer
    width = text_tower(model).width
    with pytest.raises(ValueError, match="No placeholder"):
        encode_text_with_tokens(model, tokenizer, "a photo of a dog", torch.zeros(width))
    with pytest.raises(ValueError, match="width"):
        encode_text_with_tokens(model, tokenizer, "a photo of *", torch.zeros(width + 1))
    with pytest.raises(UnsupportedModelError):
        text_tower(object())
    assert template_text("a photo of * , {change}", "at * night") == "a photo of * , at night"
    assert template_text("a photo of * , {change}", "") == "a photo of *"


def small_config(**kw) -> Pic2WordConfig:
    base = {"hidden": 64, "layers": 2, "batch_size": 32, "epochs": 3, "lr": 3e-3, "dropout": 0.0}
    base.update(kw)
    return Pic2WordConfig(**base)


def test_pic2word_training_reduces_its_loss_and_reports_progress(tiny_embedder) -> None:
    data = photos(96, tiny_embedder.dim)
    trainer = Pic2WordTrainer(tiny_embedder.model, tiny_embedder.tokenizer, data, tiny_embedder.key,
                              small_config(epochs=8))
    before = trainer.loss_on(data)
    events = list(trainer.run())
    after = trainer.loss_on(data)
    assert after < before - 0.3, (before, after)
    assert [e.step for e in events] == list(range(1, trainer.total_steps + 1))
    assert events[-1].done and events[-1].epoch == 8 and events[-1].fraction == 1.0
    assert len(trainer.position.history) == 8 and trainer.position.history[-1] < trainer.position.history[0]
    # the frozen CLIP is not touched: no gradients accumulate on it
    assert all(p.grad is None for p in tiny_embedder.model.parameters())


def test_pic2word_resume_from_checkpoint_equals_an_uninterrupted_run(tiny_embedder) -> None:
    import torch

    data = photos(64, tiny_embedder.dim, seed=1)
    args = (tiny_embedder.model, tiny_embedder.tokenizer, data, tiny_embedder.key)
    straight = Pic2WordTrainer(*args, small_config())
    list(straight.run())

    first = Pic2WordTrainer(*args, small_config())
    cancel = threading.Event()
    for event in first.run(cancel):
        if event.step == 3:
            cancel.set()  # stops before the next step, like the GUI's cancel button
    assert first.position.global_step == 3 and not first.done
    resumed = Pic2WordTrainer(*args, checkpoint=first.checkpoint())
    assert resumed.position.global_step == 3 and resumed.position.epoch == 1
    list(resumed.run())
    assert resumed.done
    for a, b in zip(straight.net.state_dict().values(), resumed.net.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)


def test_mapper_bytes_round_trip_and_model_check(tiny_embedder) -> None:
    data = photos(64, tiny_embedder.dim, seed=2)
    trainer = Pic2WordTrainer(tiny_embedder.model, tiny_embedder.tokenizer, data, tiny_embedder.key, small_config())
    list(trainer.run())
    mapper = trainer.mapper()
    model, tokenizer = tiny_embedder.model, tiny_embedder.tokenizer
    queries = mapper.query_vectors(model, tokenizer, data[:3], ["at night", "in red", ""])
    assert queries.shape == (3, tiny_embedder.dim)
    assert np.allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)

    restored = Pic2WordMapper.from_bytes(mapper.to_bytes(), tiny_embedder.key)
    assert np.allclose(restored.query_vectors(model, tokenizer, data[:3], ["at night", "in red", ""]), queries, atol=1e-6)
    assert restored.info["photos"] == 64 and restored.info["epochs_done"] == 3
    assert mapper_key(tiny_embedder.key).endswith(tiny_embedder.key)
    with pytest.raises(MapperUnavailableError, match="trained for model"):
        Pic2WordMapper.from_bytes(mapper.to_bytes(), "another-model")
    with pytest.raises(CheckpointError):
        Pic2WordMapper.from_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="finished mapper"):
        Pic2WordTrainer(model, tokenizer, data, tiny_embedder.key, checkpoint=mapper.to_bytes())

    q = compose("pic2word", data[0], "at night", None, mapper=restored, model=model, tokenizer=tokenizer)
    assert q.method == "pic2word" and np.allclose(q.vector, restored.query_vectors(model, tokenizer, data[:1],
                                                                                  ["at night"])[0], atol=1e-6)


def test_pic2word_refuses_a_library_too_small_to_learn_from(tiny_embedder) -> None:
    from photolens.errors import QueryError

    with pytest.raises(QueryError, match="at least"):
        Pic2WordTrainer(tiny_embedder.model, tiny_embedder.tokenizer, photos(5, tiny_embedder.dim), tiny_embedder.key)


def test_text_inversion_reduces_its_loss_and_returns_unit_text_vectors(tiny_embedder) -> None:
    targets = photos(4, tiny_embedder.dim, seed=3)
    result = invert(tiny_embedder.model, tiny_embedder.tokenizer, targets, steps=60)
    assert result.vectors.shape == (4, tiny_embedder.dim)
    assert np.allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    assert np.all(result.final_loss < result.initial_loss - 0.1), (result.initial_loss, result.final_loss)
    # the reported loss is that of the returned vectors
    assert np.allclose(1 - (result.vectors * targets).sum(1), result.final_loss, atol=1e-4)
    assert all(p.grad is None for p in tiny_embedder.model.parameters())
