"""Walking folders: which files count as photos, hidden/junk/excluded paths, symlinks, vanishing files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photolens.scanner import ScannedFile, ScanOptions, ScanProblem, scan


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def scanned(roots: list[Path], options: ScanOptions | None = None) -> set[str]:
    return {item.path for item in scan([str(r) for r in roots], options) if isinstance(item, ScannedFile)}


def problems(roots: list[Path], options: ScanOptions | None = None) -> list[ScanProblem]:
    return [item for item in scan([str(r) for r in roots], options) if isinstance(item, ScanProblem)]


def test_finds_photos_by_extension_case_insensitively_with_size_and_mtime(tmp_path: Path) -> None:
    photo = touch(tmp_path / "a" / "IMG_1.JPG", b"12345")
    touch(tmp_path / "b.png")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / "noext")
    items = [i for i in scan([str(tmp_path)]) if isinstance(i, ScannedFile)]
    assert {i.path for i in items} == {str(photo), str(tmp_path / "b.png")}
    first = next(i for i in items if i.path == str(photo))
    assert first.size == 5
    assert first.mtime_ns == photo.stat().st_mtime_ns


@pytest.mark.parametrize("ext", [".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic"])
def test_every_supported_extension_is_listed(tmp_path: Path, ext: str) -> None:
    assert scanned([tmp_path]) == set()
    touch(tmp_path / f"p{ext}")
    assert scanned([tmp_path]) == {str(tmp_path / f"p{ext}")}


def test_hidden_files_and_folders_are_skipped_unless_asked(tmp_path: Path) -> None:
    visible = touch(tmp_path / "v.jpg")
    hidden_file = touch(tmp_path / ".h.jpg")
    in_hidden = touch(tmp_path / ".cache" / "c.jpg")
    assert scanned([tmp_path]) == {str(visible)}
    assert scanned([tmp_path], ScanOptions(include_hidden=True)) == {str(visible), str(hidden_file), str(in_hidden)}


@pytest.mark.parametrize("junk", ["@eaDir", "node_modules", "__pycache__", "$RECYCLE.BIN", "lost+found"])
def test_junk_folders_are_skipped(tmp_path: Path, junk: str) -> None:
    keep = touch(tmp_path / "keep.jpg")
    touch(tmp_path / junk / "thumb.jpg")
    assert scanned([tmp_path]) == {str(keep)}


def test_excludes_match_names_and_whole_paths(tmp_path: Path) -> None:
    keep = touch(tmp_path / "Camera" / "a.jpg")
    touch(tmp_path / "Screenshots" / "s.png")
    touch(tmp_path / "Camera" / "b_edit.jpg")
    options = ScanOptions(excludes=[f"{tmp_path}/Screenshots", "*_edit.jpg"])
    assert scanned([tmp_path], options) == {str(keep)}
    assert scanned([tmp_path], ScanOptions(excludes=["Screenshots"])) == {str(keep), str(tmp_path / "Camera" / "b_edit.jpg")}


def test_a_file_root_is_listed_itself(tmp_path: Path) -> None:
    photo = touch(tmp_path / "single.jpg")
    touch(tmp_path / "other.jpg")
    assert scanned([photo]) == {str(photo)}


def test_a_missing_root_is_reported_not_raised(tmp_path: Path) -> None:
    found = problems([tmp_path / "nope"])
    assert [p.reason for p in found] == ["folder not found"]


def test_relative_roots_give_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path / "lib" / "a.jpg")
    monkeypatch.chdir(tmp_path)
    assert scanned([Path("lib")]) == {str(tmp_path / "lib" / "a.jpg")}


def test_symlinked_folders_and_files_are_followed_only_when_asked(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    target = touch(outside / "t.jpg")
    lib = tmp_path / "lib"
    real = touch(lib / "real.jpg")
    (lib / "linkdir").symlink_to(outside, target_is_directory=True)
    (lib / "link.jpg").symlink_to(target)
    assert scanned([lib]) == {str(real)}
    assert scanned([lib], ScanOptions(follow_symlinks=True)) == {
        str(real), str(lib / "linkdir" / "t.jpg"), str(lib / "link.jpg")}


def test_symlink_loops_terminate_and_list_each_folder_once(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    photo = touch(lib / "sub" / "a.jpg")
    (lib / "sub" / "back").symlink_to(lib, target_is_directory=True)
    (lib / "self").symlink_to(lib / "sub", target_is_directory=True)
    found = [i.path for i in scan([str(lib)], ScanOptions(follow_symlinks=True)) if isinstance(i, ScannedFile)]
    assert len(found) == 1
    assert found[0] in {str(photo), str(lib / "self" / "a.jpg")}


def test_broken_symlinks_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    assert scanned([tmp_path], ScanOptions(follow_symlinks=True)) == set()
    assert problems([tmp_path], ScanOptions(follow_symlinks=True)) == []


def test_unlistable_folder_is_reported_and_the_scan_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, which chmod cannot stop: simulate the EACCES that os.scandir raises.
    keep = touch(tmp_path / "ok" / "a.jpg")
    touch(tmp_path / "locked" / "b.jpg")
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if os.fspath(path) == str(tmp_path / "locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    items = list(scan([str(tmp_path)]))
    assert {i.path for i in items if isinstance(i, ScannedFile)} == {str(keep)}
    assert [(p.path, p.reason) for p in items if isinstance(p, ScanProblem)] == [
        (str(tmp_path / "locked"), "cannot list folder: Permission denied")]


def test_folder_vanishing_mid_scan_is_not_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keep = touch(tmp_path / "a" / "keep.jpg")
    touch(tmp_path / "b" / "gone.jpg")
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        listing = real_scandir(path)
        if os.fspath(path) == str(tmp_path):
            # the root is listed, then folder b disappears before the walk reaches it
            entries = list(listing)
            listing.close()
            for p in (tmp_path / "b").iterdir():
                p.unlink()
            (tmp_path / "b").rmdir()
            return _Listing(entries)
        return listing

    monkeypatch.setattr(os, "scandir", scandir)
    items = list(scan([str(tmp_path)]))
    assert {i.path for i in items if isinstance(i, ScannedFile)} == {str(keep)}
    assert [i for i in items if isinstance(i, ScanProblem)] == []


def test_file_vanishing_between_listing_and_stat_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keep = touch(tmp_path / "keep.jpg")
    touch(tmp_path / "gone.jpg")
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        listing = real_scandir(path)
        entries = list(listing)
        listing.close()
        (tmp_path / "gone.jpg").unlink(missing_ok=True)
        return _Listing(entries)

    monkeypatch.setattr(os, "scandir", scandir)
    items = list(scan([str(tmp_path)]))
    assert [i.path for i in items if isinstance(i, ScannedFile)] == [str(keep)]
    assert [i for i in items if isinstance(i, ScanProblem)] == []


def test_non_utf8_and_very_long_names_are_listed(tmp_path: Path) -> None:
    raw_name = os.fsdecode(b"caf\xe9-\xff.jpg")
    odd = tmp_path / raw_name
    odd.write_bytes(b"x")
    deep = tmp_path
    for i in range(12):
        deep = deep / (f"{i:02d}" + "d" * 200)
    long_file = touch(deep / ("p" * 240 + ".jpg"))
    assert len(str(long_file)) > 2400
    assert scanned([tmp_path]) == {str(odd), str(long_file)}


class _Listing:
    """Stands in for the ``os.scandir`` iterator (a context manager over entries)."""

    def __init__(self, entries: list[os.DirEntry]):
        self.entries = entries

    def __enter__(self) -> list[os.DirEntry]:
        return self.entries

    def __exit__(self, *exc: object) -> None:
        return None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.entries)
