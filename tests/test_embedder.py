"""Model specs, keys and loading: the tiny local-dir model, checkpoints, missing weights, dimension checks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from photolens.embedding.embedder import load_embedder
from photolens.embedding.spec import hf_cache_dir, parse_model_spec, weights_status
from photolens.errors import EmbeddingDimensionError, ModelSpecError, ModelUnavailableError
from photolens.library import Library
from photolens.store.schema import ModelRecord
from tests.tiny_model import TINY_CONFIG, make_tiny_model

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = "ViT-B-32-256:datacomp_s34b_b86k"


# ---------------------------------------------------------------------------------------- specs and keys


@pytest.mark.parametrize(
    ("text", "kind", "arch", "source"),
    [
        ("ViT-B-32:laion2b_s34b_b79k", "tag", "ViT-B-32", "laion2b_s34b_b79k"),
        ("ViT-B-32:/w/model.bin", "checkpoint", "ViT-B-32", "/w/model.bin"),
        ("ViT-B-32:weights.safetensors", "checkpoint", "ViT-B-32", os.path.abspath("weights.safetensors")),
        ("hf-hub:org/repo", "hf-hub", "", "org/repo"),
        ("local-dir:/models/tiny", "local-dir", "", "/models/tiny"),
    ],
)
def test_spec_forms(text: str, kind: str, arch: str, source: str) -> None:
    spec = parse_model_spec(text)
    assert (spec.kind, spec.arch, spec.source) == (kind, arch, source)


def test_a_bare_folder_is_a_local_dir_spec(tiny_model_dir: Path) -> None:
    assert parse_model_spec(str(tiny_model_dir)).kind == "local-dir"


@pytest.mark.parametrize("text", ["", "   ", "ViT-B-32", "ViT-B-32:", "hf-hub:no-slash", "hf-hub:a/b/c"])
def test_malformed_specs_explain_the_accepted_forms(text: str) -> None:
    with pytest.raises(ModelSpecError, match="ARCH:TAG"):
        parse_model_spec(text)


def test_local_dir_key_follows_the_weights(tmp_path: Path, tiny_model_dir: Path) -> None:
    key = parse_model_spec(f"local-dir:{tiny_model_dir}").key
    assert key == parse_model_spec(f"local-dir:{tiny_model_dir}").key
    other = tmp_path / "tiny"  # same folder name and config, different weights
    (other).mkdir()
    (other / "open_clip_config.json").write_bytes((tiny_model_dir / "open_clip_config.json").read_bytes())
    (other / "open_clip_pytorch_model.bin").write_bytes(b"different weights")
    assert parse_model_spec(f"local-dir:{other}").key != key


def test_tag_key_is_architecture_and_tag() -> None:
    assert parse_model_spec(DEFAULT_SPEC).key == DEFAULT_SPEC


# ---------------------------------------------------------------------------------------- loading


def test_tiny_local_dir_model_loads_and_encodes_normalised_vectors(tiny_embedder) -> None:  # type: ignore[no-untyped-def]
    assert tiny_embedder.dim == TINY_CONFIG["embed_dim"]
    assert tiny_embedder.preprocessing.image_size == TINY_CONFIG["vision_cfg"]["image_size"]
    texts = tiny_embedder.encode_texts(["a dog", "a cat", "a dog"])
    assert texts.shape == (3, tiny_embedder.dim) and texts.dtype == np.float32
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    assert np.allclose(texts[0], texts[2])
    assert not np.allclose(texts[0], texts[1])
    assert tiny_embedder.encode_texts([]).shape == (0, tiny_embedder.dim)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    images = tiny_embedder.encode_pixels(pixels)
    assert images.shape == (2, tiny_embedder.dim)
    assert np.allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    assert np.allclose(tiny_embedder.encode_pixels(pixels[:1])[0], images[0], atol=1e-5)


def test_local_dir_without_weights_is_unavailable_with_guidance(tmp_path: Path) -> None:
    folder = tmp_path / "half-model"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CONFIG}))
    with pytest.raises(ModelUnavailableError) as info:
        load_embedder(f"local-dir:{folder}")
    message = str(info.value)
    assert "no weights file" in message and str(folder) in message and "--model" in message


def test_local_dir_without_config_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="open_clip_config.json not found"):
        load_embedder(f"local-dir:{tmp_path}")


def _register_tiny_architecture(tmp_path: Path, name: str, config: dict) -> None:
    from photolens.torch_compat import import_open_clip

    open_clip = import_open_clip()
    folder = tmp_path / f"config-{name}"
    folder.mkdir()
    (folder / f"{name}.json").write_text(json.dumps(config))
    open_clip.add_model_config(folder)


def test_checkpoint_spec_loads_the_same_model_as_its_folder(tmp_path: Path, tiny_model_dir: Path,
                                                            tiny_embedder) -> None:  # type: ignore[no-untyped-def]
    _register_tiny_architecture(tmp_path, "photolens-test-tiny", TINY_CONFIG)
    checkpoint = tiny_model_dir / "open_clip_pytorch_model.bin"
    embedder = load_embedder(f"photolens-test-tiny:{checkpoint}", threads=1)
    assert embedder.spec.kind == "checkpoint"
    assert embedder.key.startswith("photolens-test-tiny:file-")
    assert embedder.dim == tiny_embedder.dim
    assert np.allclose(embedder.encode_texts(["a dog"]), tiny_embedder.encode_texts(["a dog"]), atol=1e-5)


def test_checkpoint_of_another_architecture_is_a_clear_error(tmp_path: Path, tiny_model_dir: Path) -> None:
    wider = json.loads(json.dumps(TINY_CONFIG))
    wider["embed_dim"] = 48
    wider["vision_cfg"]["width"] = 96
    _register_tiny_architecture(tmp_path, "photolens-test-wider", wider)
    checkpoint = tiny_model_dir / "open_clip_pytorch_model.bin"
    with pytest.raises(ModelUnavailableError) as info:
        load_embedder(f"photolens-test-wider:{checkpoint}")
    assert "Could not load model 'photolens-test-wider:" in str(info.value)
    assert "weights match the architecture" in str(info.value)


def test_missing_checkpoint_file_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="checkpoint file not found"):
        load_embedder(f"ViT-B-32:{tmp_path / 'nope.pt'}")


def test_missing_default_weights_name_the_repo_where_we_looked_and_how_to_get_them() -> None:
    with pytest.raises(ModelUnavailableError) as info:
        load_embedder(DEFAULT_SPEC)
    message = str(info.value)
    assert DEFAULT_SPEC in message
    assert "laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K" in message  # the Hugging Face repo
    assert f"Looked in: {hf_cache_dir()}" in message  # where it looked (huggingface_hub reads HF_HUB_CACHE once)
    assert "models download" in message and "local-dir:" in message  # how to provide them


def test_unknown_architecture_is_unavailable() -> None:
    with pytest.raises(ModelUnavailableError, match="Unknown open_clip architecture 'NoSuchArch'"):
        load_embedder("NoSuchArch:some_tag")


def test_weights_status_of_a_tag_needs_no_network() -> None:
    from photolens.torch_compat import import_open_clip

    open_clip = import_open_clip()
    spec = parse_model_spec(DEFAULT_SPEC)
    status = weights_status(spec, open_clip.get_pretrained_cfg(spec.arch, spec.source))
    assert not status.available
    assert "laion/" in status.location


# Without HF_HUB_OFFLINE the same must hold (no download attempt, no retries, no hang): that is checked
# end to end, in a subprocess with a timeout, by
# tests/test_cli.py::test_default_model_without_weights_models_says_not_downloaded_and_index_fails_clearly.


# ---------------------------------------------------------------------------------------- dimension


def test_model_with_another_dimension_than_stored_is_refused(tmp_path: Path, tiny_spec: str, tiny_embedder) -> None:  # type: ignore[no-untyped-def]
    library = Library(db=str(tmp_path / "dims.db"), model=tiny_spec)
    try:
        with library.db.session() as session:
            session.add(ModelRecord(key=library.model_key, spec=tiny_spec, dim=tiny_embedder.dim * 2))
        with pytest.raises(EmbeddingDimensionError, match=f"{tiny_embedder.dim}-d.*{tiny_embedder.dim * 2}-d"):
            _ = library.embedder
    finally:
        library.close()


def test_a_second_tiny_model_gets_its_own_key_and_vectors(tmp_path: Path, tiny_spec: str) -> None:
    other = make_tiny_model(tmp_path / "other-tiny", seed=1)
    assert parse_model_spec(f"local-dir:{other}").key != parse_model_spec(tiny_spec).key
