"""The sizes and durations the loaded model supports, spelled as the Videos API spells them.

OpenAI's API takes `size` as "WIDTHxHEIGHT" and `seconds` as a string ("4"). A Kinema model folder
lists its sizes as (height, width) pairs and its clip lengths as frame counts of the form 1 + 4k at
`fps`. A clip of N frames spans N - 1 frame intervals, so it lasts (N - 1) / fps seconds:
17 frames at 8 fps are "2" seconds, 33 frames are "4". A one-frame clip (a still image) lasts no
time, so it is not offered as a video length. OpenAI's own lengths ("4", "8", "12") are offered
too where the model can reach them by chained extension, and OpenAI's sizes (1280x720, 720x1280,
1792x1024, 1024x1792) mean the model's size nearest their aspect ratio, so a client written for the
hosted API works unchanged; the video object reports the size actually rendered. Anything else is a
400 that lists what is allowed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from kinema.server.errors import invalid_value

# Clients written for OpenAI's hosted API may send its model names; they mean "the served model".
OPENAI_MODEL_ALIASES = frozenset({"sora-2", "sora-2-pro", "sora-2-2025-10-06", "sora-2-pro-2025-10-06", "sora-2-2025-12-08"})
_SIZE = re.compile(r"\s*(\d{1,5})\s*[xX]\s*(\d{1,5})\s*")
OPENAI_SIZES = frozenset({(1280, 720), (720, 1280), (1792, 1024), (1024, 1792)})  # (width, height)
OPENAI_DEFAULT_SIZE = (720, 1280)  # (width, height): the hosted API's portrait default
OPENAI_SECONDS = (4, 8, 12)
FRAMES_PER_LATENT = 4  # the VAE's time compression: a chained clip has 1 + 4k frames


def size_name(size: tuple[int, int]) -> str:
    """A (height, width) size as the API writes it: "WIDTHxHEIGHT"."""
    height, width = size
    return f"{width}x{height}"


def format_seconds(seconds: float) -> str:
    """A duration as the API writes it: "2", "4", "0.5" (no trailing zeros)."""
    return f"{seconds:g}"


@dataclass(frozen=True)
class ModelCatalog:
    """What one served model accepts: its name, sizes (height, width), frame counts and frame rate."""

    model: str
    fps: float
    sizes: tuple[tuple[int, int], ...]
    frame_counts: tuple[int, ...]
    max_frames: int | None = None  # the longest clip extensions may build; None: no limit

    @classmethod
    def from_config(cls, config: Any) -> ModelCatalog:
        """Read a PipelineConfig (any object with name, fps, sizes, frame_counts, optionally max_frames)."""
        max_frames = getattr(config, "max_frames", None)
        catalog = cls(str(config.name), float(config.fps), tuple(tuple(size) for size in config.sizes),
                      tuple(int(count) for count in config.frame_counts), int(max_frames) if max_frames else None)
        if not catalog.durations():
            raise ValueError(f"model {catalog.model!r} supports only one-frame clips {catalog.frame_counts}; "
                             "the Videos API needs a frame count above 1")
        return catalog

    # ------------------------------------------------------------------ sizes

    def size_names(self) -> list[str]:
        """Every supported size as "WIDTHxHEIGHT", in the model's order."""
        return [size_name(size) for size in self.sizes]

    def default_size(self) -> tuple[int, int]:
        """The size nearest OpenAI's default (portrait 720x1280), so a request without one gets the same shape."""
        return self.nearest_size(*OPENAI_DEFAULT_SIZE)

    def parse_size(self, text: object, *, param: str = "size") -> tuple[int, int]:
        """(height, width) of a supported "WIDTHxHEIGHT" string; `default_size()` when None."""
        if text is None:
            return self.default_size()
        match = _SIZE.fullmatch(str(text))
        allowed = ", ".join(self.size_names())
        if match is None:
            raise invalid_value(param, f"size must be WIDTHxHEIGHT in pixels, one of {allowed}; got {text!r}",
                                code="invalid_size")
        width, height = int(match.group(1)), int(match.group(2))
        if (height, width) not in self.sizes and (width, height) in OPENAI_SIZES:
            return self.nearest_size(width, height)
        if (height, width) not in self.sizes:
            raise invalid_value(param, f"size {width}x{height} is not supported by model {self.model!r}; "
                                       f"choose one of {allowed}", code="invalid_size")
        return height, width

    def nearest_size(self, width: int, height: int) -> tuple[int, int]:
        """The supported (height, width) whose aspect ratio is nearest width:height (for OpenAI sizes and uploads)."""
        return min(self.sizes, key=lambda size: abs(math.log(size[1] / size[0] * height / width)))

    # ------------------------------------------------------------------ durations

    def durations(self) -> dict[str, int]:
        """Seconds string -> frame count: the trained lengths above one frame, and OpenAI's that chaining reaches."""
        counts = {count for count in self.frame_counts if count > 1}
        for seconds in OPENAI_SECONDS:
            frames = seconds * self.fps + 1
            reachable = self.max_frames is not None and frames <= self.max_frames
            if reachable and frames == int(frames) and (frames - 1) % FRAMES_PER_LATENT == 0:
                counts.add(int(frames))
        return {format_seconds((count - 1) / self.fps): count for count in sorted(counts)}

    def trained_durations(self) -> dict[str, int]:
        """The durations made in one window: the only ones a remix (video-to-video edit) takes."""
        return {seconds: count for seconds, count in self.durations().items() if count in self.frame_counts}

    def default_seconds(self) -> str:
        """OpenAI's default length ("4") when the model has it, else the shortest one."""
        durations = self.durations()
        return "4" if "4" in durations else next(iter(durations))

    def describe_durations(self) -> str:
        """'"2" (17 frames), "4" (33 frames) at 8 fps': the allowed values, for error messages."""
        listed = ", ".join(f'"{seconds}" ({count} frames)' for seconds, count in self.durations().items())
        return f"{listed} at {self.fps:g} fps"

    def parse_seconds(self, value: object, *, param: str = "seconds") -> tuple[str, int]:
        """(canonical seconds string, frame count) of an allowed duration; the default when None."""
        if value is None:
            value = self.default_seconds()
        try:
            seconds = float(str(value).strip())
        except ValueError:
            seconds = math.nan
        for name, count in self.durations().items():
            if math.isclose(seconds, float(name), abs_tol=1e-6):
                return name, count
        raise invalid_value(param, f"seconds must be one of {self.describe_durations()} for model {self.model!r}; "
                                   f"got {value!r}", code="invalid_seconds")

    def frames_for(self, seconds: str) -> int:
        """Frames in a clip of `seconds` (any length, e.g. an extension's stitched total)."""
        return round(float(seconds) * self.fps) + 1

    def extended_seconds(self, source_seconds: str, added_seconds: str, *, param: str = "seconds") -> str:
        """The stitched length of a clip extended by `added_seconds`; 400 beyond the model's longest clip.

        The new segment starts at the source's last frame, so lengths add: 2 s + 2 s = 4 s.
        """
        total = format_seconds(float(source_seconds) + float(added_seconds))
        if self.max_frames is not None and self.frames_for(total) > self.max_frames:
            longest = format_seconds((self.max_frames - 1) / self.fps)
            raise invalid_value(param, f"extending a {source_seconds} s video by {added_seconds} s makes {total} s; "
                                       f"model {self.model!r} builds clips up to {longest} s", code="invalid_seconds")
        return total

    # ------------------------------------------------------------------ model name

    def check_model(self, name: object) -> str:
        """The served model's name; `name` may be omitted, be that name, or be an OpenAI alias (sora-2)."""
        if name is None or name == self.model or name in OPENAI_MODEL_ALIASES:
            return self.model
        raise invalid_value("model", f"this server serves model {self.model!r}; omit model or pass {self.model!r}; "
                                     f"got {name!r}", code="invalid_model")
