"""The indexing pipeline on real files and the tiny model: incremental, changes, moves, copies, deletions,
purges, failures, cancellation, no model, and awkward paths.

The model has random weights, so assertions use identities: the same bytes give the same vector, a copy
scores ≈ 1 against its original, and work that must not happen is caught by an embedder that refuses.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select, update

import photolens.imaging as imaging
import photolens.pipeline as pipeline
from photolens.errors import EmbeddingDimensionError
from photolens.indexer import IndexOptions, IndexProgress, IndexSummary
from photolens.library import Library
from photolens.scanner import ScanOptions
from photolens.store.schema import Embedding, ModelRecord, Photo, utcnow
from tests.fakes import CountingEmbedder
from tests.images import exif_jpeg, make_photo_set, pattern, write_broken_files


def options(**changes: object) -> IndexOptions:
    opts = IndexOptions(batch_size=4, decode_workers=2)
    for key, value in changes.items():
        setattr(opts, key, value)
    return opts


def index(library: Library, *roots: Path, cancel: threading.Event | None = None, **changes: object) -> IndexProgress:
    events = list(library.index([str(r) for r in roots], cancel=cancel, options=options(**changes)))
    return events[-1]


def run(library: Library, *roots: Path, **changes: object) -> IndexSummary:
    return index(library, *roots, **changes).summary


@pytest.fixture
def counting(tiny_embedder) -> CountingEmbedder:  # type: ignore[no-untyped-def]
    return CountingEmbedder(tiny_embedder)


@pytest.fixture
def library(tmp_path: Path, tiny_spec: str, counting: CountingEmbedder):  # type: ignore[no-untyped-def]
    lib = Library(db=str(tmp_path / "library.db"), model=tiny_spec, embedder=counting)
    yield lib
    lib.close()


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    return make_photo_set(tmp_path / "lib", count=6)


def row(library: Library, path: Path) -> Photo | None:
    with library.db.session() as session:
        return session.scalar(select(Photo).where(Photo.path == str(path)))


def vector_of(library: Library, path: Path) -> np.ndarray:
    return library.photo_vector(str(path))


def live_paths(library: Library) -> set[str]:
    with library.db.session() as session:
        return set(session.scalars(select(Photo.path).where(Photo.missing_since.is_(None))))


def searchable(library: Library) -> set[str]:
    ids = set(library.vectors().ids.tolist())
    with library.db.session() as session:
        return {p for i, p in session.execute(select(Photo.id, Photo.path)) if i in ids}


def forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"decoded {args[0]} although nothing needed it")

    monkeypatch.setattr(pipeline, "decode_for_model", refuse)
    monkeypatch.setattr(imaging, "load_oriented", refuse)


# ---------------------------------------------------------------------------------------- first run


def test_first_run_embeds_every_photo_and_stores_metadata(library: Library, photos: list[Path],
                                                          counting: CountingEmbedder, tmp_path: Path) -> None:
    exif = exif_jpeg(tmp_path / "lib" / "exif.jpg", pattern(50, (80, 40)), orientation=6,
                     taken="2022:03:04 05:06:07", make="FUJIFILM", model="X100V", gps=(35.0, 139.0))
    summary = run(library, tmp_path / "lib")
    assert (summary.new, summary.embedded, summary.failed) == (7, 7, 0)
    assert counting.images == 7
    assert searchable(library) == {str(p) for p in photos} | {str(exif)}
    stored = row(library, exif)
    assert stored is not None
    assert (stored.width, stored.height, stored.orientation) == (40, 80, 6)
    assert stored.taken_at == dt.datetime(2022, 3, 4, 5, 6, 7)
    assert (stored.camera_make, stored.camera_model) == ("FUJIFILM", "X100V")
    assert stored.gps_lat == pytest.approx(35.0, abs=1e-3) and stored.gps_lon == pytest.approx(139.0, abs=1e-3)
    assert stored.image_format == "JPEG" and stored.metadata_read
    assert library.status()["embedded"] == 7


def test_vectors_are_stored_as_float16_per_model_key(library: Library, photos: list[Path], tiny_embedder) -> None:  # type: ignore[no-untyped-def]
    run(library, photos[0].parent)
    with library.db.session() as session:
        blobs = session.execute(select(Embedding.model_key, Embedding.vector)).all()
        record = session.get(ModelRecord, tiny_embedder.key)
    assert {key for key, _ in blobs} == {tiny_embedder.key}
    assert all(len(blob) == tiny_embedder.dim * 2 for _, blob in blobs)
    assert record is not None and record.dim == tiny_embedder.dim


def test_stored_vector_equals_a_fresh_encoding_of_the_same_file(library: Library, photos: list[Path],
                                                                tiny_embedder) -> None:  # type: ignore[no-untyped-def]
    run(library, photos[0].parent)
    from photolens.imaging import decode_for_model

    pre = tiny_embedder.preprocessing
    fresh = tiny_embedder.encode_pixels(decode_for_model(photos[0], pre.image_size).pixels[None].copy())[0]
    assert float(vector_of(library, photos[0]) @ fresh) > 0.999


# ---------------------------------------------------------------------------------------- incremental


def test_unchanged_files_cost_no_decode_and_no_model(library: Library, photos: list[Path], counting: CountingEmbedder,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    run(library, photos[0].parent)
    counting.forbid = True
    forbid_decoding(monkeypatch)
    summary = run(library, photos[0].parent)
    assert (summary.unchanged, summary.new, summary.changed, summary.embedded) == (6, 0, 0, 0)


def test_rescan_of_an_unchanged_library_does_not_load_the_model(tmp_path: Path, tiny_spec: str, photos: list[Path],
                                                                library: Library) -> None:
    run(library, photos[0].parent)
    fresh = Library(db=str(tmp_path / "library.db"), model=tiny_spec)
    try:
        summary = run(fresh, photos[0].parent)
        assert summary.unchanged == 6
        assert not fresh.embedder_loaded
    finally:
        fresh.close()


def test_changed_file_is_re_embedded_under_the_same_id(library: Library, photos: list[Path],
                                                       counting: CountingEmbedder) -> None:
    run(library, photos[0].parent)
    before_id = row(library, photos[0]).id  # type: ignore[union-attr]
    before = vector_of(library, photos[0])
    pattern(999, (120, 90)).save(photos[0], "JPEG", quality=80)
    counting.images = 0
    summary = run(library, photos[0].parent)
    assert (summary.changed, summary.unchanged, summary.embedded) == (1, 5, 1)
    assert counting.images == 1
    after = row(library, photos[0])
    assert after is not None and after.id == before_id and after.width == 120
    assert float(vector_of(library, photos[0]) @ before) < 0.999


def test_touched_file_counts_as_changed(library: Library, photos: list[Path], counting: CountingEmbedder) -> None:
    run(library, photos[0].parent)
    stat = photos[1].stat()
    os.utime(photos[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    summary = run(library, photos[0].parent)
    assert (summary.changed, summary.embedded) == (1, 1)


# ---------------------------------------------------------------------------------------- moves and copies


def test_moved_file_keeps_its_record_and_vector_without_decoding(library: Library, photos: list[Path],
                                                                 counting: CountingEmbedder, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = photos[0].parent
    run(library, root)
    old = row(library, photos[2])
    old_vector = vector_of(library, photos[2])
    target = root / "renamed" / "holiday.jpg"
    target.parent.mkdir()
    photos[2].rename(target)
    counting.forbid = True
    forbid_decoding(monkeypatch)
    summary = run(library, root)
    assert (summary.moved, summary.new, summary.deleted, summary.embedded) == (1, 0, 0, 0)
    moved = row(library, target)
    assert moved is not None and old is not None
    assert moved.id == old.id and moved.folder == str(target.parent) and moved.missing_since is None
    assert moved.width == old.width
    assert row(library, photos[2]) is None
    assert np.array_equal(vector_of(library, target), old_vector)
    assert str(target) in searchable(library)


def test_file_moved_out_then_back_in_a_later_run_is_recognised(library: Library, photos: list[Path],
                                                               counting: CountingEmbedder, tmp_path: Path) -> None:
    root = photos[0].parent
    run(library, root)
    photo_id = row(library, photos[3]).id  # type: ignore[union-attr]
    parked = tmp_path / "parked.jpg"
    shutil.move(photos[3], parked)
    assert run(library, root).deleted == 1
    assert str(photos[3]) not in searchable(library)
    back = root / "back" / "again.jpg"
    back.parent.mkdir()
    shutil.move(parked, back)
    counting.forbid = True
    summary = run(library, root)
    assert (summary.moved, summary.new) == (1, 0)
    assert row(library, back).id == photo_id  # type: ignore[union-attr]
    assert str(back) in searchable(library)


def test_exact_copy_reuses_the_vector_and_metadata(library: Library, photos: list[Path],
                                                   counting: CountingEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    root = photos[0].parent
    run(library, root)
    copy = root / "copy_of_0.jpg"
    shutil.copyfile(photos[0], copy)
    counting.forbid = True
    forbid_decoding(monkeypatch)
    summary = run(library, root)
    assert (summary.new, summary.copied, summary.embedded) == (1, 1, 0)
    original, twin = row(library, photos[0]), row(library, copy)
    assert original is not None and twin is not None and original.id != twin.id
    assert (twin.width, twin.height, twin.metadata_read) == (original.width, original.height, True)
    assert np.array_equal(vector_of(library, copy), vector_of(library, photos[0]))
    hits = library.similar(str(photos[0]), limit=1)
    assert hits[0].path == str(copy) and hits[0].score == pytest.approx(1.0, abs=1e-3)


def test_move_and_copy_of_the_same_file_in_one_run(library: Library, photos: list[Path],
                                                   counting: CountingEmbedder) -> None:
    root = photos[0].parent
    run(library, root)
    photo_id = row(library, photos[4]).id  # type: ignore[union-attr]
    moved, copied = root / "m.jpg", root / "n.jpg"
    shutil.copyfile(photos[4], copied)
    photos[4].rename(moved)
    counting.forbid = True
    summary = run(library, root)
    assert summary.moved == 1 and summary.copied == 1 and summary.embedded == 0
    assert {row(library, moved).id, row(library, copied).id} >= {photo_id}  # type: ignore[union-attr]
    assert len(searchable(library)) == 7


def test_external_copy_of_a_library_photo_finds_it_with_score_one(library: Library, photos: list[Path],
                                                                   tmp_path: Path) -> None:
    run(library, photos[0].parent)
    outside = tmp_path / "outside.jpg"
    shutil.copyfile(photos[5], outside)
    hits = library.similar(str(outside), limit=2)
    assert hits[0].path == str(photos[5])
    assert hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert hits[1].score < hits[0].score


# ---------------------------------------------------------------------------------------- deletions


def test_deleted_file_disappears_from_results_at_once_and_is_kept_for_the_grace(library: Library,
                                                                                photos: list[Path]) -> None:
    root = photos[0].parent
    run(library, root)
    data = photos[1].read_bytes()
    stat = photos[1].stat()
    photos[1].unlink()
    summary = run(library, root)
    assert summary.deleted == 1 and summary.purged == 0
    gone = row(library, photos[1])
    assert gone is not None and gone.missing_since is not None
    assert str(photos[1]) not in searchable(library)
    assert all(h.path != str(photos[1]) for h in library.similar(str(photos[0]), limit=10))
    status = library.status()
    assert (status["photos"], status["missing"], status["embedded"]) == (5, 1, 5)
    # back with the same bytes and mtime (e.g. a drive plugged in again): revived, nothing re-embedded
    photos[1].write_bytes(data)
    os.utime(photos[1], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    summary = run(library, root)
    assert (summary.unchanged, summary.embedded, summary.new) == (6, 0, 0)
    assert str(photos[1]) in searchable(library)


def test_missing_rows_are_purged_after_the_grace_period(library: Library, photos: list[Path]) -> None:
    root = photos[0].parent
    run(library, root)
    photos[0].unlink()
    photos[1].unlink()
    run(library, root)
    with library.db.session() as session:
        session.execute(update(Photo).where(Photo.path == str(photos[0]))
                        .values(missing_since=utcnow() - dt.timedelta(days=31)))
        session.execute(update(Photo).where(Photo.path == str(photos[1]))
                        .values(missing_since=utcnow() - dt.timedelta(days=29)))
    summary = run(library, root)
    assert summary.purged == 1
    assert row(library, photos[0]) is None
    assert row(library, photos[1]) is not None
    with library.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Embedding)) == 5


def test_grace_of_zero_days_purges_immediately(library: Library, photos: list[Path]) -> None:
    root = photos[0].parent
    run(library, root)
    photos[0].unlink()
    summary = run(library, root, missing_grace_days=0)
    assert (summary.deleted, summary.purged) == (1, 1)
    assert row(library, photos[0]) is None


def test_excluding_a_folder_removes_its_photos_from_results(library: Library, photos: list[Path]) -> None:
    root = photos[0].parent
    run(library, root)
    summary = run(library, root, scan=ScanOptions(excludes=["sub"]))
    assert summary.deleted == 3
    assert searchable(library) == {str(p) for p in photos if p.parent == root}


def test_photos_in_an_unreadable_folder_are_not_marked_missing(library: Library, photos: list[Path],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    root = photos[0].parent
    run(library, root)
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if os.fspath(path) == str(root / "sub"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    summary = run(library, root)
    assert summary.deleted == 0
    assert summary.problems == [(str(root / "sub"), "cannot list folder: Permission denied")]
    assert len(searchable(library)) == 6


def test_file_vanishing_before_decoding_is_marked_missing(library: Library, photos: list[Path],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    real = pipeline.decode_for_model

    def vanish_first(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path) == str(photos[0]):
            os.unlink(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pipeline, "decode_for_model", vanish_first)
    summary = run(library, photos[0].parent)
    assert (summary.embedded, summary.failed, summary.deleted) == (5, 0, 1)
    assert str(photos[0]) not in live_paths(library)


# ---------------------------------------------------------------------------------------- bad input


def test_broken_files_are_recorded_and_the_run_continues(library: Library, photos: list[Path],
                                                         counting: CountingEmbedder) -> None:
    root = photos[0].parent
    broken = write_broken_files(root / "broken")
    summary = run(library, root)
    assert summary.embedded == 6
    assert summary.failed == len(broken)
    reasons = dict(summary.problems)
    assert set(reasons) == {str(p) for p in broken.values()}
    assert "empty file" in reasons[str(broken["empty"])]
    assert "not an image" in reasons[str(broken["not_image"])]
    assert "truncated" in reasons[str(broken["truncated"])]
    assert dict(library.failures()) == reasons
    assert library.status()["failed"] == len(broken)


def test_failures_are_not_retried_unless_asked(library: Library, photos: list[Path],
                                               counting: CountingEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    root = photos[0].parent
    broken = write_broken_files(root / "broken")
    run(library, root)
    counting.forbid = True
    forbid_decoding(monkeypatch)
    summary = run(library, root)
    assert (summary.failed, summary.embedded, summary.unchanged) == (0, 0, 6 + len(broken))
    monkeypatch.undo()
    counting.forbid = False
    assert library.clear_failures([str(root)]) == len(broken)
    summary = run(library, root)
    assert summary.failed == len(broken)


def test_fixed_file_is_retried_when_it_changes(library: Library, photos: list[Path]) -> None:
    root = photos[0].parent
    broken = write_broken_files(root / "broken")
    run(library, root)
    pattern(77).save(broken["truncated"], "JPEG")
    summary = run(library, root)
    assert (summary.changed, summary.embedded, summary.failed) == (1, 1, 0)
    assert str(broken["truncated"]) not in dict(library.failures())


def jpeg_with_mistyped_gps_exif(path: Path) -> Path:
    """A JPEG whose EXIF GPS latitude is stored as BYTEs instead of RATIONALs (seen in damaged files):
    Pillow reads it, but ``ImageOps.exif_transpose`` raises TypeError when it re-serialises the EXIF."""
    exif_jpeg(path, pattern(40, (64, 48)), orientation=6, gps=(1.0, 2.0))
    data = path.read_bytes()
    entry = b"\x00\x02\x00\x05\x00\x00\x00\x03"  # tag 2 (GPSLatitude), type 5 (RATIONAL), count 3
    assert data.count(entry) == 1
    path.write_bytes(data.replace(entry, b"\x00\x02\x00\x01\x00\x00\x00\x03"))  # type 1 (BYTE)
    return path


def tiff_with_a_bad_next_ifd(path: Path) -> Path:
    """A TIFF whose next-IFD pointer lands in pixel data: Pillow raises TypeError("Missing dimensions")
    when asked for ``n_frames``."""
    pattern(41, (64, 48)).save(path, "TIFF")
    data = bytearray(path.read_bytes())
    first = struct.unpack("<I", data[4:8])[0]
    entries = struct.unpack("<H", data[first : first + 2])[0]
    next_pointer = first + 2 + 12 * entries
    data[next_pointer : next_pointer + 4] = struct.pack("<I", len(data) - 1000)
    path.write_bytes(bytes(data))
    return path


def test_a_malformed_exif_block_costs_the_rotation_rewrite_not_the_photo(library: Library,
                                                                          photos: list[Path]) -> None:
    """Pillow's exif_transpose raises TypeError on a mistyped GPS tag; the pixels are fine, so embed them."""
    root = photos[0].parent
    jpeg_with_mistyped_gps_exif(root / "bad.jpg")
    summary = run(library, root)
    assert summary.embedded == 7
    assert summary.problems == []


