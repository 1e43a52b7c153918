"""Read and write clips by file extension: MP4 for delivery, GIF/WebP for previews, PNG for exact frames.

This is the boundary of the media package: every public function validates its inputs here and
hands plain, checked values to the format modules (`mp4` through PyAV, `images` through Pillow).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from kinema.media import images, mp4
from kinema.media.frames import as_frames, check_fps, check_metadata, require_file, suffix_of

WRITE_SUFFIXES: tuple[str, ...] = (".mp4", ".gif", ".webp", ".png")
FFMPEG_SUFFIXES: tuple[str, ...] = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")
PILLOW_SUFFIXES: tuple[str, ...] = (".gif", ".webp", ".png", ".jpg", ".jpeg")
READ_SUFFIXES: tuple[str, ...] = FFMPEG_SUFFIXES + PILLOW_SUFFIXES
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp")


def write_video(
    frames: np.ndarray,
    path: str | os.PathLike[str],
    *,
    fps: float = 8,
    metadata: Mapping[str, str] | None = None,
    crf: int = 18,
) -> Path | list[Path]:
    """Write uint8 (T, H, W, 3) frames atomically, choosing the format from the extension.

    - `.mp4`: H.264 yuv420p with `+faststart`; odd heights/widths are padded to even by repeating
      the last row/column, so reading back gives the padded size. `crf` (0-51, lower is better)
      applies only here.
    - `.gif`: looping animation, 256-colour palette per frame, fps <= 50.
    - `.webp`: looping lossless animation (a still WebP when T == 1), fps <= 90.
    - `.png`: one PNG when T == 1; otherwise numbered frames `stem_0000.png, stem_0001.png, ...`
      beside `path` (no file is written at `path` itself) and their list is returned. Files an
      earlier write to `path` left (the single PNG or surplus numbered frames) are removed.

    `metadata` (e.g. {"prompt": ..., "seed": ...}) is stored in the file and returned by
    `read_video_metadata`. Missing parent folders are created. Returns the written path(s).
    """
    path = Path(path)
    suffix = suffix_of(path, WRITE_SUFFIXES, "write video to")
    frames = as_frames(frames)
    fps = check_fps(fps)
    fields = check_metadata(metadata)
    if suffix == ".mp4":
        return mp4.write_mp4(frames, path, fps=fps, metadata=fields, crf=_check_crf(crf))
    if suffix == ".png":
        return images.write_png_frames(frames, path, fps=fps, metadata=fields)
    return images.write_animation(frames, path, fps=fps, metadata=fields)


def _check_crf(crf: int) -> int:
    """Return `crf` after checking it is an integer in libx264's range."""
    if isinstance(crf, bool) or not isinstance(crf, (int, np.integer)) or not 0 <= crf <= 51:
        raise ValueError(f"crf must be an integer from 0 (lossless) to 51 (worst); 18 looks transparent; got {crf!r}")
    return int(crf)


def read_video(path: str | os.PathLike[str], *, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Read a clip as uint8 (T, H, W, 3) RGB frames and its frame rate.

    Reads anything FFmpeg decodes in an MP4/MOV/MKV/WebM/AVI file, animated or still GIF and WebP,
    and PNG/JPEG stills (T == 1). For `clip.png` that does not exist but `clip_0000.png` does,
    reads the numbered frames `write_video` wrote. Stills without a stored rate report 8 fps.
    `max_frames` stops decoding after that many frames.
    """
    path = Path(path)
    suffix = suffix_of(path, READ_SUFFIXES, "read video from")
    _check_max_frames(max_frames)
    if suffix == ".png" and not path.exists():
        sequence = images.find_png_sequence(path)
        if sequence:
            return images.read_png_sequence(sequence, max_frames=max_frames)
    path = require_file(path)
    if suffix in FFMPEG_SUFFIXES:
        return mp4.read_ffmpeg(path, max_frames=max_frames)
    return images.read_pillow(path, max_frames=max_frames)


def _check_max_frames(max_frames: int | None) -> None:
    """Reject a `max_frames` that is not None or a positive integer."""
    if max_frames is None:
        return
    if isinstance(max_frames, bool) or not isinstance(max_frames, (int, np.integer)) or max_frames < 1:
        raise ValueError(f"max_frames must be None (all frames) or an integer >= 1; got {max_frames!r}")


def read_video_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """Return the metadata stored by `write_video` (or another tool) as a str -> str dict.

    MP4 gives the container's tags without the muxer's own (`major_brand`, `encoder`, ...); GIF,
    WebP and PNG give what Kinema stored, and a plain GIF comment as {"comment": ...}. Numbered PNG
    frames report the metadata of their first frame.
    """
    path = Path(path)
    suffix = suffix_of(path, READ_SUFFIXES, "read metadata from")
    if suffix == ".png" and not path.exists():
        sequence = images.find_png_sequence(path)
        if sequence:
            return images.read_pillow_metadata(sequence[0])
    path = require_file(path)
    if suffix in FFMPEG_SUFFIXES:
        return mp4.read_ffmpeg_metadata(path)
    return images.read_pillow_metadata(path)


def write_image(image: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Write one uint8 (H, W, 3) image (or a one-frame clip) atomically as PNG, JPEG or lossless WebP."""
    path = Path(path)
    suffix_of(path, IMAGE_SUFFIXES, "write image to")
    frames = as_frames(image, name="image")
    if len(frames) != 1:
        raise ValueError(
            f"write_image writes a single image; got {len(frames)} frames: pick one (e.g. thumbnail(frames)) "
            "or use write_video"
        )
    return images.write_still(frames[0], path)
