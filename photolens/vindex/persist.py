"""Crash-safe files for persisted indexes: atomic replace, checksums, a JSON sidecar as commit record.

An index is a cache of the store, so the only hard requirement is never to *use* a damaged or stale file:
every data file is written to a temporary name, fsync'd and renamed; the sidecar, written last, records each
file's size and CRC-32. A crash at any point leaves either the old complete set or a set whose sidecar
disagrees with a data file, which ``verify_file`` reports before anything parses the bytes (hnswlib's
loader can crash the process on a truncated file).
"""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from photolens.vindex.errors import IndexCorruptError

_CHUNK = 1 << 23


def crc32_file(path: Path) -> int:
    """CRC-32 of a file, streamed (about 1 GB/s; zlib releases the GIL on large buffers)."""
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def fsync_dir(directory: Path) -> None:
    """Make a rename durable (no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_atomic(path: Path, write: Callable[[Path], None]) -> dict[str, int]:
    """Write ``path`` through ``write(tmp)``, fsync, rename over; return its size and checksum."""
    tmp = tmp_path(path)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        info = {"bytes": tmp.stat().st_size, "crc32": crc32_file(tmp)}
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return info


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    def _write(tmp: Path) -> None:
        tmp.write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")

    write_atomic(path, _write)
    fsync_dir(path.parent)


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"index sidecar {path.name} is missing") from exc
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"index sidecar {path.name} is unreadable: {exc}") from exc
    if not isinstance(data, dict):
        raise IndexCorruptError(f"index sidecar {path.name} is not a JSON object")
    return data


def verify_file(path: Path, info: object) -> None:
    """Check a data file against its sidecar entry: size first (cheap, catches truncation), then CRC."""
    if (
        not isinstance(info, dict)
        or not isinstance(info.get("bytes"), int)
        or not isinstance(info.get("crc32"), int)
    ):
        raise IndexCorruptError(f"index sidecar has no valid entry for {path.name}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IndexCorruptError(f"index file {path.name} is missing") from exc
    if size != info["bytes"]:
        raise IndexCorruptError(
            f"index file {path.name} has {size} bytes, expected {info['bytes']} (truncated?)"
        )
    if crc32_file(path) != info["crc32"]:
        raise IndexCorruptError(f"index file {path.name} fails its checksum")


def remove_files(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


def _digest_multipliers(dim: int) -> np.ndarray:
    """Odd 64-bit constants from splitmix64 (explicit, so digests never change with numpy's RNG)."""
    x = np.arange(1, dim + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x | np.uint64(1)


def vector_digests(vectors: np.ndarray) -> np.ndarray:
    """A uint64 fingerprint per float32 row (sum of bit patterns times odd constants, mod 2^64).

    Any change of a vector changes its digest; lets a persisted graph be checked against the store's vectors
    without reading vectors back out of hnswlib (its ``get_items`` goes through Python floats: very slow).
    """
    vecs = np.ascontiguousarray(vectors, dtype=np.float32)
    out = np.empty(vecs.shape[0], dtype=np.uint64)
    if vecs.shape[0] == 0:
        return out
    mult = _digest_multipliers(vecs.shape[1])
    step = 8192
    with np.errstate(over="ignore"):
        for start in range(0, vecs.shape[0], step):
            bits = vecs[start : start + step].view(np.uint32).astype(np.uint64)
            out[start : start + step] = (bits * mult).sum(axis=1, dtype=np.uint64)
    return out
