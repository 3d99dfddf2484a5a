"""The command line as a user runs it: ``python -m photolens`` in a subprocess with the tiny model.

Each model load costs a subprocess several seconds (importing torch and open_clip), so those tests (marked
``slow``) are few and each tells a whole story; option handling is tested in-process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import cli_env
from tests.images import make_photo_set, pattern, write_broken_files

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 180


def photolens(env: dict[str, str], *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "photolens", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT_S)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def db_count(db: Path, sql: str) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        return int(conn.execute(sql).fetchone()[0])


def start_index(env: dict[str, str], root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "photolens", "index", str(root), "--batch-size", "2"], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_embeddings(db: Path, process: subprocess.Popen[str], at_least: int) -> int:
    """Poll the database until the running indexer has committed ``at_least`` vectors."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "indexing finished before it could be interrupted"
        try:
            count = db_count(db, "SELECT count(*) FROM embeddings")
        except sqlite3.OperationalError:  # not created yet, or mid-migration
            count = 0
        if count >= at_least:
            return count
        time.sleep(0.005)
    raise AssertionError("no batch was committed in time")


# ---------------------------------------------------------------------------------------- no torch


@pytest.mark.slow
def test_help_does_not_import_torch() -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "photolens", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=TIMEOUT_S)
    assert result.returncode == 0
    assert "index" in result.stdout and "search" in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "photolens.cli" in imported
    assert not {"torch", "open_clip", "PySide6", "hnswlib"} & imported


@pytest.mark.slow
def test_bad_query_is_a_usage_error_and_no_library_is_created(tmp_path: Path, tiny_spec: str) -> None:
    env = cli_env(tiny_spec, tmp_path / "cli.db")
    result = photolens(env, "search", "dog", "+")
    assert result.returncode == 2 and "photolens: Query ends with an operator" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cli.db").exists()


@pytest.mark.slow
def test_newer_database_is_refused_by_the_cli(tmp_path: Path, tiny_spec: str) -> None:
    db = tmp_path / "cli.db"
    env = cli_env(tiny_spec, tmp_path / "unused.db")
    (tmp_path / "empty").mkdir()
    ok(photolens(env, "--db", str(db), "index", str(tmp_path / "empty")))
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffff_future'")
        conn.commit()
    result = photolens(env, "--db", str(db), "status")
    assert result.returncode == 2
    assert "newer photolens" in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------- default model, no weights


