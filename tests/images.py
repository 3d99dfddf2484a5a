"""Real image files made by the tests: every format, EXIF rotation, and broken files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def pattern(seed: int, size: tuple[int, int] = (96, 64)) -> Image.Image:
    """A distinct, deterministic picture per seed (blocks of colour plus a gradient)."""
    rng = np.random.default_rng(seed)
    w, h = size
    blocks = rng.integers(0, 256, size=(4, 6, 3), dtype=np.uint8)
    big = np.kron(blocks, np.ones((h // 4 + 1, w // 6 + 1, 1), dtype=np.uint8))[:h, :w]
    gradient = np.linspace(0, 60, w, dtype=np.float32)[None, :, None]
    return Image.fromarray(np.clip(big.astype(np.float32) + gradient, 0, 255).astype(np.uint8))


def exif_jpeg(path: Path, image: Image.Image, orientation: int = 1, taken: str | None = None,
              make: str | None = None, model: str | None = None, gps: tuple[float, float] | None = None) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if gps:
        lat, lon = gps

        def dms(value: float) -> tuple[float, float, float]:
            value = abs(value)
            d = int(value)
            m = int((value - d) * 60)
            s = (value - d - m / 60) * 3600
            return (float(d), float(m), round(s, 4))

        exif.get_ifd(0x8825).update({1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W",
                                     4: dms(lon)})
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", exif=exif, quality=90)
    return path


def make_photo_set(root: Path, count: int = 6, start_seed: int = 0) -> list[Path]:
    """``count`` distinct JPEGs under ``root`` (some in a subfolder)."""
    paths = []
    for i in range(count):
        folder = root / ("sub" if i % 2 else "")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"photo_{start_seed + i:03d}.jpg"
        pattern(start_seed + i).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def write_every_format(root: Path, seed: int = 100) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    image = pattern(seed)
    out = {}
    for ext, fmt in ((".png", "PNG"), (".webp", "WEBP"), (".tif", "TIFF"), (".bmp", "BMP"), (".jpg", "JPEG")):
        path = root / f"format{ext}"
        image.save(path, fmt)
        out[ext] = path
    gif = root / "animated.gif"
    frames = [pattern(seed + 1).convert("P"), pattern(seed + 2).convert("P")]
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out[".gif"] = gif
    rgba = root / "transparent.png"
    Image.new("RGBA", (40, 30), (255, 0, 0, 0)).save(rgba)
    out["rgba"] = rgba
    return out


def write_broken_files(root: Path, seed: int = 200) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    out["empty"] = root / "empty.jpg"
    out["empty"].write_bytes(b"")
    good = root / "tmp_good.jpg"
    pattern(seed, (300, 200)).save(good, "JPEG", quality=95)
    data = good.read_bytes()
    good.unlink()
    out["truncated"] = root / "truncated.jpg"
    out["truncated"].write_bytes(data[: len(data) // 2])
    out["not_image"] = root / "notes.jpg"
    out["not_image"].write_text("this is not a photo, just text with a .jpg name\n" * 20)
    out["garbage"] = root / "garbage.png"
    out["garbage"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    return out
