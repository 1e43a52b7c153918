"""GIF, WebP, PNG and JPEG through Pillow: animated previews, numbered PNG frames and stills.

Image formats have no frame rate field that survives every tool, and both Pillow's GIF writer and
libwebp merge identical consecutive frames into one longer frame. Kinema therefore stores the
frame rate beside the user's metadata (GIF comment, WebP XMP, PNG text) under `kinema:fps`, and
the reader expands merged frames back by their durations, so a still scene keeps its frame count.
"""

from __future__ import annotations

import glob
import json
import re
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin

from kinema.media.frames import DEFAULT_FPS, RESERVED_PREFIX, atomic_output

FPS_KEY = f"{RESERVED_PREFIX}fps"

# Browsers play frames shorter than ~11 ms at 100 ms, and GIF counts time in 10 ms ticks, so a
# GIF above 50 fps (20 ms) or a WebP above 90 fps (11.1 ms) would play slower than asked.
_MAX_FPS = {".gif": 50.0, ".webp": 90.0}
_TICK_MS = {".gif": 10, ".webp": 1}
_BROWSER_MIN_MS = 11
_BROWSER_SLOW_MS = 100

_XMP_NAMESPACE = "urn:kinema:ns:1.0/"
_RDF_NAMESPACE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_STILL_OPTIONS = {
    ".png": {"format": "PNG"},
    ".jpg": {"format": "JPEG", "quality": 95, "subsampling": 0},  # 4:4:4: small clips have fine colour detail
    ".jpeg": {"format": "JPEG", "quality": 95, "subsampling": 0},
    ".webp": {"format": "WEBP", "lossless": True},
}


def write_animation(frames: np.ndarray, path: Path, *, fps: float, metadata: dict[str, str]) -> Path:
    """Write a looping animated GIF (256-colour palette per frame) or lossless animated WebP."""
    suffix = path.suffix.lower()
    if fps > _MAX_FPS[suffix]:
        raise ValueError(
            f"fps={fps} is too fast for {suffix}: browsers play frames under ~11 ms at 100 ms; "
            f"use fps <= {_MAX_FPS[suffix]:g} or write .mp4"
        )
    durations = frame_durations_ms(len(frames), fps, tick_ms=_TICK_MS[suffix])
    fields = {**metadata, FPS_KEY: repr(fps)}
    images = [Image.fromarray(image) for image in frames]
    options: dict[str, object] = {"save_all": True, "append_images": images[1:], "duration": durations, "loop": 0}
    if suffix == ".gif":
        options.update(format="GIF", comment=json.dumps(fields, ensure_ascii=False).encode("utf-8"))
    else:
        options.update(format="WEBP", lossless=True, xmp=_fields_to_xmp(fields))
    with atomic_output(path) as temporary:
        images[0].save(temporary, **options)
    return path


def frame_durations_ms(num_frames: int, fps: float, *, tick_ms: int) -> list[int]:
    """Per-frame durations on the format's clock whose running sum stays within half a tick of i/fps."""
    ticks = np.round(np.arange(num_frames + 1) * (1000.0 / fps) / tick_ms).astype(np.int64)
    return [int(duration) * tick_ms for duration in np.diff(ticks)]


def write_png_frames(frames: np.ndarray, path: Path, *, fps: float, metadata: dict[str, str]) -> Path | list[Path]:
    """Write one PNG for a single frame, else numbered `stem_0000.png, ...` beside `path`.

    Whatever an earlier write to the same `path` left (the single file or numbered frames past the
    new last one) is removed, so reading `path` back can never mix two clips.
    """
    info = _png_text({**metadata, FPS_KEY: repr(fps)})
    if len(frames) == 1:
        _save_still(frames[0], path, {"format": "PNG", "pnginfo": info})
        _remove_stale_frames(path, 0)
        return path
    paths = png_sequence_paths(path, len(frames))
    for image, frame_path in zip(frames, paths):
        _save_still(image, frame_path, {"format": "PNG", "pnginfo": info})
    _remove_stale_frames(path, len(frames))
    path.unlink(missing_ok=True)  # `read_video(path)` prefers this file over the numbered frames
    return paths


