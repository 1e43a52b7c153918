"""Turning measurements into the world's vocabulary: shape, size, motion, speed, background, camera pan.

Thresholds sit halfway (geometrically) between the world's defined values, and were checked
against ground-truth renders (see tests/test_checker.py and benchmarks/checker_validation.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from kinema.evaluation.observe import HARMONICS, Observation, ObjectTrack, background_features
from kinema.world import backgrounds
from kinema.world.spec import BACKGROUNDS, PAN_SPEED, PARALLAX_FAR, SIZES, SPEEDS

# Harmonic magnitude of each shape's own symmetry, measured on clean renders (3: triangle, 4: square, 5: star).
SHAPE_HARMONIC = {"triangle": (0, 0.655), "square": (1, 0.43), "star": (2, 0.82)}
ROUND_BELOW = 0.45  # relative harmonic strength under which a blob is a circle
SIZE_EDGES = (math.sqrt(SIZES["small"] * SIZES["medium"]), math.sqrt(SIZES["medium"] * SIZES["large"]))
SPEED_EDGE = math.sqrt(SPEEDS["slow"] * SPEEDS["fast"])
MOVING_SPEED = 0.035  # widths/s below which an object is not travelling
PAN_EDGE = 0.4 * PAN_SPEED
MIN_PAN_TEXTURE = 1.0
OCTANTS = ("right", "down-right", "down", "down-left", "left", "up-left", "up", "up-right")


@dataclass(frozen=True)
class Motion:
    """An object's motion as judged from its track, with the measured numbers behind the judgement."""

    motion: str  # one of MOTIONS, or "unknown" when too little of the track is visible
    speed: str | None
    velocity: tuple[float, float]  # world-frame widths/s, heights/s (camera pan removed)
    growth: float  # log2 area change per second


def whole_frames(track: ObjectTrack) -> np.ndarray:
    """Frames where the object is seen (nearly) whole."""
    return track.visible & (track.area >= 0.8 * track.unhidden_area)


def classify_shape(track: ObjectTrack) -> str:
    """Circle, square, triangle or star from the blob's angular harmonics in frames where it is whole."""
    harmonics = np.nanmean(track.harmonics[whole_frames(track)], axis=0)
    strength = {shape: harmonics[index] / reference for shape, (index, reference) in SHAPE_HARMONIC.items()}
    best = max(strength, key=strength.get)
    return best if strength[best] >= ROUND_BELOW else "circle"


def classify_size(track: ObjectTrack) -> str:
    """Size class from the equal-area radius at the first frame the object is seen (unhidden area)."""
    first = int(np.flatnonzero(track.visible)[0])
    radius = math.sqrt(float(track.unhidden_area[first]) / math.pi)
    if radius < SIZE_EDGES[0]:
        return "small"
    return "medium" if radius < SIZE_EDGES[1] else "large"


def classify_motion(track: ObjectTrack, fps: float, pan_velocity: float) -> Motion:
    """Still, a direction (+ speed), bounce, circle, grow, shrink or spin, judged in the world frame."""
    times = np.arange(len(track.area)) / fps
    whole = whole_frames(track)
    if whole.sum() < 3:
        return Motion("unknown", None, (0.0, 0.0), 0.0)
    t = times[whole]
    x = track.x[whole] - pan_velocity * t  # undo the camera pan: objects move with the near layer
    y = track.y[whole]
    growth = float(np.polyfit(t, np.log2(track.area[whole]), 1)[0])
    vx, vy = float(np.polyfit(t, x, 1)[0]), float(np.polyfit(t, y, 1)[0])
    velocity = (vx, vy)
    if is_circling(x, y):
        return Motion("circle", None, velocity, growth)
    if is_bouncing(x, y):
        return Motion("bounce", None, velocity, growth)
    speed = math.hypot(vx, vy)
    # Travel is judged before size change: growing and shrinking happen in place, while a travelling
    # object partly hidden by the wall or the frame edge only seems to shrink.
    if speed >= MOVING_SPEED:
        octant = int(round(math.atan2(vy, vx) / (math.pi / 4))) % 8
        return Motion(OCTANTS[octant], "slow" if speed < SPEED_EDGE else "fast", velocity, growth)
    if growth > 1.0 / 3.0:
        return Motion("grow", None, velocity, growth)
    if growth < -1.0 / 3.0:
        return Motion("shrink", None, velocity, growth)
    if spin_rate(track, fps) > 0.5:
        return Motion("spin", None, velocity, growth)
    return Motion("still", None, velocity, growth)


