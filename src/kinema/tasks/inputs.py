"""Task inputs (images and clips) as uint8 frames of the size being generated.

An input is a path (any file `kinema.media.read_video` reads: PNG, JPEG, WebP, GIF, MP4, ...), a
PIL image, or a uint8 array: (H, W, 3) for an image, (T, H, W, 3) for a clip. Files that cannot be
read raise an error naming the argument and the file. A clip's frames are used as they are,
whatever its frame rate: resample a clip to the model's fps (config.fps) first if they differ.

Size rule (documented, and reported back in the output's metadata and by the CLI): an input of
another size is scaled, keeping its aspect ratio, to the smallest size that covers the target
(Lanczos when shrinking, bicubic when enlarging), then centre-cropped to the target. Nothing is
stretched and no borders are added; what falls outside the target's aspect ratio is cut equally
from both sides. When the caller leaves the size open, the supported size nearest to the first
input's aspect ratio is generated, so a matching input is never cropped.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np


def read_image(value: Any, name: str) -> np.ndarray:
    """One (H, W, 3) uint8 image from a path, a PIL image or an array (the first frame of a file)."""
    frames = read_frames(value, name, image=True)
    return frames[0]


def read_clip(value: Any, name: str) -> np.ndarray:
    """A (T, H, W, 3) uint8 clip from a path or an array."""
    return read_frames(value, name, image=False)


def read_frames(value: Any, name: str, *, image: bool) -> np.ndarray:
    """Frames from a path, a PIL image or an array; errors name the argument (and the file)."""
    from kinema.media import as_frames

    if isinstance(value, (str, os.PathLike)):
        return _read_file(value, name)
    if hasattr(value, "convert") and hasattr(value, "size"):  # a PIL image, without importing Pillow here
        return as_frames(np.asarray(value.convert("RGB")), name=name)
    array = np.asarray(value)
    if image and array.ndim == 4 and len(array) != 1:
        raise ValueError(f"{name} must be one image (H, W, 3) uint8; got {len(array)} frames (pass one of them)")
    if not image and array.ndim == 3 and array.shape[-1] == 3:
        raise ValueError(f"{name} must be a clip (T, H, W, 3) uint8; got one image of shape {array.shape} "
                         "(add a frame axis with clip[None] if a one-frame clip is meant)")
    return as_frames(array, name=name)


def _read_file(path: str | os.PathLike, name: str) -> np.ndarray:
    from kinema.media import read_video

    try:
        frames, _ = read_video(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{name}: no such file: {str(path)!r}") from None
    except (ValueError, OSError) as error:
        raise ValueError(f"{name}: cannot read {str(path)!r}: {error}") from None
    return frames


def nearest_size(height: int, width: int, sizes: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    """The supported (height, width) whose aspect ratio is nearest to height x width (ties: the larger)."""
    if (height, width) in sizes:
        return height, width
    ratio = math.log(width / height)
    return min(sizes, key=lambda size: (abs(math.log(size[1] / size[0]) - ratio), -size[0] * size[1]))


def fit_frames(frames: np.ndarray, height: int, width: int, name: str) -> tuple[np.ndarray, str | None]:
    """Frames scaled to cover height x width and centre-cropped to it, and the rule applied (None when unchanged)."""
    from PIL import Image

    in_height, in_width = frames.shape[1:3]
    if (in_height, in_width) == (height, width):
        return frames, None
    scale = max(height / in_height, width / in_width)
    scaled_width, scaled_height = max(width, round(in_width * scale)), max(height, round(in_height * scale))
    resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
    top, left = (scaled_height - height) // 2, (scaled_width - width) // 2
    box = (left, top, left + width, top + height)
    fitted = np.stack([np.asarray(Image.fromarray(frame).resize((scaled_width, scaled_height), resample).crop(box))
                       for frame in frames])
    rule = (f"{name}: {in_width}x{in_height} scaled by {scale:.3g} to {scaled_width}x{scaled_height} "
            f"({'Lanczos' if scale < 1 else 'bicubic'}) and centre-cropped to {width}x{height}")
    cut_x, cut_y = scaled_width - width, scaled_height - height
    if cut_x or cut_y:
        rule += f" (cut {cut_x} px across, {cut_y} px down)"
    return fitted, rule