def test_a_file_that_makes_pillow_raise_an_unusual_error_is_one_recorded_failure(library: Library,
                                                                                 photos: list[Path]) -> None:
    """A TIFF whose next-IFD pointer lands in pixel data makes Pillow raise TypeError, not OSError."""
    root = photos[0].parent
    bad = tiff_with_a_bad_next_ifd(root / "bad.tif")
    summary = run(library, root)
    assert summary.embedded == 6
    assert [p for p, _ in summary.problems] == [str(bad)]
    assert library.failures()[0][0] == str(bad)


def test_image_over_the_pixel_limit_is_a_per_file_failure(library: Library, photos: list[Path],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    root = photos[0].parent
    pattern(3, (400, 300)).save(root / "huge.png")
    monkeypatch.setattr(imaging, "MAX_PIXELS", 50_000)
    summary = run(library, root)
    assert summary.embedded == 6
    assert "exceeds" in dict(summary.problems)[str(root / "huge.png")]


def test_unreadable_file_is_a_per_file_failure(library: Library, photos: list[Path],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, which chmod cannot stop: simulate the EACCES that opening raises.
    real_open = Image.open

    def denied(fp, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(fp) == str(photos[2]):
            raise PermissionError(13, "Permission denied", str(fp))
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(Image, "open", denied)
    summary = run(library, photos[0].parent)
    assert summary.embedded == 5
    assert summary.problems == [(str(photos[2]), "permission denied")]


def test_non_utf8_and_very_long_paths_are_indexed_and_found(library: Library, tmp_path: Path) -> None:
    root = tmp_path / "odd"
    weird_dir = root / os.fsdecode(b"dossier-\xe9t\xe9")
    weird_dir.mkdir(parents=True)
    weird = weird_dir / os.fsdecode(b"photo-\xff\xfe.jpg")
    pattern(31).save(weird, "JPEG")
    deep = root
    for i in range(10):
        deep = deep / (f"{i:02d}" + "x" * 200)
    deep.mkdir(parents=True)
    long_file = deep / ("y" * 240 + ".jpg")
    pattern(32).save(long_file, "JPEG")
    summary = run(library, root)
    assert (summary.new, summary.embedded, summary.failed) == (2, 2, 0)
    hits = library.similar(str(weird), limit=5)
    assert [h.path for h in hits] == [str(long_file)]
    assert os.path.exists(hits[0].path)
    odd_hit = library.similar(str(long_file), limit=1)[0]
    assert odd_hit.path == str(weird) and os.path.exists(odd_hit.path)
    # a second pass recognises both as unchanged, and a non-UTF-8 folder works as a root itself
    assert run(library, root).unchanged == 2
    assert run(library, weird_dir).unchanged == 1


# ---------------------------------------------------------------------------------------- cancel / model


def test_cancel_stops_after_the_current_batch_and_the_next_run_resumes(library: Library, tmp_path: Path,
                                                                       counting: CountingEmbedder) -> None:
    root = tmp_path / "many"
    make_photo_set(root, count=12)
    cancel = threading.Event()
    embedded_events = 0
    for event in library.index([str(root)], cancel=cancel, options=options(batch_size=3)):
        if event.phase == "embed":
            embedded_events += 1
            cancel.set()
    assert embedded_events == 1
    assert library.status()["embedded"] == 3
    summary = run(library, root)
    assert (summary.unchanged, summary.embedded) == (12, 9)
    assert counting.images == 12
    assert library.status()["embedded"] == 12


def test_closing_the_event_stream_stops_cleanly(library: Library, tmp_path: Path) -> None:
    root = tmp_path / "many"
    make_photo_set(root, count=10)
    events = library.index([str(root)], options=options(batch_size=2))
    for event in events:
        if event.phase == "embed":
            events.close()  # what the CLI does on Ctrl-C
            break
    assert library.status()["embedded"] == 2
    assert run(library, root).embedded == 8


def test_without_a_model_metadata_is_still_read_and_the_error_is_clear(tmp_path: Path, photos: list[Path],
                                                                       tiny_spec: str) -> None:
    no_weights = tmp_path / "empty-model"
    no_weights.mkdir()
    (no_weights / "open_clip_config.json").write_text("{}")
    lib = Library(db=str(tmp_path / "nomodel.db"), model=f"local-dir:{no_weights}")
    try:
        last = index(lib, photos[0].parent)
        assert last.model_error is not None and "no weights file" in last.model_error
        assert str(no_weights) in last.model_error
        assert last.summary.embedded == 0 and last.summary.new == 6
        stored = row(lib, photos[0])
        assert stored is not None and stored.metadata_read and (stored.width, stored.height) == (96, 64)
        assert lib.vectors().ids.size == 0
    finally:
        lib.close()
    # the same database with the model available embeds everything on the next run
    later = Library(db=str(tmp_path / "nomodel.db"), model=tiny_spec)
    try:
        assert run(later, photos[0].parent).embedded == 6
    finally:
        later.close()


def test_stored_dimension_mismatch_is_refused(library: Library, photos: list[Path], tiny_embedder) -> None:  # type: ignore[no-untyped-def]
    with library.db.session() as session:
        session.add(ModelRecord(key=tiny_embedder.key, spec="x", dim=tiny_embedder.dim + 1))
    with pytest.raises(EmbeddingDimensionError, match=f"{tiny_embedder.dim + 1}-d"):
        run(library, photos[0].parent)
    with pytest.raises(EmbeddingDimensionError):
        _ = library.embedder


def test_indexing_one_folder_leaves_a_folder_differing_only_in_case_alone(library: Library, tmp_path: Path) -> None:
    upper = make_photo_set(tmp_path / "lib" / "Trip", count=2)
    lower = make_photo_set(tmp_path / "lib" / "trip", count=2, start_seed=10)
    run(library, tmp_path / "lib")
    summary = run(library, tmp_path / "lib" / "Trip")
    assert (summary.unchanged, summary.deleted) == (2, 0)
    assert searchable(library) == {str(p) for p in upper + lower}


# ---------------------------------------------------------------------------------------- remembered roots


def test_roots_are_remembered_without_typos_or_nested_duplicates(library: Library, tmp_path: Path) -> None:
    make_photo_set(tmp_path / "lib" / "a", count=1)
    make_photo_set(tmp_path / "lib" / "b", count=1, start_seed=5)
    summary = run(library, tmp_path / "lib" / "a", tmp_path / "typo")
    assert summary.problems == [(str(tmp_path / "typo"), "folder not found")]
    assert library.roots() == [str(tmp_path / "lib" / "a")]
    run(library, tmp_path / "lib" / "a" / "..")  # a parent replaces the folders inside it
    assert library.roots() == [str(tmp_path / "lib")]
    run(library, tmp_path / "lib" / "b")  # a folder inside a known one adds nothing
    assert library.roots() == [str(tmp_path / "lib")]


def test_a_non_utf8_folder_can_be_the_first_root(library: Library, tmp_path: Path) -> None:
    weird = tmp_path / os.fsdecode(b"caf\xe9")
    make_photo_set(weird, count=2)
    assert run(library, weird).embedded == 2
    assert run(library, weird).unchanged == 2


def test_database_locked_by_another_process_fails_clearly_and_loses_nothing(
        library: Library, photos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    import photolens.store.database as database
    from photolens.errors import DatabaseLockedError

    root = photos[0].parent
    run(library, root)
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)
    locked = Library(db=str(tmp_path / "library.db"), model=library.spec, embedder=library.embedder)
    pattern(70).save(root / "added.jpg", "JPEG")
    other = sqlite3.connect(tmp_path / "library.db", timeout=0.1)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(DatabaseLockedError, match="locked by another process"):
            run(locked, root)
        other.rollback()
        summary = run(locked, root)
        assert (summary.new, summary.unchanged, summary.embedded) == (1, 6, 1)
        assert len(searchable(locked)) == 7
    finally:
        other.close()
        locked.close()


def test_two_indexers_on_one_library_do_not_trip_over_each_other(library: Library, tmp_path: Path,
                                                                 tiny_spec: str) -> None:
    """The GUI indexing while `photolens index` runs in a terminal: both planned the same work."""
    root = tmp_path / "many"
    make_photo_set(root, count=12)
    first = library.index([str(root)], options=options(batch_size=2))
    next(e for e in first if e.phase == "embed")  # the first run has planned everything, written one batch
    second = Library(db=str(tmp_path / "library.db"), model=tiny_spec, embedder=library.embedder)
    try:
        other = run(second, root)
        assert other.embedded == 10
        rest = list(first)  # the first run goes on with photos the second has embedded meanwhile
        assert rest[-1].phase == "done"
        assert second.status()["embedded"] == 12
    finally:
        second.close()
