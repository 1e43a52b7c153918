"""Where a job's files live under the data folder, and the reading and writing of them.

Layout: `<data>/videos/<video id>/` holds `video.mp4`, `thumbnail.webp`, `spritesheet.jpg` and, for
image-to-video, `reference.png`, or for an edit or extension of an uploaded clip, `source.mp4`.
No request text is ever joined into a path: a video id must match
`video_` + 32 hex digits before any path is built, a variant picks from a fixed table of file
names, and the final path is checked to lie inside the data folder all the same.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path

import numpy as np

VIDEO_ID = re.compile(r"video_[0-9a-f]{32}")
# variant -> (file name, media type); OpenAI serves the thumbnail as WebP and the spritesheet as JPEG.
VARIANTS: dict[str, tuple[str, str]] = {
    "video": ("video.mp4", "video/mp4"),
    "thumbnail": ("thumbnail.webp", "image/webp"),
    "spritesheet": ("spritesheet.jpg", "image/jpeg"),
}
REFERENCE_IMAGE = "reference.png"
SOURCE_VIDEO = "source.mp4"
MAX_IMAGE_BYTES = 16 * 2**20
MAX_IMAGE_PIXELS = 40_000_000  # far above any real photo, far below a decompression bomb
MAX_DECODED_BYTES = 2 * 2**30  # an uploaded clip's frames, decoded: a few seconds of 4K, far below the machine


def new_video_id() -> str:
    """A fresh, unguessable video id."""
    return f"video_{uuid.uuid4().hex}"


def is_video_id(text: str) -> bool:
    """Whether `text` is shaped like an id this server makes (and so is safe in a path)."""
    return VIDEO_ID.fullmatch(text) is not None


class JobFiles:
    """The files of every job, under one data folder."""

    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir).resolve() / "videos"

    def folder(self, job_id: str) -> Path:
        """The job's folder; a ValueError for anything that is not a well-formed id."""
        if not is_video_id(job_id):
            raise ValueError(f"not a video id: {job_id!r} (expected video_ followed by 32 hex digits)")
        folder = (self.root / job_id).resolve()
        if folder.parent != self.root:  # cannot happen for a well-formed id; kept as a second lock
            raise ValueError(f"video id {job_id!r} resolves outside the data folder")
        return folder

    def output(self, job_id: str, variant: str) -> Path:
        """The file of one variant ("video", "thumbnail", "spritesheet")."""
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
        return self.folder(job_id) / VARIANTS[variant][0]

    def reference_image(self, job_id: str) -> Path:
        """Where the image of an image-to-video job is kept until it is rendered (and after)."""
        return self.folder(job_id) / REFERENCE_IMAGE

    def save_reference_image(self, job_id: str, image: np.ndarray) -> Path:
        """Keep an uploaded first frame with the job, so it renders after a restart too."""
        from kinema.media import write_image

        return write_image(image, self.reference_image(job_id))

    def load_reference_image(self, job_id: str) -> np.ndarray:
        """The saved first frame as (H, W, 3) uint8."""
        from kinema.media import read_video

        frames, _ = read_video(self.reference_image(job_id))
        return frames[0]

    def source_video(self, job_id: str) -> Path:
        """Where the uploaded clip of an edit or extension is kept (a source not made by this server)."""
        return self.folder(job_id) / SOURCE_VIDEO

    def save_source_video(self, job_id: str, frames: np.ndarray, fps: float) -> Path:
        from kinema.media import write_video

        path = self.source_video(job_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_video(frames, path, fps=fps, crf=12)

    def load_video(self, job_id: str) -> np.ndarray:
        """A completed job's frames (T, H, W, 3) uint8: the source of a remix or an extension."""
        from kinema.media import read_video

        frames, _ = read_video(self.output(job_id, "video"))
        return frames

    def write_outputs(self, job_id: str, frames: np.ndarray, *, fps: float, metadata: Mapping[str, str]) -> Path:
        """Write the MP4 (H.264 yuv420p), thumbnail and spritesheet; return the MP4's path.

        The MP4 is written last, so a job whose MP4 exists has all its files.
        """
        from kinema.media import spritesheet, thumbnail, write_image, write_video

        write_image(thumbnail(frames), self.output(job_id, "thumbnail"))
        write_image(spritesheet(frames), self.output(job_id, "spritesheet"))
        path = self.output(job_id, "video")
        write_video(frames, path, fps=fps, metadata=dict(metadata))
        return path

    def remove(self, job_id: str) -> None:
        """Delete a job's folder and everything in it (nothing when it has none)."""
        shutil.rmtree(self.folder(job_id), ignore_errors=True)


def decode_image(data: bytes, *, width: int, height: int) -> np.ndarray:
    """An uploaded image as (height, width, 3) uint8, scaled and centre-cropped to fill the video's size.

    Raises ValueError naming the problem for empty, oversized or undecodable uploads.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise ValueError("input_reference is empty; upload a PNG, JPEG or WebP image")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"input_reference is {len(data) / 2**20:.1f} MiB; the limit is {MAX_IMAGE_BYTES // 2**20} MiB")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ValueError(f"input_reference is {image.width}x{image.height} pixels; the limit is "
                                 f"{MAX_IMAGE_PIXELS:,} pixels")
            image.seek(0)  # the first frame of an animated upload
            rgb = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"input_reference is not an image Pillow can read (PNG, JPEG or WebP): {error}") from None
    fitted = ImageOps.fit(rgb, (width, height), Image.Resampling.LANCZOS)
    return np.asarray(fitted, dtype=np.uint8).copy()


def decode_clip(data: bytes, *, param: str, max_seconds: float) -> tuple[np.ndarray, float]:
    """The first `max_seconds` of an uploaded clip (MP4, WebM, MOV, GIF, ...): uint8 frames (T, H, W, 3) and its rate.

    Raises ValueError naming `param` for empty, oversized or undecodable uploads, and for clips whose
    decoded frames would not fit in MAX_DECODED_BYTES (a small file can hold hours of video).
    """
    first, fps = _read_clip(data, param=param, max_frames=1)
    frames = math.ceil(max_seconds * fps) + 1
    if frames * first[0].nbytes > MAX_DECODED_BYTES:
        height, width = first.shape[1:3]
        needed = frames * first[0].nbytes / 2**30
        raise ValueError(f"{param} is {width}x{height} at {fps:g} fps: {max_seconds:g} s of it would take "
                         f"{needed:.1f} GiB decoded (limit {MAX_DECODED_BYTES // 2**30} GiB); "
                         "upload a smaller or lower-frame-rate clip")
    return _read_clip(data, param=param, max_frames=frames)


def _read_clip(data: bytes, *, param: str, max_frames: int) -> tuple[np.ndarray, float]:
    from kinema.media import read_video

    if not data:
        raise ValueError(f"{param} is empty; upload a video file (MP4, WebM, MOV or GIF)")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"{param} is {len(data) / 2**20:.1f} MiB; the limit is {MAX_IMAGE_BYTES // 2**20} MiB")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{_suffix(data)}"
        path.write_bytes(data)
        try:
            return read_video(path, max_frames=max_frames)
        except (ValueError, OSError) as error:
            raise ValueError(f"{param} is not a video this server can read (MP4, WebM, MOV, GIF or PNG): {error}"
                             ) from None


def _suffix(data: bytes) -> str:
    """A file suffix from the upload's first bytes (the upload's own file name is not trusted)."""
    if data.startswith(b"GIF8"):
        return ".gif"
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".mp4"  # FFmpeg probes the container itself, so MOV, MKV and WebM read too


def fit_clip(frames: np.ndarray, fps: float, *, width: int, height: int, target_fps: float,
             num_frames: int) -> np.ndarray:
    """The first `num_frames` frames at `target_fps` (nearest source frame), scaled and centre-cropped to the size."""
    from PIL import Image, ImageOps

    times = np.arange(num_frames) / target_fps
    indices = np.minimum(np.round(times * fps).astype(int), len(frames) - 1)
    fitted = [ImageOps.fit(Image.fromarray(frames[i]), (width, height), Image.Resampling.LANCZOS) for i in indices]
    return np.stack([np.asarray(frame, dtype=np.uint8) for frame in fitted])
