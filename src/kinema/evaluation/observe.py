"""Measuring a video of the world from its pixels alone: objects by colour, their tracks, the wall, the camera.

The world is built so this is reliable: objects are the only saturated things in a frame and
every object in a scene has its own colour, so a per-colour mask finds and tracks each one.
Nothing here reads a SceneSpec; it sees what a viewer would see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from kinema.world.spec import COLOURS, FLOOR_Y, OCCLUDER_COLOUR, PAN_SPEED

SATURATION_MIN = 0.5
VALUE_MIN = 0.3
MIN_CORE_AREA = 0.0015  # of unit^2: fewer eroded pixels than this and a colour is not an object in that frame
HARMONICS = (3, 4, 5)


def rgb_hue(rgb: tuple[int, int, int]) -> float:
    """Hue in degrees of one RGB colour."""
    return float(hue_saturation_value(np.asarray(rgb, np.float32)[None])[0][0])


def hue_saturation_value(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HSV of uint8 or float (0-255) RGB pixels (..., 3): hue in degrees, saturation and value in [0, 1]."""
    rgb = pixels.astype(np.float32) / 255.0
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    delta = np.maximum(high - low, 1e-6)
    hue = np.where(high == r, np.mod((g - b) / delta, 6.0), np.where(high == g, (b - r) / delta + 2.0, (r - g) / delta + 4.0))
    return hue * 60.0, (high - low) / np.maximum(high, 1e-6), high


COLOUR_NAMES: tuple[str, ...] = tuple(COLOURS)
COLOUR_HUES = np.asarray([rgb_hue(rgb) for rgb in COLOURS.values()], np.float32)


@dataclass(frozen=True)
class ObjectTrack:
    """One coloured object as seen over time; x, y are NaN and area 0 where it is not visible."""

    colour: str
    x: np.ndarray  # (T,) centroid, widths
    y: np.ndarray  # (T,) centroid, heights
    area: np.ndarray  # (T,) pixel count over unit^2 (unit = the frame's shorter side)
    harmonics: np.ndarray  # (T, 3) normalised angular harmonics 3, 4, 5 of the mask, NaN where not visible
    orientation: np.ndarray  # (T, 3) phase of each harmonic (radians), NaN where not visible

    @property
    def visible(self) -> np.ndarray:
        return self.area > 0

    @cached_property
    def unhidden_area(self) -> np.ndarray:
        """Area per frame were nothing covering it: a log-linear fit that ignores frames where it is partly hidden."""
        frames = np.flatnonzero(self.visible)
        log_area = np.log(self.area[frames])
        keep = np.ones(len(frames), bool)
        for _ in range(3):
            fit = np.polyfit(frames[keep], log_area[keep], 1 if keep.sum() >= 3 else 0)
            keep = log_area >= np.polyval(fit, frames) - math.log(1.25)
            if keep.sum() < 2:
                keep[np.argmax(log_area)] = True
        return np.exp(np.polyval(fit, np.arange(len(self.area))))

    @property
    def displacement(self) -> tuple[float, float] | None:
        """(dx, dy) in widths and heights from the first to the last frame it is seen in; None if seen in fewer than two."""
        seen = np.flatnonzero(self.visible)
        if len(seen) < 2:
            return None
        return float(self.x[seen[-1]] - self.x[seen[0]]), float(self.y[seen[-1]] - self.y[seen[0]])

    @property
    def full_area(self) -> float:
        """The area of the object when nothing hides it (a high quantile of its visible areas)."""
        return float(np.quantile(self.area[self.visible], 0.9)) if self.visible.any() else 0.0


@dataclass(frozen=True)
class Observation:
    """Everything measured from one clip."""

    num_frames: int
    height: int
    width: int
    fps: float
    objects: tuple[ObjectTrack, ...]
    pan_velocity: float  # screen velocity of the ground layer, widths/s (positive: moving right)
    pan_texture: float  # contrast of the ground texture; near 0 means a pan could not be seen
    wall_columns: np.ndarray  # (T, 2) left and right edge of the wall per frame in widths, NaN if none
    band_features: np.ndarray  # background descriptor, see background_features


