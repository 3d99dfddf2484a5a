"""Export: copies and links land in the folder, clashes never overwrite, originals stay untouched."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from photolens.export import ExportError, candidate_names, export_all, export_photos
from tests.images import make_photo_set, pattern


def _snapshot(paths: list[Path]) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    paths = make_photo_set(tmp_path / "photos", count=4)
    # a second photo called photo_000.jpg in another folder, different content
    other = tmp_path / "photos" / "other" / "photo_000.jpg"
    other.parent.mkdir()
    pattern(99).save(other, "JPEG")
    return paths + [other]


def test_copy_renames_clashes_and_keeps_originals(tmp_path: Path, photos: list[Path]):
    before = _snapshot(photos)
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "photo_001.jpg").write_bytes(b"already here")
    result = export_all([str(p) for p in photos], str(dest))
    assert not result.failed and not result.skipped
    assert sorted(os.listdir(dest)) == ["photo_000 (2).jpg", "photo_000.jpg", "photo_001 (2).jpg",
                                        "photo_001.jpg", "photo_002.jpg", "photo_003.jpg"]
    assert (dest / "photo_001.jpg").read_bytes() == b"already here"
    targets = dict(result.done)
    for source in photos:
        assert Path(targets[str(source)]).read_bytes() == source.read_bytes()
    assert (dest / "photo_000 (2).jpg").read_bytes() == photos[-1].read_bytes()
    assert _snapshot(photos) == before
    assert (dest / "photo_002.jpg").stat().st_mtime_ns == photos[2].stat().st_mtime_ns


def test_skip_policy_reports_clash(tmp_path: Path, photos: list[Path]):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "photo_002.jpg").write_bytes(b"mine")
    result = export_all([str(photos[2]), str(photos[3])], str(dest), clash="skip")
    assert [Path(s).name for s, _ in result.skipped] == ["photo_002.jpg"]
    assert [Path(t).name for _, t in result.done] == ["photo_003.jpg"]
    assert (dest / "photo_002.jpg").read_bytes() == b"mine"


def test_symlinks_point_at_originals(tmp_path: Path, photos: list[Path]):
    dest = tmp_path / "links"
    result = export_all([str(photos[0]), str(photos[-1])], str(dest), mode="symlink")
    assert sorted(os.listdir(dest)) == ["photo_000 (2).jpg", "photo_000.jpg"]
    for source, target in result.done:
        assert os.path.islink(target)
        assert os.readlink(target) == source


def test_export_into_the_source_folder_never_overwrites(tmp_path: Path, photos: list[Path]):
    original = photos[0].read_bytes()
    result = export_all([str(photos[0])], str(photos[0].parent))
    assert [Path(t).name for _, t in result.done] == ["photo_000 (2).jpg"]
    assert photos[0].read_bytes() == original


def test_missing_source_fails_alone(tmp_path: Path, photos: list[Path]):
    result = export_all([str(tmp_path / "gone.jpg"), str(photos[1]), str(photos[1])], str(tmp_path / "out"))
    assert [(Path(s).name, r) for s, r in result.failed] == [("gone.jpg", "file not found")]
    assert len(result.done) == 1  # the duplicate source is exported once


def test_progress_and_cancel(tmp_path: Path, photos: list[Path]):
    cancel = threading.Event()
    events = []
    for event in export_photos([str(p) for p in photos], str(tmp_path / "out"), cancel=cancel):
        events.append(event)
        if event.done == 2:
            cancel.set()
    assert [e.done for e in events] == [1, 2]
    assert events[-1].total == len(photos)
    assert len(os.listdir(tmp_path / "out")) == 2


def test_bad_options(tmp_path: Path):
    with pytest.raises(ExportError):
        export_all([], str(tmp_path), mode="move")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError):
        export_all([], str(tmp_path / "file"))


def test_candidate_names():
    names = candidate_names("a.b.jpg")
    assert [next(names) for _ in range(3)] == ["a.b.jpg", "a.b (2).jpg", "a.b (3).jpg"]


def test_hard_links_share_the_original_file(tmp_path: Path, photos: list[Path]):
    result = export_all([str(photos[0])], str(tmp_path / "hard"), mode="hardlink")
    (source, target), = result.done
    assert os.path.samefile(source, target) and not result.copied_instead


def test_hard_links_across_file_systems_become_copies_and_say_so(tmp_path: Path, photos: list[Path],
                                                                monkeypatch: pytest.MonkeyPatch):
    import errno

    def cross_device(_source, _target):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    result = export_all([str(photos[0]), str(photos[1])], str(tmp_path / "hard"), mode="hardlink")
    assert len(result.done) == 2
    assert [reason for _, reason in result.copied_instead] == ["another file system"] * 2
    for source, target in result.done:
        assert not os.path.samefile(source, target)
        assert Path(target).read_bytes() == Path(source).read_bytes()


def test_hard_link_errors_other_than_unsupported_fail_that_photo(tmp_path: Path, photos: list[Path],
                                                               monkeypatch: pytest.MonkeyPatch):
    import errno

    def no_space(_source, _target):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "link", no_space)
    result = export_all([str(photos[0])], str(tmp_path / "hard"), mode="hardlink")
    assert result.failed == [(str(photos[0]), "No space left on device")] and not result.done


def test_groups_go_to_one_safe_folder_each_and_equal_names_are_numbered(tmp_path: Path, photos: list[Path]):
    from photolens.export import export_groups, folder_name

    groups = [("red / orange", [str(photos[0])]), ("red / orange", [str(photos[1])]), ("..", [str(photos[2])]),
              ("empty", [])]
    events = list(export_groups(groups, str(tmp_path / "out")))
    assert events[-1].total == 3 and len(events[-1].result.done) == 3
    assert sorted(os.listdir(tmp_path / "out")) == ["red - orange", "red - orange (2)", "unnamed"]
    assert os.listdir(tmp_path / "out" / "red - orange (2)") == [photos[1].name]
    assert folder_name('a:b*c?"d<e>f|g\\h') == "a-b-c-d-e-f-g-h"
