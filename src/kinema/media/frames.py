"""Checks and small helpers shared by every media format: frame arrays, fps, metadata, atomic writes.

Frames are numpy uint8 arrays shaped (T, H, W, 3) in RGB; a single image is T=1. Everything a
user hands to the media package passes through `as_frames`, so a float tensor or a channels-first
array fails here with a message that says how to fix it, not deep inside FFmpeg or Pillow.
"""

from __future__ import annotations

import math
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

DEFAULT_FPS = 8.0

# Keys Kinema keeps for itself inside image-based files (frame rate of a GIF, WebP or PNG sequence).
RESERVED_PREFIX = "kinema:"
# Portable across MP4 `mdta` atoms, PNG iTXt keywords (1-79 Latin-1 chars) and JSON.
_METADATA_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def as_frames(frames: object, *, name: str = "frames") -> np.ndarray:
    """Return `frames` as a contiguous uint8 (T, H, W, 3) array, or raise a ValueError saying how to fix it."""
    array = np.asarray(frames)
    if array.ndim == 3 and array.shape[-1] == 3:
        array = array[None]  # one (H, W, 3) image is a one-frame clip
    _check_layout(array, name)
    _check_dtype(array, name)
    return np.ascontiguousarray(array)


def _check_layout(array: np.ndarray, name: str) -> None:
    """Reject arrays that are not (T, H, W, 3) with a hint for the common wrong layouts."""
    shape = tuple(array.shape)
    if array.ndim == 4 and shape[-1] == 3:
        if 0 in shape:
            raise ValueError(f"{name} must have at least one frame of at least 1x1 pixels; got shape {shape}")
        return
    if array.ndim == 4 and shape[1] == 3:
        hint = "it looks channels-first; use frames.transpose(0, 2, 3, 1)"
    elif array.ndim in (3, 4) and shape[-1] == 4:
        hint = "drop the alpha channel with frames[..., :3]"
    elif array.ndim == 2 or (array.ndim == 3 and shape[-1] != 3):
        hint = "for grayscale repeat the channel with np.repeat(frames[..., None], 3, axis=-1)"
    else:
        hint = "reshape it to (frames, height, width, 3)"
    raise ValueError(f"{name} must be RGB shaped (T, H, W, 3) or (H, W, 3); got shape {shape}: {hint}")


def _check_dtype(array: np.ndarray, name: str) -> None:
    """Reject non-uint8 frames: silently rescaling floats or wrapping ints hides real bugs."""
    if array.dtype == np.uint8:
        return
    if np.issubdtype(array.dtype, np.floating):
        hint = "if it holds values in [0, 1], convert with (x * 255).round().astype(np.uint8)"
    elif np.issubdtype(array.dtype, np.integer):
        hint = "convert with np.clip(x, 0, 255).astype(np.uint8)"
    else:
        hint = "convert it to uint8 values in [0, 255]"
    raise ValueError(f"{name} must have dtype uint8; got {array.dtype}: {hint}")


def check_fps(fps: float) -> float:
    """Return `fps` as a float after checking it is a finite positive number."""
    try:
        value = math.nan if isinstance(fps, bool) else float(fps)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"fps must be a finite number > 0 such as 8 or 24; got {fps!r}")
    return value


def check_metadata(metadata: Mapping[str, object] | None) -> dict[str, str]:
    """Return metadata as str -> str, rejecting keys that some format cannot store or that Kinema reserves."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValueError(f"metadata must be a dict of str to str; got {type(metadata).__name__}")
    checked: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not _METADATA_KEY.fullmatch(key):
            raise ValueError(
                f"metadata key {key!r} is not allowed: use 1-64 letters, digits, '_', '.' or '-' (e.g. 'prompt')"
            )
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"metadata[{key!r}] must be a str (or int/float, stored as text); got {value!r}")
        checked[key] = str(value)
    return checked


def sample_indices(num_frames: int, count: int) -> np.ndarray:
    """Return up to `count` distinct frame indices spread evenly from the first frame to the last."""
    if count < 1:
        raise ValueError(f"the number of frames to sample must be >= 1; got {count}")
    count = min(count, num_frames)
    return np.linspace(0, num_frames - 1, count).round().astype(np.int64)


def pad_to_even(frames: np.ndarray) -> np.ndarray:
    """Edge-replicate one row/column so H and W are even, as 4:2:0 video requires."""
    _, height, width, _ = frames.shape
    pad_rows, pad_cols = height % 2, width % 2
    if not (pad_rows or pad_cols):
        return frames
    return np.pad(frames, ((0, 0), (0, pad_rows), (0, pad_cols), (0, 0)), mode="edge")


def suffix_of(path: Path, supported: tuple[str, ...], action: str) -> str:
    """Return the lower-case extension of `path`, or raise a ValueError listing the supported ones."""
    suffix = path.suffix.lower()
    if suffix not in supported:
        raise ValueError(
            f"cannot {action} {str(path)!r}: unsupported extension {suffix or '(none)'!r}; "
            f"use one of {', '.join(supported)}"
        )
    return suffix


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` and move it into place only if the block succeeds.

    A killed or failing writer leaves at most a hidden `.name.<hex>.tmp` file, never a half-written
    file under the final name. The temporary file lives in the same folder so `os.replace` is a
    rename on one file system (atomic), and is created by the writer so it gets the usual umask
    permissions rather than mkstemp's 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def require_file(path: str | os.PathLike[str]) -> Path:
    """Return `path` as a Path, raising FileNotFoundError that names it when it is not a file."""
    resolved = Path(path)
    if not resolved.is_file():
        raise FileNotFoundError(f"no such file: {str(resolved)!r}")
    return resolved