def observe(frames: np.ndarray, fps: float = 8.0) -> Observation:
    """Measure objects, wall, camera pan and background features of uint8 frames (T, H, W, 3)."""
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (T, H, W, 3) RGB; got {frames.dtype} {frames.shape}")
    num_frames, height, width, _ = frames.shape
    label, saturation = colour_labels(frames)
    unit = float(min(height, width))
    core = erode_labels(label)
    opened = open_labels(label, core)
    objects = tuple(
        track
        for index, name in enumerate(COLOUR_NAMES)
        if (track := track_colour(label, opened, core, index, name, unit)) is not None
    )
    walls = wall_mask(frames, saturation)
    wall = find_wall(walls)
    pan_velocity, texture = estimate_pan(frames, fps)
    features = background_features(frames, (label >= 0) | (walls & ~np.isnan(wall[:, :1])[:, :, None]))
    return Observation(num_frames, height, width, fps, objects, pan_velocity, texture, wall, features)


def colour_labels(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the index of the nearest object colour for saturated bright pixels, else -1; and the saturation."""
    high, low = frames.max(axis=-1), frames.min(axis=-1)
    saturation = (high.astype(np.float32) - low) / np.maximum(high, 1).astype(np.float32)
    salient = (saturation > SATURATION_MIN) & (high > VALUE_MIN * 255)
    hue, _, _ = hue_saturation_value(frames[salient])
    distance = np.abs(np.mod(hue[:, None] - COLOUR_HUES + 180.0, 360.0) - 180.0)
    label = np.full(salient.shape, -1, np.int8)
    label[salient] = np.argmin(distance, axis=-1)
    return label, saturation


def erode_labels(label: np.ndarray) -> np.ndarray:
    """Labels kept only where all 4 neighbours share them: removes 1-pixel blend fringes between colours."""
    core = label.copy()
    same = np.ones(label.shape, bool)
    same[:, 1:, :] &= label[:, 1:, :] == label[:, :-1, :]
    same[:, :-1, :] &= label[:, :-1, :] == label[:, 1:, :]
    same[:, :, 1:] &= label[:, :, 1:] == label[:, :, :-1]
    same[:, :, :-1] &= label[:, :, :-1] == label[:, :, 1:]
    core[~same] = -1
    return core


def open_labels(label: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Morphological opening per colour: core pixels and their same-coloured neighbours; drops noise specks."""
    opened = core.copy()
    for axis, step in ((1, 1), (1, -1), (2, 1), (2, -1)):
        neighbour = np.roll(core, step, axis=axis)
        grow = (opened < 0) & (neighbour >= 0) & (neighbour == label)
        opened[grow] = label[grow]
    return opened


def track_colour(label: np.ndarray, opened: np.ndarray, core: np.ndarray, index: int, colour: str, unit: float) -> ObjectTrack | None:
    """Track the object of one colour; None when no frame holds a solid blob of it.

    Area and centre come from the opened mask (noise specks removed); shape harmonics from the raw
    mask near the blob, which keeps thin corners and star points that opening would cut.
    """
    num_frames, height, width = label.shape
    core_area = np.count_nonzero(core == index, axis=(1, 2)) / (unit * unit)
    present = core_area >= MIN_CORE_AREA
    if not present.any():
        return None
    frame_of, rows, cols = np.nonzero(opened == index)
    raw_frame_of, raw_rows, raw_cols = np.nonzero(label == index)
    area = np.where(present, np.bincount(frame_of, minlength=num_frames) / (unit * unit), 0.0)
    x = np.full(num_frames, np.nan)
    y = np.full(num_frames, np.nan)
    orientation = np.full((num_frames, len(HARMONICS)), np.nan)
    magnitudes = np.full((num_frames, len(HARMONICS)), np.nan)
    bounds = np.searchsorted(frame_of, np.arange(num_frames + 1))
    raw_bounds = np.searchsorted(raw_frame_of, np.arange(num_frames + 1))
    for frame in np.flatnonzero(present):
        blob = slice(bounds[frame], bounds[frame + 1])
        cy, cx = rows[blob].mean(), cols[blob].mean()
        y[frame], x[frame] = (cy + 0.5) / height, (cx + 0.5) / width
        reach = np.hypot(rows[blob] - cy, cols[blob] - cx).max() + 1.5
        raw = slice(raw_bounds[frame], raw_bounds[frame + 1])
        dx, dy = raw_cols[raw] - cx, raw_rows[raw] - cy
        near = np.hypot(dx, dy) <= reach
        magnitudes[frame], orientation[frame] = angular_harmonics(dx[near], dy[near])
    return ObjectTrack(colour, x, y, area, magnitudes, orientation)


def angular_harmonics(dx: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised magnitude and phase of the 3rd, 4th and 5th angular harmonics of a blob's pixels.

    A shape with n-fold symmetry has only harmonics that are multiples of n, so these separate
    triangle (3), square (4) and star (5) from a circle (none), whatever the rotation.
    """
    theta = np.arctan2(dy, dx)
    radius = np.hypot(dx, dy)
    magnitudes, phases = np.zeros(len(HARMONICS)), np.zeros(len(HARMONICS))
    for i, n in enumerate(HARMONICS):
        weight = radius**n
        total = complex(np.sum(weight * np.cos(n * theta)), np.sum(weight * np.sin(n * theta)))
        magnitudes[i] = abs(total) / max(weight.sum(), 1e-9)
        phases[i] = np.angle(total)
    return magnitudes, phases


def wall_mask(frames: np.ndarray, saturation: np.ndarray) -> np.ndarray:
    """Pixels of the wall's brick colour (its mortar lines included)."""
    pixels = frames.astype(np.int16)
    brick = np.asarray(OCCLUDER_COLOUR, np.int16)
    mortar = np.round(0.82 * brick).astype(np.int16)
    close = (np.abs(pixels - brick).max(axis=-1) < 26) | (np.abs(pixels - mortar).max(axis=-1) < 20)
    return close & (saturation < 0.45)


def find_wall(walls: np.ndarray) -> np.ndarray:
    """Left and right edges (widths) of a wall standing on the floor, per frame; NaN where none is seen."""
    num_frames, height, width = walls.shape
    filled = walls[:, int(0.2 * height) : int(0.8 * height)].mean(axis=1) > 0.6  # (T, W) columns mostly wall-coloured
    edges = np.full((num_frames, 2), np.nan)
    for frame in range(num_frames):
        columns = np.flatnonzero(filled[frame])
        if len(columns) >= max(2, width // 40):
            edges[frame] = (columns.min() / width, (columns.max() + 1) / width)
    if np.mean(~np.isnan(edges[:, 0])) < 0.5:
        edges[:] = np.nan
    return edges


def estimate_pan(frames: np.ndarray, fps: float, max_shift: int = 4) -> tuple[float, float]:
    """Screen velocity (widths/s) of the ground band and how clearly it was seen (grey levels).

    For each trial shift, the median absolute difference between frames a few apart, one of them
    shifted: the median ignores the minority of pixels that move otherwise (shadows, snow, rain).
    """
    num_frames, height, width, _ = frames.shape
    band = frames[:, int(np.ceil(FLOOR_Y * height)) + 1 : height - 1].astype(np.float32).mean(axis=-1)
    if num_frames < 2 or band.shape[1] == 0 or width <= 2 * max_shift:
        return 0.0, 0.0
    expected_step = PAN_SPEED * width / fps  # pixels per frame of a pan
    stride = int(min(num_frames - 1, max(1, round(1.5 / expected_step))))
    later, earlier = band[stride:], band[:-stride]
    shifts = np.arange(-max_shift, max_shift + 1)
    core = slice(max_shift, width - max_shift)
    curve = np.array([
        np.median(np.abs(later[:, :, core] - earlier[:, :, max_shift - shift : width - max_shift - shift]))
        for shift in shifts
    ])
    best = int(np.argmin(curve))
    offset = 0.0
    if 0 < best < len(shifts) - 1:  # equiangular (V-shaped) sub-pixel fit
        left, mid, right = curve[best - 1 : best + 2]
        offset = 0.5 * (left - right) / max(max(left, right) - mid, 1e-9)
    contrast = float(curve.mean() - curve[best])
    return float((shifts[best] + offset) / stride * fps / width), contrast


def background_features(frames: np.ndarray, exclude: np.ndarray) -> np.ndarray:
    """Median colour of four horizontal bands plus stripe contrast: a background descriptor for nearest-template matching."""
    num_frames, height, width, _ = frames.shape
    step = max(1, num_frames // 5)
    sample, skip = frames[::step].astype(np.float32), exclude[::step]
    bounds = (0.0, 0.2, 0.42, FLOOR_Y, 1.0)
    features = []
    for top, bottom in zip(bounds[:-1], bounds[1:]):
        rows = slice(int(top * height), max(int(top * height) + 1, int(bottom * height)))
        pixels = sample[:, rows][~skip[:, rows]]
        features.extend(np.median(pixels, axis=0) if len(pixels) else (0.0, 0.0, 0.0))
    middle = sample[:, int(0.45 * height) : int(0.8 * height)].mean(axis=-1)  # (t, rows, W)
    columns = np.median(middle, axis=1)  # (t, W)
    features.append(3.0 * float(np.median(np.abs(np.diff(columns, axis=1)).mean(axis=1))))
    return np.asarray(features, np.float32)
