"""Reading photos safely and fast: size limits, JPEG draft decoding, EXIF orientation and metadata.

Every failure becomes an :class:`~photolens.errors.ImageError` with a short reason, so the indexer can
record it per file and move on. Photos are only ever opened for reading.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from photolens.errors import ImageError

#: Images above this many pixels are refused (decompression bombs, giant scans). 24k × 24k.
MAX_PIXELS = 576_000_000
# Pillow's own guard (about 179 MP) would refuse real panoramas below our documented limit first.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic", ".heif", ".avif"}
)
HEIF_EXTENSIONS = frozenset({".heic", ".heif"})

_heif_lock = threading.Lock()
_heif_state: bool | None = None


def heif_available() -> bool:
    """Register pillow-heif once, if installed."""
    global _heif_state
    with _heif_lock:
        if _heif_state is None:
            try:
                from pillow_heif import register_heif_opener

                register_heif_opener()
                _heif_state = True
            except ImportError:
                _heif_state = False
    return _heif_state


@dataclass
class PhotoMetadata:
    width: int
    height: int
    taken_at: dt.datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    orientation: int | None = None
    image_format: str | None = None


@dataclass
class DecodedPhoto:
    """A photo ready for the model: a centre crop of ``size`` px, uint8 ``(S, S, 3)``."""

    pixels: np.ndarray
    metadata: PhotoMetadata


_RESAMPLE = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
    "lanczos": Image.Resampling.LANCZOS,
}

# EXIF tags
_ORIENTATION = 0x0112
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL = 0x9003


def _clean_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).replace("\x00", "").strip()
    return text[:200] or None


def _parse_exif_date(value: object) -> dt.datetime | None:
    text = _clean_text(value)
    if not text:
        return None
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return dt.datetime.strptime(text[:19], fmt)
        except ValueError:
            continue
    return None


def _gps_degrees(values: object, ref: object) -> float | None:
    try:
        d, m, s = (float(v) for v in values)  # type: ignore[union-attr]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60.0 + s / 3600.0
    if _clean_text(ref) in ("S", "W"):
        degrees = -degrees
    return degrees if -180.0 <= degrees <= 180.0 else None


def read_metadata(image: Image.Image) -> PhotoMetadata:
    """EXIF date, camera, GPS and the displayed (orientation-corrected) pixel size."""
    width, height = image.size
    meta = PhotoMetadata(width=width, height=height, image_format=image.format)
    try:
        exif = image.getexif()
    except Exception:  # noqa: BLE001 - a broken EXIF block must not cost the photo
        return meta
    if not exif:
        return meta
    orientation = exif.get(_ORIENTATION)
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        meta.orientation = orientation
        if orientation in (5, 6, 7, 8):
            meta.width, meta.height = height, width
    meta.camera_make = _clean_text(exif.get(_MAKE))
    meta.camera_model = _clean_text(exif.get(_MODEL))
    try:
        sub = exif.get_ifd(_EXIF_IFD)
        meta.taken_at = _parse_exif_date(sub.get(_DATETIME_ORIGINAL)) or _parse_exif_date(exif.get(_DATETIME))
        gps = exif.get_ifd(_GPS_IFD)
        if gps:
            meta.gps_lat = _gps_degrees(gps.get(2), gps.get(1))
            meta.gps_lon = _gps_degrees(gps.get(4), gps.get(3))
    except Exception:  # noqa: BLE001
        pass
    return meta


def open_image(path: str | os.PathLike[str]) -> Image.Image:
    """Open lazily (header only) and enforce the pixel limit before any decoding."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext in HEIF_EXTENSIONS and not heif_available():
        raise ImageError("HEIC/HEIF needs the optional package pillow-heif (pip install pillow-heif)")
    try:
        if os.path.getsize(path) == 0:
            raise ImageError("empty file (0 bytes)")
        image = Image.open(path)
    except FileNotFoundError as exc:
        raise ImageError("file vanished") from exc
    except PermissionError as exc:
        raise ImageError("permission denied") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("not an image (or an unsupported format)") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError(f"refused: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"unreadable: {exc}") from exc
    except ImageError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoders (pillow-heif, plugins) raise anything on bad files
        raise ImageError(f"unreadable: {type(exc).__name__}: {exc}") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise ImageError("empty image")
    if width * height > MAX_PIXELS:
        image.close()
        raise ImageError(f"refused: {width}x{height} exceeds the {MAX_PIXELS // 1_000_000} MP limit")
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float32)
        top = float(array.max()) or 1.0
        return Image.fromarray((array / top * 255.0).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def load_oriented(path: str | os.PathLike[str], min_side: int | None = None) -> tuple[Image.Image, PhotoMetadata]:
    """Decode a photo upright in RGB. With ``min_side``, JPEGs decode at a reduced scale (draft mode)
    that still leaves at least ``min_side`` pixels on each side: 8× less work for a 12-MP photo."""
    with open_image(path) as image:
        metadata = read_metadata(image)
        try:
            if min_side and image.format == "JPEG":
                image.draft("RGB", (min_side, min_side))
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)
            image.load()
            oriented = _upright(image, metadata.orientation)
            rgb = _to_rgb(oriented)
            rgb.load()
        except Image.DecompressionBombError as exc:
            raise ImageError(f"refused: {exc}") from exc
        except FileNotFoundError as exc:
            raise ImageError("file vanished") from exc
        except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
            raise ImageError(f"corrupt or truncated: {exc}") from exc
        except MemoryError as exc:
            raise ImageError("too large to decode in memory") from exc
        except Exception as exc:  # noqa: BLE001 - one odd file must never stop a whole indexing run
            raise ImageError(f"corrupt: {type(exc).__name__}: {exc}") from exc
    return rgb, metadata


_TRANSPOSE = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


def _upright(image: Image.Image, orientation: int | None) -> Image.Image:
    """Apply the EXIF orientation. ``exif_transpose`` also rewrites the EXIF block and fails on some
    malformed ones (e.g. mistyped GPS tags); the pixels only need the rotation, so fall back to it."""
    try:
        return ImageOps.exif_transpose(image) or image
    except Exception:  # noqa: BLE001
        for step in _TRANSPOSE.get(orientation or 1, ()):
            image = image.transpose(step)
        return image


def fit_square(image: Image.Image, size: int, interpolation: str = "bicubic", resize_mode: str = "shortest") -> np.ndarray:
    """Reproduce open_clip's transform (resize the shortest side, centre crop; or squash) as uint8."""
    resample = _RESAMPLE.get(interpolation, Image.Resampling.BICUBIC)
    width, height = image.size
    if resize_mode == "squash":
        resized = image.resize((size, size), resample, reducing_gap=3.0)
        return np.asarray(resized, dtype=np.uint8)
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    resized = image.resize((new_w, new_h), resample, reducing_gap=3.0)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return np.asarray(resized.crop((left, top, left + size, top + size)), dtype=np.uint8)


def decode_for_model(
    path: str | os.PathLike[str], size: int, interpolation: str = "bicubic", resize_mode: str = "shortest"
) -> DecodedPhoto:
    """Everything the indexer needs from one file, in one read."""
    image, metadata = load_oriented(path, min_side=size)
    pixels = fit_square(image, size, interpolation, resize_mode)
    return DecodedPhoto(pixels=pixels, metadata=metadata)
