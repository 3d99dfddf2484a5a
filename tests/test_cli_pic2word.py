"""The optional Pic2Word job through the CLI: train, store per model, resume, use in a composed search."""

from __future__ import annotations

from pathlib import Path

import pytest

from photolens.cli import main as cli_main
from photolens.cli.pic2word_cmd import stored_mapper
from tests.images import make_photo_set


def test_train_stores_a_mapper_that_composed_search_then_uses(library_factory, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    library = library_factory()
    photos = make_photo_set(tmp_path / "photos", 40)
    for _ in library.index([str(tmp_path / "photos")]):
        pass
    monkeypatch.setattr("photolens.cli.pic2word_cmd.open_library", lambda _args: library)
    monkeypatch.setattr("photolens.cli.search_cmd.open_library", lambda _args: library)
    assert stored_mapper(library) is None
    assert cli_main(["pic2word", "train", "--epochs", "1"]) == 0
    assert stored_mapper(library)
    capsys.readouterr()
    assert cli_main(["search", "--photo", str(photos[0]), "at night", "--method", "pic2word",
                     "--min-score", "none", "--json"]) == 0
    captured = capsys.readouterr()
    assert "No Pic2Word mapper" not in captured.err
    assert '"path"' in captured.out
    assert cli_main(["pic2word", "forget"]) == 0
    assert stored_mapper(library) is None
