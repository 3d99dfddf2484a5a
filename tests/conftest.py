"""Test harness: every test gets its own data folder, and never the developer's real library or caches."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.images import make_photo_set  # noqa: F401  (re-exported for tests)
from tests.tiny_model import make_tiny_model


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "photolens-data"
    monkeypatch.setenv("PHOTOLENS_DATA_DIR", str(data))
    monkeypatch.delenv("PHOTOLENS_DB", raising=False)
    monkeypatch.delenv("PHOTOLENS_MODEL", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    return data


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-model") / "tiny")


@pytest.fixture(scope="session")
def tiny_spec(tiny_model_dir: Path) -> str:
    return f"local-dir:{tiny_model_dir}"


@pytest.fixture(scope="session")
def tiny_embedder(tiny_spec: str):
    from photolens.embedding.embedder import load_embedder

    return load_embedder(tiny_spec, threads=1)


@pytest.fixture
def library_factory(tmp_path: Path, tiny_spec: str, tiny_embedder):
    """Open a Library on a temporary database with the tiny model (shared, already loaded)."""
    from photolens.library import Library

    opened = []

    def factory(db: str | None = None):
        library = Library(db=db or str(tmp_path / "library.db"), model=tiny_spec, embedder=tiny_embedder)
        opened.append(library)
        return library

    yield factory
    for library in opened:
        library.close()


def cli_env(tiny_spec: str, db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PHOTOLENS_MODEL"] = tiny_spec
    env["PHOTOLENS_DB"] = str(db)
    return env