def is_circling(x: np.ndarray, y: np.ndarray) -> bool:
    """A path that sweeps more than half a turn around a fitted centre at a steady radius."""
    if np.ptp(x) < 0.08 or np.ptp(y) < 0.08:
        return False
    # Algebraic circle fit: x^2 + y^2 = a x + b y + c.
    design = np.stack([x, y, np.ones_like(x)], axis=1)
    a, b, c = np.linalg.lstsq(design, x * x + y * y, rcond=None)[0]
    cx, cy = a / 2, b / 2
    radius = math.sqrt(max(c + cx * cx + cy * cy, 0.0))
    distance = np.hypot(x - cx, y - cy)
    if not 0.05 < radius < 0.4 or np.abs(distance - radius).max() > 0.3 * radius:
        return False
    sweep = np.abs(np.diff(np.unwrap(np.arctan2(y - cy, x - cx)))).sum()
    return sweep > math.pi


def is_bouncing(x: np.ndarray, y: np.ndarray) -> bool:
    """Up and down on one spot: some frame is lower than frames both before and after it by a clear margin."""
    if np.ptp(y) < 0.08 or np.ptp(x) > 0.06 or len(y) < 3:
        return False
    rise_before = y[1:-1] - np.minimum.accumulate(y)[:-2]  # y grows downwards
    rise_after = y[1:-1] - np.minimum.accumulate(y[::-1])[::-1][2:]
    return bool(np.any((rise_before > 0.05) & (rise_after > 0.05)))


def spin_rate(track: ObjectTrack, fps: float) -> float:
    """Median turning speed (radians/s) of the blob's dominant symmetry, 0 for a round blob."""
    whole = whole_frames(track)
    relative = np.nanmean(track.harmonics[whole], axis=0) / np.asarray([ref for _, ref in SHAPE_HARMONIC.values()])
    index = int(np.argmax(relative))
    if relative[index] < ROUND_BELOW:
        return 0.0
    order = HARMONICS[index]
    frames = np.flatnonzero(whole & ~np.isnan(track.orientation[:, index]))
    if len(frames) < 3:
        return 0.0
    # Steady turning in one direction: the slope of the unwrapped symmetry phase, in object radians per second.
    angle = np.unwrap(track.orientation[frames, index]) / order
    return float(abs(np.polyfit(frames / fps, angle, 1)[0]))


def classify_pan(observation: Observation) -> str:
    """Camera pan direction: the ground slides right when the camera pans left."""
    if observation.pan_texture < MIN_PAN_TEXTURE or abs(observation.pan_velocity) < PAN_EDGE:
        return "none"
    return "left" if observation.pan_velocity > 0 else "right"


def classify_background(observation: Observation) -> str:
    """Nearest background template (band colours and stripe contrast) at the clip's size."""
    templates = background_templates(observation.height, observation.width)
    distances = {name: float(np.linalg.norm(observation.band_features - feature)) for name, feature in templates.items()}
    return min(distances, key=distances.get)


@lru_cache(maxsize=16)
def background_templates(height: int, width: int) -> dict[str, np.ndarray]:
    """Descriptor of every background rendered empty at this size."""
    templates = {}
    for name in BACKGROUNDS:
        canvas = backgrounds.background(name, 0, height, width, np.zeros(1), PARALLAX_FAR)
        frames = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
        templates[name] = background_features(frames, np.zeros(frames.shape[:3], bool))
    return templates
