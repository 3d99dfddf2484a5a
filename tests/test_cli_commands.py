"""The CLI paths a user takes, in-process on one shared library: exit codes, missing things said clearly,
lenses from create to import, --lens / --precise / --photo / dates, roots, pic2word resume, export."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from tests.cli_helpers import make_library_photos, run_cli
from tests.images import make_photo_set

# ---------------------------------------------------------------------------------------------- fixtures


class Lib:
    def __init__(self, base: Path, spec: str):
        self.base = base
        self.pictures = base / "Pictures"
        self.db = base / "library.db"
        self.spec = spec
        self.photos = make_library_photos(self.pictures, count=34)  # pic2word needs 32

    def __call__(self, *argv: str, cwd: Path | None = None):
        return run_cli("--db", str(self.db), "--model", self.spec, *argv, cwd=cwd)

    def json(self, *argv: str):
        return json.loads(self(*argv, "--json").ok().out)

    def saved_lenses(self) -> set[str]:
        return {lens["name"] for lens in self.json("lens", "list")["saved"]}


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory, tiny_spec: str) -> Lib:
    library = Lib(tmp_path_factory.mktemp("cli-commands"), tiny_spec)
    assert library("index", str(library.pictures)).code == 1  # done in part: the broken files
    return library


# ---------------------------------------------------------------------------------------------- options


def test_every_option_and_argument_has_help() -> None:
    from photolens.cli import build_parser

    missing = []

    def walk(parser: argparse.ArgumentParser, words: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*words, name])
            elif not action.help:
                missing.append(f"photolens {' '.join(words)} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), [])
    assert missing == []


# ---------------------------------------------------------------------------------------------- no library, bad paths


def test_commands_on_a_missing_library_say_so_and_create_nothing(tmp_path: Path, tiny_spec: str) -> None:
    db = tmp_path / "no" / "such" / "dir" / "lib.db"
    base = ["--db", str(db), "--model", tiny_spec]
    for argv in (["status"], ["failures"], ["roots", "list"], ["search", "dog"], ["group", "--lens", "colour"],
                 ["lens", "create", "x", "--values", "a, b"]):
        result = run_cli(*base, *argv)
        assert result.code == 2, argv
        assert f"No library at {db}" in result.err and f"photolens --db {db} index" in result.err
        assert "Traceback" not in result.err
    assert not (tmp_path / "no").exists()
    listing = run_cli(*base, "lens", "list").ok()  # presets need no library
    assert "colour" in listing.out and "no library yet" in listing.out
    assert not (tmp_path / "no").exists()


def test_index_of_a_missing_folder_is_a_usage_error_and_creates_no_library(tmp_path: Path, tiny_spec: str) -> None:
    db = tmp_path / "lib.db"
    result = run_cli("--db", str(db), "--model", tiny_spec, "index", str(tmp_path / "no" / "such" / "dir"))
    assert result.code == 2 and "Not found" in result.err and "Nothing was indexed" in result.err
    assert not db.exists()


def test_search_in_a_missing_folder_is_a_usage_error(lib: Lib, tmp_path: Path) -> None:
    result = lib("search", "red", "--in", str(tmp_path / "no" / "such" / "dir"))
    assert result.code == 2 and "--in" in result.err and "does not exist" in result.err
    result = lib("group", "--lens", "colour", str(tmp_path / "nowhere"))
    assert result.code == 2 and "does not exist" in result.err


def test_search_before_anything_is_embedded_says_how_many_wait(tmp_path: Path, tiny_spec: str) -> None:
    photos = tmp_path / "photos"
    make_photo_set(photos, count=3)
    no_weights = tmp_path / "model"  # a model folder with no files: scanning works, embedding does not
    no_weights.mkdir()
    db = ["--db", str(tmp_path / "lib.db")]
    indexed = run_cli(*db, "--model", f"local-dir:{no_weights}", "index", str(photos))
    assert indexed.code == 2 and "not embedded" in indexed.err
    result = run_cli(*db, "--model", tiny_spec, "search", "dog")
    assert result.code == 2
    assert "None of the library's 3 photos is embedded" in result.err and "3 await embedding" in result.err
    assert "photolens index" in result.err
    run_cli(*db, "--model", tiny_spec, "index").ok()
    make_photo_set(photos / "later", count=2, start_seed=50)
    assert run_cli(*db, "--model", f"local-dir:{no_weights}", "index").code == 2  # scanned, not embedded
    partly = run_cli(*db, "--model", tiny_spec, "search", "dog", "--min-score", "none").ok()
    assert "Note: 2 photos await embedding" in partly.err and "`photolens index` embeds them" in partly.err
    assert len([line for line in partly.out.strip().splitlines() if line != "— weaker matches —"]) == 3


def test_failures_limit_says_the_true_total(lib: Lib) -> None:
    everything = lib.json("failures", "--limit", "0")
    assert len(everything) >= 2
    limited = lib("failures", "--limit", "1").ok()
    assert len(limited.out.strip().splitlines()) == 1
    assert f"Showing 1 of {len(everything)} failures" in limited.err


# ---------------------------------------------------------------------------------------------- roots


def test_roots_list_and_remove_a_deleted_folder(tmp_path: Path, tiny_spec: str) -> None:
    keep, gone = tmp_path / "keep", tmp_path / "gone"
    make_photo_set(keep, count=2)
    make_photo_set(gone, count=3, start_seed=10)
    base = ["--db", str(tmp_path / "lib.db"), "--model", tiny_spec]
    run_cli(*base, "index", str(keep), str(gone)).ok()
    for path in sorted(gone.rglob("*.jpg")):
        path.unlink()
    for folder in sorted(gone.rglob("*"), reverse=True):
        folder.rmdir()
    gone.rmdir()
    roots = {r["path"]: r for r in json.loads(run_cli(*base, "roots", "list", "--json").ok().out)}
    assert roots[str(gone)]["exists"] is False and roots[str(keep)]["exists"] is True
    assert "not on disk" in run_cli(*base, "roots", "list").ok().out
    removed = run_cli(*base, "roots", "remove", str(gone)).ok()
    assert "nothing on disk was touched" in removed.out
    status = json.loads(run_cli(*base, "status", "--json").ok().out)
    assert status["roots"] == [str(keep)] and status["photos"] == 2
    again = run_cli(*base, "roots", "remove", str(gone))
    assert again.code == 2 and "not an indexed folder" in again.err


# ---------------------------------------------------------------------------------------------- lenses


def test_lens_create_list_show_export_delete_import(lib: Lib, tmp_path: Path) -> None:
    created = lib("lens", "create", "hue", "--values", "red, orange, yellow, green, blue",
                  "--template", "a photo of something {}", "--template", "a {} thing").ok()
    assert "Lens 'hue': 5 words, 10 prompts" in created.out  # no KeyError after saving
    duplicate = lib("lens", "create", "hue", "--values", "red, blue")
    assert duplicate.code == 2 and "--replace" in duplicate.err
    lib("lens", "create", "hue", "--values", "red, orange, yellow, green, blue", "--replace").ok()
    assert "hue" in lib.saved_lenses()
    shown = lib("lens", "show", "hue").ok().out
    assert 'name = "hue"' in shown and "# fitted for" in shown
    exported = tmp_path / "hue.toml"
    lib("lens", "export", "hue", str(exported)).ok()
    assert "yellow" in exported.read_text()
    lib("lens", "delete", "hue").ok()
    assert "hue" not in lib.saved_lenses()
    assert lib("lens", "delete", "hue").code == 2
    imported = lib("lens", "import", str(exported)).ok()
    assert "Imported lens 'hue' (5 words)" in imported.out
    assert "hue" in lib.saved_lenses()
    assert lib("lens", "import", str(exported)).code == 2  # exists: --replace needed
    lib("lens", "import", str(exported), "--replace").ok()


def test_showing_a_preset_or_a_failed_group_saves_nothing(lib: Lib) -> None:
    lib("lens", "show", "season").ok()
    assert "season" not in lib.saved_lenses()
    failed = lib("cluster", "--lens", "season", "--k", "9999")
    assert failed.code == 2 and "k must lie between" in failed.err
    assert "season" not in lib.saved_lenses()
    lib("group", "--lens", "season").ok()  # a successful use saves it, as the README says
    assert "season" in lib.saved_lenses()


def test_search_and_similar_through_a_lens(lib: Lib) -> None:
    raw = {h["path"]: h["cosine"] for h in lib.json("search", "red", "car", "--min-score", "none", "-n", "50")}
    lensed = lib.json("search", "red", "car", "--lens", "weather", "--min-score", "none", "-n", "50")
    assert {h["path"] for h in lensed} == set(raw)  # every embedded photo, ranked in the lens space
    assert any(abs(h["cosine"] - raw[h["path"]]) > 1e-3 for h in lensed)
    first = str(lib.photos["first"])
    similar = lib.json("similar", first, "--lens", "weather", "--min-score", "none")
    assert similar and first not in {h["path"] for h in similar}
    assert "weather" in lib.saved_lenses()


def test_similar_precise_and_composed_search_with_the_default_method(lib: Lib, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("photolens.retrieval.text_inversion.STEPS", 10)  # the same path, fewer optimiser steps
    first = str(lib.photos["first"])
    precise = lib.json("similar", first, "--precise", "--min-score", "none", "-n", "5")
    assert len(precise) == 5 and first not in {h["path"] for h in precise}
    refused = lib("similar", first, "--precise", "--lens", "colour")
    assert refused.code == 2 and "--precise" in refused.err
    composed = lib.json("search", "--photo", first, "at", "night", "--min-score", "none", "-n", "5")
    assert len(composed) == 5 and first not in {h["path"] for h in composed}


def test_after_and_before_filter_by_capture_date(lib: Lib) -> None:
    after = lib.json("search", "a", "photo", "--after", "2020-01-01", "--min-score", "none")
    before = lib.json("search", "a", "photo", "--before", "2020-01-01", "--min-score", "none")
    both = lib.json("search", "a", "photo", "--after", "2019-06-01", "--before", "2019-06-01", "--min-score", "none")
    assert [h["path"] for h in after] == [str(lib.photos["new"])]
    assert [h["path"] for h in before] == [str(lib.photos["old"])]
    assert [h["path"] for h in both] == [str(lib.photos["old"])]  # a bare --before day includes that day


def test_models_all_lists_every_pretrained_tag(lib: Lib) -> None:
    short = lib("models").ok().out.count("not downloaded")
    everything = lib("models", "--all").ok().out.count("not downloaded")
    assert everything > short >= 3


# ---------------------------------------------------------------------------------------------- pic2word


def test_pic2word_status_and_resume_after_an_interrupted_run(lib: Lib, monkeypatch: pytest.MonkeyPatch) -> None:
    from photolens.retrieval import service

    real = service.train_pic2word
    first_steps: list[int] = []

    def interrupted(library, config=None, checkpoint=None, cancel=None):
        for progress, trainer in real(library, config, checkpoint, cancel):
            yield progress, trainer
            if progress.epoch >= 1:
                raise KeyboardInterrupt

    def recorded(library, config=None, checkpoint=None, cancel=None):
        for progress, trainer in real(library, config, checkpoint, cancel):
            first_steps.append(progress.step)
            yield progress, trainer

    assert "not trained" in lib("pic2word", "status").ok().out
    monkeypatch.setattr(service, "train_pic2word", interrupted)
    stopped = lib("pic2word", "train", "--epochs", "3")
    assert stopped.code == 130 and "run the same command to resume" in stopped.err
    assert "a partial run can resume" in lib("pic2word", "status").ok().out
    monkeypatch.setattr(service, "train_pic2word", recorded)
    lib("pic2word", "train", "--epochs", "3").ok()
    assert first_steps and first_steps[0] >= 1  # resumed from the checkpoint, not from step 0
    status = lib("pic2word", "status").ok().out
    assert ": trained" in status and "resume" not in status
    lib("pic2word", "forget").ok()


# ---------------------------------------------------------------------------------------------- export


def _tree(folder: Path) -> dict[str, list[str]]:
    return {str(d.relative_to(folder)): sorted(f.name for f in d.iterdir() if not f.is_dir())
            for d in [folder, *sorted(p for p in folder.rglob("*") if p.is_dir())]}


def test_export_copies_then_numbers_clashes_and_never_touches_originals(lib: Lib, tmp_path: Path) -> None:
    originals = {p: p.read_bytes() for p in lib.pictures.rglob("*.jpg")}
    out = tmp_path / "red-things"
    # a photo query: the random test model matches look-alikes (text "red" matches nothing on it, rightly)
    query = ("similar", str(lib.photos["first"]), "-n", "4", "--min-score", "none")
    first = lib(*query, "--json", "--export", str(out)).ok()
    hits = [h for h in json.loads(first.out) if h["match"]]  # weaker results are listed, not exported
    n = len(hits)
    assert n >= 1 and sorted(os.listdir(out)) == sorted(os.path.basename(h["path"]) for h in hits)
    assert f"Exported {n} photo" in first.err and "as copies" in first.err
    for hit in hits:
        assert (out / os.path.basename(hit["path"])).read_bytes() == Path(hit["path"]).read_bytes()
    second = lib(*query, "--export", str(out)).ok()
    assert f"{n} under a numbered name" in second.err and len(os.listdir(out)) == 2 * n
    assert {p: p.read_bytes() for p in lib.pictures.rglob("*.jpg")} == originals


def test_similar_export_as_symlinks_and_hardlinks(lib: Lib, tmp_path: Path) -> None:
    first = str(lib.photos["first"])
    links = tmp_path / "links"
    lib("similar", first, "-n", "3", "--min-score", "none", "--export", str(links), "--as", "symlink").ok()
    assert len(os.listdir(links)) == 3
    assert all(os.path.islink(links / name) and os.path.isabs(os.readlink(links / name)) for name in os.listdir(links))
    hard = tmp_path / "hard"
    result = lib("similar", first, "-n", "3", "--min-score", "none", "--export", str(hard), "--as", "hardlink").ok()
    assert "as hard links" in result.err
    for name in os.listdir(hard):
        assert os.stat(hard / name).st_nlink >= 2


def test_group_export_makes_one_folder_per_value_and_unsure(lib: Lib, tmp_path: Path) -> None:
    rows = lib.json("group", "--lens", "colour", "--unsure-margin", "0.002")
    out = tmp_path / "by-colour"
    result = lib("group", "--lens", "colour", "--unsure-margin", "0.002", "--export", str(out)).ok()
    tree = _tree(out)
    expected: dict[str, list[str]] = {}
    for row in rows:
        expected.setdefault("unsure" if row["unsure"] else row["value"], []).append(os.path.basename(row["path"]))
    assert {k: len(v) for k, v in tree.items() if k != "."} == {k: len(v) for k, v in expected.items()}
    assert f"Exported {len(rows)} photos" in result.err


def test_cluster_export_makes_one_folder_per_named_cluster(lib: Lib, tmp_path: Path) -> None:
    rows = lib.json("cluster", "--lens", "colour", "--k", "3")
    out = tmp_path / "clusters"
    lib("cluster", "--lens", "colour", "--k", "3", "--export", str(out)).ok()
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(folders) == 3
    assert sum(len(os.listdir(f)) for f in folders) == len(rows)
    labels = {r["label"].replace("/", "-") for r in rows}
    assert {f.name.split(" (")[0] for f in folders} <= labels
