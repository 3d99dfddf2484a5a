"""Reading photos: EXIF orientation really applied, metadata, every format, broken files with clear reasons."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import photolens.imaging as imaging
from photolens.errors import ImageError
from photolens.imaging import decode_for_model, load_oriented, open_image, read_metadata
from tests.images import exif_jpeg, pattern, write_broken_files, write_every_format


def half_and_half(width: int, height: int) -> Image.Image:
    """Left half red, right half blue: after a 90° turn the colours end up top and bottom."""
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:, : width // 2] = (255, 0, 0)
    array[:, width // 2 :] = (0, 0, 255)
    return Image.fromarray(array)


def test_exif_orientation_6_turns_a_landscape_jpeg_into_portrait(tmp_path: Path) -> None:
    path = exif_jpeg(tmp_path / "rotated.jpg", half_and_half(80, 40), orientation=6)
    image, meta = load_oriented(path)
    assert image.size == (40, 80)
    assert (meta.width, meta.height) == (40, 80)
    assert meta.orientation == 6
    pixels = np.asarray(image, dtype=np.int16)
    # Orientation 6 = rotate 90° clockwise to display: the left (red) half becomes the top.
    top, bottom = pixels[5, 20], pixels[75, 20]
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_orientation_is_applied_before_the_model_crop(tmp_path: Path) -> None:
    rotated = exif_jpeg(tmp_path / "rotated.jpg", half_and_half(80, 40), orientation=6)
    a = decode_for_model(rotated, 32).pixels.astype(np.int16)
    assert a.shape == (32, 32, 3)
    # the centre crop of a portrait red-over-blue picture: red at the top rows, blue at the bottom rows
    assert a[2, 2, 0] > 200 and a[2, 29, 0] > 200
    assert a[29, 2, 2] > 200 and a[29, 29, 2] > 200


def test_metadata_date_camera_and_gps_read_back(tmp_path: Path) -> None:
    path = exif_jpeg(tmp_path / "meta.jpg", pattern(1), taken="2021:07:14 18:30:05", make="Canon",
                     model="EOS 5D", gps=(48.8584, -2.2945))
    with open_image(path) as image:
        meta = read_metadata(image)
    assert meta.taken_at == dt.datetime(2021, 7, 14, 18, 30, 5)
    assert (meta.camera_make, meta.camera_model) == ("Canon", "EOS 5D")
    assert meta.gps_lat == pytest.approx(48.8584, abs=1e-3)
    assert meta.gps_lon == pytest.approx(-2.2945, abs=1e-3)
    assert (meta.width, meta.height) == (96, 64)
    assert meta.image_format == "JPEG"


def test_southern_hemisphere_latitude_is_negative(tmp_path: Path) -> None:
    path = exif_jpeg(tmp_path / "south.jpg", pattern(2), gps=(-33.8568, 151.2153))
    with open_image(path) as image:
        meta = read_metadata(image)
    assert meta.gps_lat == pytest.approx(-33.8568, abs=1e-3)
    assert meta.gps_lon == pytest.approx(151.2153, abs=1e-3)


def test_photo_without_exif_has_size_and_no_date(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    pattern(3).save(path)
    with open_image(path) as image:
        meta = read_metadata(image)
    assert (meta.width, meta.height, meta.taken_at, meta.camera_make, meta.gps_lat) == (96, 64, None, None, None)


@pytest.mark.parametrize("kind", [".png", ".webp", ".tif", ".bmp", ".jpg", ".gif", "rgba"])
def test_every_format_decodes_to_an_rgb_square(tmp_path: Path, kind: str) -> None:
    path = write_every_format(tmp_path)[kind]
    decoded = decode_for_model(path, 32)
    assert decoded.pixels.shape == (32, 32, 3)
    assert decoded.pixels.dtype == np.uint8
    assert decoded.metadata.width > 0 and decoded.metadata.height > 0


def test_gif_uses_the_first_frame(tmp_path: Path) -> None:
    path = write_every_format(tmp_path)[".gif"]
    first_only = tmp_path / "first.gif"
    pattern(101).convert("P").save(first_only)
    a = decode_for_model(path, 32).pixels.astype(np.int16)
    b = decode_for_model(first_only, 32).pixels.astype(np.int16)
    assert np.abs(a - b).mean() < 2


def test_transparent_png_is_composited_on_white(tmp_path: Path) -> None:
    path = write_every_format(tmp_path)["rgba"]
    assert decode_for_model(path, 32).pixels.min() == 255


def test_heic_decodes_when_pillow_heif_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("pillow_heif")
    assert imaging.heif_available()
    path = tmp_path / "photo.heic"
    try:
        pattern(5).save(path, "HEIF")
    except (KeyError, OSError) as exc:  # a pillow-heif build without an encoder
        pytest.skip(f"cannot write HEIC here: {exc}")
    decoded = decode_for_model(path, 32)
    assert decoded.pixels.shape == (32, 32, 3)
    assert decoded.metadata.width == 96


def test_heic_without_pillow_heif_gives_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imaging, "_heif_state", False)
    path = tmp_path / "photo.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100)
    with pytest.raises(ImageError, match="pillow-heif"):
        decode_for_model(path, 32)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("empty", "empty file"),
        ("truncated", "corrupt or truncated"),
        ("not_image", "not an image"),
        ("garbage", "not an image|unreadable|corrupt"),
    ],
)
def test_broken_files_raise_image_error_with_a_reason(tmp_path: Path, kind: str, reason: str) -> None:
    path = write_broken_files(tmp_path)[kind]
    with pytest.raises(ImageError, match=reason):
        decode_for_model(path, 32)


def test_truncated_jpeg_fails_even_in_draft_mode(tmp_path: Path) -> None:
    path = write_broken_files(tmp_path)["truncated"]
    for size in (32, 224, 1000):
        with pytest.raises(ImageError):
            decode_for_model(path, size)


def test_images_over_the_pixel_limit_are_refused_before_decoding(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    pattern(7, (200, 100)).save(path)
    monkeypatch.setattr(imaging, "MAX_PIXELS", 10_000)
    with pytest.raises(ImageError, match="refused: 200x100 exceeds"):
        decode_for_model(path, 32)


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width × height`` with a tiny (invalid) body: a decompression bomb shape."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_decompression_bomb_header_is_refused_without_allocating(tmp_path: Path) -> None:
    path = _png_header_only(tmp_path / "bomb.png", 40_000, 40_000)  # 1600 MP > MAX_PIXELS
    with pytest.raises(ImageError, match="refused"):
        decode_for_model(path, 32)


def test_an_image_under_max_pixels_is_not_refused_for_its_size(tmp_path: Path) -> None:
    path = _png_header_only(tmp_path / "large.png", 20_000, 10_000)  # 200 MP < 576 MP
    with pytest.raises(ImageError) as info:
        decode_for_model(path, 32)
    assert "refused" not in str(info.value)


def test_vanished_file_is_reported_as_vanished(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="file vanished"):
        decode_for_model(tmp_path / "never-there.jpg", 32)


def test_permission_denied_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, which chmod cannot stop: simulate the EACCES that opening raises.
    path = tmp_path / "secret.jpg"
    pattern(8).save(path)
    real_open = Image.open

    def denied(fp, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(fp) == str(path):
            raise PermissionError(13, "Permission denied", str(fp))
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(Image, "open", denied)
    with pytest.raises(ImageError, match="permission denied"):
        decode_for_model(path, 32)


def test_decoding_is_deterministic(tmp_path: Path) -> None:
    path = tmp_path / "p.jpg"
    pattern(9, (300, 200)).save(path, quality=90)
    assert np.array_equal(decode_for_model(path, 32).pixels, decode_for_model(path, 32).pixels)