def png_sequence_paths(path: Path, num_frames: int) -> list[Path]:
    """Return the numbered frame paths `stem_0000.png, ...` (at least four digits) for `path`."""
    digits = max(4, len(str(num_frames - 1)))
    return [path.with_name(f"{path.stem}_{index:0{digits}d}.png") for index in range(num_frames)]


def _remove_stale_frames(path: Path, num_frames: int) -> None:
    """Delete numbered frames from index `num_frames` on, left by an earlier, longer write."""
    for index, frame_path in _numbered_frames(path).items():
        if index >= num_frames:
            frame_path.unlink(missing_ok=True)


def _numbered_frames(path: Path) -> dict[int, Path]:
    """Map frame index to file for every `stem_<digits>.png` beside `path`."""
    pattern = re.compile(re.escape(path.stem) + r"_(\d{4,})\.png")
    found: dict[int, Path] = {}
    for candidate in path.parent.glob(f"{glob.escape(path.stem)}_*.png"):
        match = pattern.fullmatch(candidate.name)
        if match:
            found[int(match.group(1))] = candidate
    return found


def find_png_sequence(path: Path) -> list[Path]:
    """Return the contiguous numbered frames `stem_0000.png, ...` written for `path` (empty if none)."""
    found = _numbered_frames(path)
    sequence: list[Path] = []
    while len(sequence) in found:
        sequence.append(found[len(sequence)])
    return sequence


def write_still(image: np.ndarray, path: Path) -> Path:
    """Write one (H, W, 3) image as PNG, JPEG (quality 95, 4:4:4) or lossless WebP."""
    _save_still(image, path, _STILL_OPTIONS[path.suffix.lower()])
    return path


def _save_still(image: np.ndarray, path: Path, options: dict[str, object]) -> None:
    """Save one image atomically with Pillow."""
    with atomic_output(path) as temporary:
        Image.fromarray(image).save(temporary, **options)


def _png_text(fields: dict[str, str]) -> PngImagePlugin.PngInfo:
    """Store each field as a UTF-8 iTXt chunk, readable by exiftool and image viewers."""
    info = PngImagePlugin.PngInfo()
    for key, value in fields.items():
        info.add_itxt(key, value)
    return info


def _fields_to_xmp(fields: dict[str, str]) -> bytes:
    """Wrap the fields as JSON in one attribute of a minimal, valid XMP packet."""
    ElementTree.register_namespace("kinema", _XMP_NAMESPACE)
    root = ElementTree.Element("{adobe:ns:meta/}xmpmeta")
    rdf = ElementTree.SubElement(root, f"{{{_RDF_NAMESPACE}}}RDF")
    description = ElementTree.SubElement(rdf, f"{{{_RDF_NAMESPACE}}}Description", {f"{{{_RDF_NAMESPACE}}}about": ""})
    description.set(f"{{{_XMP_NAMESPACE}}}fields", json.dumps(fields, ensure_ascii=False))
    return ElementTree.tostring(root, encoding="utf-8")


def _xmp_to_fields(xmp: bytes | str) -> dict[str, str]:
    """Read the fields back from an XMP packet written by `_fields_to_xmp`; other XMP gives {}."""
    try:
        root = ElementTree.fromstring(xmp)
    except ElementTree.ParseError:
        return {}
    for description in root.iter(f"{{{_RDF_NAMESPACE}}}Description"):
        payload = description.get(f"{{{_XMP_NAMESPACE}}}fields")
        if payload is not None:
            return _json_fields(payload) or {}
    return {}


def _json_fields(text: str) -> dict[str, str] | None:
    """Parse a JSON object of strings, or return None when `text` is something else."""
    try:
        fields = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(fields, dict):
        return None
    return {str(key): str(value) for key, value in fields.items()}


def _stored_fields(image: Image.Image) -> dict[str, str]:
    """Return every text field Kinema or another tool stored in the file, reserved keys included."""
    if image.format == "PNG":
        return {key: str(value) for key, value in getattr(image, "text", {}).items()}
    if image.format == "GIF" and "comment" in image.info:
        comment = image.info["comment"]
        text = comment.decode("utf-8", errors="replace") if isinstance(comment, bytes) else str(comment)
        fields = _json_fields(text)
        return fields if fields is not None else {"comment": text}
    if image.format == "WEBP" and "xmp" in image.info:
        return _xmp_to_fields(image.info["xmp"])
    return {}