@pytest.mark.slow
def test_default_model_without_weights_models_says_not_downloaded_and_index_fails_clearly(tmp_path: Path) -> None:
    """An empty Hugging Face cache and no HF_HUB_OFFLINE: nothing may hang on the network. ``models`` marks
    the default model "not downloaded"; ``index`` still scans, then exits 2 (a setup error) saying what is
    missing and how to get it. (Both start at once: each spends seconds importing open_clip.)"""
    lib = tmp_path / "lib"
    make_photo_set(lib, count=2)
    env = {k: v for k, v in os.environ.items() if k not in ("PHOTOLENS_MODEL", "HF_HUB_OFFLINE")}
    env["PHOTOLENS_DB"] = str(tmp_path / "cli.db")
    command = [sys.executable, "-m", "photolens"]
    models = subprocess.Popen([*command, "models"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    index = subprocess.Popen([*command, "index", str(lib)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    models_out, models_err = models.communicate(timeout=TIMEOUT_S)
    index_out, index_err = index.communicate(timeout=TIMEOUT_S)

    assert models.returncode == 0, models_err
    current = next(line for line in models_out.splitlines() if line.startswith("*"))
    assert "ViT-B-32-256:datacomp_s34b_b86k" in current and "not downloaded" in current

    assert index.returncode == 2, index_err
    assert "Done: 2 new" in index_out
    assert "not embedded" in index_err
    assert "laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K" in index_err
    assert "models download" in index_err and "Traceback" not in index_err
    assert db_count(tmp_path / "cli.db", "SELECT count(*) FROM photos WHERE metadata_read") == 2


# ---------------------------------------------------------------------------------------- a user's story
#
# One library goes through: an index run stopped by Ctrl-C, one killed with kill -9, a run that resumes,
# then edits, a re-index, searches, similar, status and failures. The stages are separate tests reading
# what the module fixture recorded; the last test changes the library.

TOTAL = 240


@dataclass
class Story:
    lib: Path
    db: Path
    env: dict[str, str]
    photos: list[Path]
    broken: dict[str, Path]
    interrupted: subprocess.CompletedProcess[str] | None = None
    after_interrupt: int = 0
    killed_rc: int = 0
    after_kill: int = 0
    integrity: str = ""
    foreign_key_problems: list = field(default_factory=list)
    photos_after_kill: int = 0
    resumed: dict = field(default_factory=dict)
    resumed_rc: int = -1


def run_until_committed(story: Story, at_least: int) -> subprocess.Popen[str]:
    process = start_index(story.env, story.lib)
    try:
        wait_for_embeddings(story.db, process, at_least)
    except BaseException:
        process.kill()
        process.communicate()
        raise
    return process


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, tiny_spec: str) -> Story:
    base = tmp_path_factory.mktemp("cli-story")
    lib = base / "Pictures"
    # module scope runs before the per-test isolation fixture: isolate explicitly
    env = cli_env(tiny_spec, base / "cli.db")
    env.update(PHOTOLENS_DATA_DIR=str(base / "data"), HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(base / "hf-cache"))
    record = Story(lib=lib, db=base / "cli.db", env=env, photos=make_photo_set(lib, count=TOTAL),
                   broken=write_broken_files(lib / "broken"))

    # Ctrl-C after the first committed batch
    process = run_until_committed(record, 1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=TIMEOUT_S)
    record.interrupted = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    record.after_interrupt = db_count(record.db, "SELECT count(*) FROM embeddings")

    # kill -9 once more vectors are committed: no chance to clean up
    process = run_until_committed(record, record.after_interrupt + 1)
    process.kill()
    process.communicate(timeout=TIMEOUT_S)
    record.killed_rc = process.returncode
    record.after_kill = db_count(record.db, "SELECT count(*) FROM embeddings")
    with contextlib.closing(sqlite3.connect(record.db)) as conn:
        record.integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        record.foreign_key_problems = conn.execute("PRAGMA foreign_key_check").fetchall()
    record.photos_after_kill = db_count(record.db, "SELECT count(*) FROM photos")

    # the same command again resumes
    resumed = photolens(env, "index", str(lib), "--json", "--batch-size", "16")
    record.resumed = json.loads(resumed.stdout)
    record.resumed_rc = resumed.returncode
    return record


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_keeping_committed_work(story: Story) -> None:
    assert story.interrupted is not None
    assert story.interrupted.returncode == 130, story.interrupted.stderr
    assert "Interrupted" in story.interrupted.stderr and "run the same command to resume" in story.interrupted.stderr
    assert "Traceback" not in story.interrupted.stderr
    assert 0 < story.after_interrupt < TOTAL


@pytest.mark.slow
def test_kill_9_leaves_a_consistent_database(story: Story) -> None:
    assert story.killed_rc == -signal.SIGKILL
    assert story.after_interrupt < story.after_kill < TOTAL
    assert story.integrity == "ok"
    assert story.foreign_key_problems == []
    assert story.photos_after_kill == TOTAL + len(story.broken)


@pytest.mark.slow
def test_next_run_resumes_where_it_stopped(story: Story) -> None:
    summary = story.resumed
    assert story.resumed_rc == (1 if summary["failed"] else 0)  # 1: done in part (the broken files)
    assert (summary["new"], summary["changed"], summary["unchanged"]) == (0, 0, TOTAL + len(story.broken))
    assert summary["embedded"] == TOTAL - story.after_kill
    assert db_count(story.db, "SELECT count(*) FROM embeddings") == TOTAL


@pytest.mark.slow
def test_failures_lists_broken_files_with_reasons(story: Story) -> None:
    failures = json.loads(ok(photolens(story.env, "failures", "--json")).stdout)
    assert {f["path"] for f in failures} == {str(p) for p in story.broken.values()}
    assert all(f["reason"] for f in failures)
    text = ok(photolens(story.env, "failures")).stdout
    assert f"{story.broken['empty']}: empty file (0 bytes)" in text
    missing = photolens(story.env, "similar", str(story.lib / "nope.jpg"))
    assert missing.returncode == 2 and "photo not found" in missing.stderr.lower()
    assert "Traceback" not in missing.stderr


@pytest.mark.slow
def test_status_reports_counts_without_loading_the_model(story: Story) -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "photolens", "status", "--json"], cwd=REPO,
                            env=story.env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert (info["photos"], info["embedded"], info["failed"], info["missing"]) == (
        TOTAL + len(story.broken), TOTAL, len(story.broken), 0)
    assert info["roots"] == [str(story.lib)]
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "torch" not in imported and "open_clip" not in imported


@pytest.mark.slow
def test_similar_of_a_library_photo_returns_its_copy_first_after_reindexing_changes(story: Story) -> None:
    lib, photos, env = story.lib, story.photos, story.env
    pattern(500, (120, 80)).save(photos[0], "JPEG")  # changed
    added = lib / "new.jpg"
    pattern(501).save(added, "JPEG")  # new
    copy = lib / "copy_of_1.jpg"
    shutil.copyfile(photos[1], copy)  # exact copy
    moved = lib / "moved" / "renamed_2.jpg"
    moved.parent.mkdir()
    photos[2].rename(moved)  # moved
    photos[3].unlink()  # deleted
    summary = json.loads(ok(photolens(env, "index", "--json")).stdout)  # no PATH: the folders indexed before
    assert {k: summary[k] for k in ("new", "changed", "moved", "deleted", "copied", "embedded", "failed")} == {
        "new": 2, "changed": 1, "moved": 1, "deleted": 1, "copied": 1, "embedded": 2, "failed": 0}
    assert summary["model_error"] is None

    # a text search: JSON array of {path, score}, absolute paths, best first, deleted photos absent
    hits = json.loads(ok(photolens(env, "search", "a", "photo", "+", "2:beach", "--json", "--limit", "1000",
                                     "--min-score", "none")).stdout)
    assert isinstance(hits, list) and len(hits) == TOTAL + 1
    assert all(set(h) >= {"path", "score"} and os.path.isabs(h["path"]) for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    paths = {h["path"] for h in hits}
    assert {str(added), str(copy), str(moved), str(photos[0])} <= paths
    assert str(photos[3]) not in paths and str(photos[2]) not in paths

    # similar of a library photo given by a relative path: its byte-identical copy first, itself excluded
    similar = json.loads(ok(photolens(env, "similar", "sub/photo_001.jpg", "--json", "--limit", "3", "--min-score", "none",
                                   cwd=lib)).stdout)
    assert similar[0]["path"] == str(copy) and similar[0]["cosine"] == pytest.approx(1.0, abs=1e-3)
    assert str(photos[1]) not in [h["path"] for h in similar]

    # a photo term restricted to a folder (stored vectors: no model load)
    in_moved = json.loads(ok(photolens(env, "search", f"@{copy}", "--in", str(moved.parent), "--json",
                                        "--min-score", "none")).stdout)
    assert [h["path"] for h in in_moved] == [str(moved)]

    status = ok(photolens(env, "status")).stdout
    assert f"{TOTAL + 1} embedded" in status and "1 missing" in status


# ---------------------------------------------------------------------------------------- options, in-process


def test_before_a_bare_date_includes_that_whole_day() -> None:
    from photolens.cli import build_parser
    from photolens.cli.common import search_filter_from

    args = build_parser().parse_args(["search", "x", "--after", "2020-08-01", "--before", "2020-08-01"])
    search_filter = search_filter_from(args)
    assert search_filter.taken_after == dt.datetime(2020, 8, 1)
    assert search_filter.taken_before == dt.datetime(2020, 8, 1, 23, 59, 59, 999999)
    args = build_parser().parse_args(["search", "x", "--before", "2020-08-01T10:30"])
    assert search_filter_from(args).taken_before == dt.datetime(2020, 8, 1, 10, 30)


def test_bad_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from photolens.cli import main

    with pytest.raises(SystemExit) as info:
        main(["search", "x", "--after", "last tuesday"])
    assert info.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_index_options_are_remembered_by_the_library(tmp_path: Path, tiny_spec: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from photolens.browse import get_setting
    from photolens.cli import main
    from photolens.store.database import Database

    lib = tmp_path / "lib"
    make_photo_set(lib, count=4)  # two in lib/, two in lib/sub/
    pattern(9).save(lib / ".hidden.jpg", "JPEG")
    db = tmp_path / "cli.db"
    base = ["--db", str(db), "--model", tiny_spec, "index", "--json"]

    assert main([*base, str(lib), "--exclude", "sub", "--hidden"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["new"], first["embedded"]) == (3, 3)

    assert main(base) == 0  # no PATH, no options: the same folders with the same settings
    again = json.loads(capsys.readouterr().out)
    assert (again["unchanged"], again["new"], again["deleted"]) == (3, 0, 0)

    assert main([*base, "--no-hidden"]) == 0
    assert json.loads(capsys.readouterr().out)["deleted"] == 1
    settings_db = Database(str(db))
    try:
        assert get_setting(settings_db, "excludes") == ["sub"]
        assert get_setting(settings_db, "include_hidden") is False
    finally:
        settings_db.close()


def test_index_without_any_folder_says_what_to_do(tmp_path: Path, tiny_spec: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from photolens.cli import main

    assert main(["--db", str(tmp_path / "cli.db"), "--model", tiny_spec, "index"]) == 2
    assert "photolens index ~/Pictures" in capsys.readouterr().err


def test_retry_failed_tries_broken_files_again(tmp_path: Path, tiny_spec: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from photolens.cli import main

    lib = tmp_path / "lib"
    make_photo_set(lib, count=1)
    (lib / "empty.jpg").write_bytes(b"")
    base = ["--db", str(tmp_path / "cli.db"), "--model", tiny_spec, "index", str(lib), "--json"]
    for extra, failed in (([], 1), ([], 0), (["--retry-failed"], 1)):
        assert main([*base, *extra]) == (1 if failed else 0)  # 1: done in part
        summary = json.loads(capsys.readouterr().out)
        assert summary["failed"] == failed
        empty = str(lib / "empty.jpg")
        assert summary["problems"] == [{"path": empty, "display_path": empty, "reason": "empty file (0 bytes)"}] * failed
