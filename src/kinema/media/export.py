"""diffusers' `export_to_video`, so code written for diffusers video pipelines runs unchanged on Kinema.

It takes one video's frames in any form a pipeline hands back: Kinema's uint8 (T, H, W, 3) array,
a list of PIL images (`output_type="pil"`), or float frames in [0, 1] as diffusers' `"np"` output
gives them, and writes them with `write_video`.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from kinema.media.frames import DEFAULT_FPS
from kinema.media.video import write_video


def export_to_video(video_frames: object, output_video_path: str | os.PathLike[str] | None = None,
                    fps: float = DEFAULT_FPS) -> str:
    """Write one video's frames (MP4 unless the path names another format); a temporary .mp4 without a path.

    Returns the written path as a string, as diffusers does.
    """
    frames = frames_as_uint8(video_frames)
    if output_video_path is None:
        with tempfile.NamedTemporaryFile(suffix=".mp4", delete=False) as file:
            output_video_path = file.name
    return str(write_video(frames, output_video_path, fps=fps))


def frames_as_uint8(video_frames: object) -> np.ndarray:
    """One video's frames as a uint8 array: PIL images and [0, 1] floats converted, anything else checked later."""
    if isinstance(video_frames, (list, tuple)):
        if not video_frames:
            raise ValueError("video_frames is empty; pass the frames of one video, e.g. out.frames[0]")
        video_frames = np.stack([np.asarray(f.convert("RGB")) if hasattr(f, "convert") else np.asarray(f)
                                 for f in video_frames])
    frames = np.asarray(video_frames)
    if frames.ndim == 5:
        raise ValueError(f"video_frames holds {frames.shape[0]} videos (shape {frames.shape}); pass one of them, "
                         "e.g. out.frames[0]")
    if np.issubdtype(frames.dtype, np.floating):
        low, high = (float(frames.min()), float(frames.max())) if frames.size else (0.0, 0.0)
        if not (0.0 <= low and high <= 1.0):
            raise ValueError(f"float frames must hold values in [0, 1] (diffusers' output_type='np'); got {low:g} "
                             f"to {high:g}; uint8 frames in [0, 255] are written as they are")
        frames = (frames * 255).round().astype(np.uint8)
    return frames