def read_pillow(path: Path, *, max_frames: int | None) -> tuple[np.ndarray, float]:
    """Decode a GIF, WebP (animated or still), PNG/APNG or JPEG into RGB frames and its fps."""
    with _open_image(path) as image:
        fields = _stored_fields(image)
        images, durations = _decode_frames(image, path, max_frames)
    stored_fps = _parse_fps(fields.get(FPS_KEY))
    if len(images) == 1 and durations[0] == 0:
        return images[0][None], stored_fps or DEFAULT_FPS  # a still has no rate of its own
    frames, fps = _expand_merged_frames(images, durations, stored_fps)
    return frames[:max_frames] if max_frames is not None else frames, fps


def read_pillow_metadata(path: Path) -> dict[str, str]:
    """Return the user metadata stored in an image file, without Kinema's reserved keys."""
    with _open_image(path) as image:
        fields = _stored_fields(image)
    return {key: value for key, value in fields.items() if not key.startswith(RESERVED_PREFIX)}


def read_png_sequence(paths: list[Path], *, max_frames: int | None) -> tuple[np.ndarray, float]:
    """Read numbered PNG frames written by `write_png_frames` back into one clip."""
    selected = paths[:max_frames] if max_frames is not None else paths
    images = [read_pillow(frame_path, max_frames=1)[0][0] for frame_path in selected]
    shapes = {image.shape for image in images}
    if len(shapes) != 1:
        raise ValueError(f"the numbered frames of {str(paths[0])!r} differ in size ({sorted(shapes)}); rewrite them")
    with _open_image(paths[0]) as image:
        fps = _parse_fps(_stored_fields(image).get(FPS_KEY))
    return np.stack(images), fps or DEFAULT_FPS


def _open_image(path: Path) -> Image.Image:
    """Open an image, turning Pillow's many decode errors into one ValueError that names the file."""
    try:
        image = Image.open(path)
        image.load()
    except Exception as error:  # Pillow raises OSError, SyntaxError, struct.error, ... on bad input
        raise ValueError(f"could not decode {str(path)!r} as an image: {error}") from error
    return image


def _decode_frames(image: Image.Image, path: Path, max_frames: int | None) -> tuple[list[np.ndarray], list[int]]:
    """Return every stored frame as RGB with its duration in ms (0 when the file has none)."""
    num_frames = getattr(image, "n_frames", 1)
    if max_frames is not None:
        num_frames = min(num_frames, max_frames)  # merged frames only make the clip longer
    images: list[np.ndarray] = []
    durations: list[int] = []
    try:
        for index in range(num_frames):
            image.seek(index)
            still = ImageOps.exif_transpose(image) if num_frames == 1 else image
            images.append(np.asarray(still.convert("RGB")))
            durations.append(int(image.info.get("duration") or 0))
    except Exception as error:  # truncated animations fail on seek, not on open
        raise ValueError(f"could not decode {str(path)!r} as an image: {error}") from error
    return images, durations


def _expand_merged_frames(
    images: list[np.ndarray], durations: list[int], stored_fps: float | None
) -> tuple[np.ndarray, float]:
    """Repeat each frame by its duration over the frame period, undoing the writers' frame merging."""
    played = [_BROWSER_SLOW_MS if duration < _BROWSER_MIN_MS else duration for duration in durations]
    period_ms = 1000.0 / stored_fps if stored_fps else float(min(played))
    repeats = [max(1, round(duration / period_ms)) for duration in played]
    frames = np.stack(images).repeat(repeats, axis=0)
    fps = stored_fps or 1000.0 * len(frames) / sum(played)
    return frames, fps


def _parse_fps(text: str | None) -> float | None:
    """Return a stored positive frame rate, or None when missing or malformed."""
    try:
        fps = float(text) if text is not None else None
    except ValueError:
        return None
    return fps if fps is not None and 0 < fps < float("inf") else None
