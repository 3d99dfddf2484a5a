"""Browsing queries over a real indexed library: folder listing and sorting, tree counts, details."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from photolens import browse
from tests.images import exif_jpeg, make_photo_set, pattern


@pytest.fixture
def indexed(tmp_path: Path, library_factory):
    root = tmp_path / "photos"
    make_photo_set(root, count=6)  # photo_000, 002, 004 in root; 001, 003, 005 in sub/
    exif_jpeg(root / "trip" / "deep" / "b_old.jpg", pattern(50), taken="2001:02:03 04:05:06",
              make="Canon", model="Canon EOS 5D", gps=(48.8584, -2.2945))
    exif_jpeg(root / "trip" / "a_new.jpg", pattern(51), taken="2020:01:01 10:00:00", make="FUJIFILM", model="X-T3")
    (root / "broken.jpg").write_bytes(b"not a jpeg at all" * 10)
    library = library_factory()
    for _ in library.index([str(root)]):
        pass
    return library, root


def test_list_photos_whole_library_skips_failed_files(indexed):
    library, root = indexed
    rows = browse.list_photos(library.db, sort="name")
    names = [r.name for r in rows]
    assert names == ["a_new.jpg", "b_old.jpg", "photo_000.jpg", "photo_001.jpg", "photo_002.jpg",
                     "photo_003.jpg", "photo_004.jpg", "photo_005.jpg"]
    assert "broken.jpg" not in names
    assert all(r.fingerprint for r in rows)
    assert len({r.cache_key for r in rows}) == len(rows)


def test_list_photos_folder_recursive_and_direct(indexed):
    library, root = indexed
    trip = str(root / "trip")
    assert {r.name for r in browse.list_photos(library.db, folder=trip)} == {"a_new.jpg", "b_old.jpg"}
    assert {r.name for r in browse.list_photos(library.db, folder=trip, recursive=False)} == {"a_new.jpg"}
    assert browse.count_photos(library.db, folder=str(root / "sub")) == 3
    # a sibling whose name starts the same is not "under" the folder, nor one differing in case
    assert browse.list_photos(library.db, folder=str(root / "su")) == []
    assert browse.list_photos(library.db, folder=str(root / "TRIP")) == []


def test_sort_by_date_uses_capture_date_before_file_time(indexed):
    library, root = indexed
    rows = browse.list_photos(library.db, folder=str(root / "trip"), sort="date")
    assert [r.name for r in rows] == ["b_old.jpg", "a_new.jpg"]
    assert rows[0].date == dt.datetime(2001, 2, 3, 4, 5, 6)
    newest_first = browse.list_photos(library.db, sort="date", descending=True)
    # generated photo_* files have no EXIF date: their mtime (today) is newer than 2020
    assert newest_first[-1].name == "b_old.jpg"
    assert newest_first[-2].name == "a_new.jpg"


def test_sort_rows_relevance_keeps_scores_best_first():
    rows = [browse.PhotoRow(i, f"/x/{n}.jpg", None, None, 0, 1, s) for i, (n, s) in
            enumerate([("c", 0.1), ("a", 0.9), ("b", 0.5)])]
    assert [r.name for r in browse.sort_rows(rows, "relevance")] == ["a.jpg", "b.jpg", "c.jpg"]
    assert [r.name for r in browse.sort_rows(rows, "name", descending=True)] == ["c.jpg", "b.jpg", "a.jpg"]
    with pytest.raises(ValueError):
        browse.sort_rows(rows, "size")


def test_folder_tree_counts(indexed):
    library, root = indexed
    (tree,) = browse.folder_tree(library.db, library.roots())
    assert tree.path == str(root)
    assert tree.count == 8 and tree.direct == 3
    trip = tree.find(str(root / "trip"))
    assert trip is not None and trip.count == 2 and trip.direct == 1
    deep = tree.find(str(root / "trip" / "deep"))
    assert deep is not None and deep.count == 1 and deep.name == "deep"
    assert [c.name for c in tree.children] == ["sub", "trip"]


def test_photo_details(indexed):
    library, root = indexed
    pid = library.photo_id(str(root / "trip" / "deep" / "b_old.jpg"))
    details = browse.photo_details(library.db, pid)
    assert details is not None
    assert details.camera == "Canon EOS 5D"
    assert details.taken_at == dt.datetime(2001, 2, 3, 4, 5, 6)
    assert details.place == "48.85840° N, 2.29450° W"
    assert details.dimensions == "96 × 64"
    assert details.models == (library.model_key,)
    assert browse.photo_details(library.db, 10_000) is None


def test_rows_for_hits_keep_order_and_scores(indexed):
    library, root = indexed
    hits = library.similar(str(root / "photo_000.jpg"), limit=4)
    rows = browse.rows_for_hits(library.db, hits)
    assert [r.id for r in rows] == [h.photo_id for h in hits]
    assert [r.score for r in rows] == pytest.approx([h.score for h in hits])
    assert browse.rows_in_order(library.db, [rows[2].id, rows[0].id, 99999]) == [
        browse.photos_by_ids(library.db, [rows[2].id])[rows[2].id], browse.photos_by_ids(library.db, [rows[0].id])[rows[0].id]]


def test_vanished_photo_disappears(indexed):
    library, root = indexed
    (root / "photo_000.jpg").unlink()
    for _ in library.index([str(root)]):
        pass
    assert "photo_000.jpg" not in {r.name for r in browse.list_photos(library.db)}
    assert browse.folder_tree(library.db, library.roots())[0].count == 7


def test_settings_roundtrip(library_factory):
    library = library_factory()
    assert browse.get_setting(library.db, "excludes", []) == []
    browse.set_setting(library.db, "excludes", ["*/Screenshots"])
    browse.set_setting(library.db, "excludes", ["*/Screenshots", "*.tmp"])
    assert browse.get_setting(library.db, "excludes") == ["*/Screenshots", "*.tmp"]


def test_human_size():
    assert browse.human_size(999) == "999 B"
    assert browse.human_size(1536) == "1.5 KB"
    assert browse.human_size(25_000_000) == "25.0 MB"
