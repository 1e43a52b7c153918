"""Continuous-time motion of objects and camera: where everything is at time t seconds.

Everything is a closed-form function of time, so a scene renders identically at any frame
rate and frame count, and the checker can compare measured tracks with the truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kinema.world.spec import (
    BOUNCE_PERIOD,
    CIRCLE_RADIANS_PER_SECOND,
    DIRECTIONS,
    FLOOR_Y,
    PAN_SPEED,
    SCALE_DOUBLING_SECONDS,
    SIZES,
    SPEEDS,
    SPIN_RADIANS_PER_SECOND,
    ObjectSpec,
)

# Circumradius over equal-area radius, per shape: how far a shape reaches from its centre.
REACH: dict[str, float] = {
    "circle": 1.0,
    "square": math.sqrt(math.pi / 2.0),
    "triangle": math.sqrt(4.0 * math.pi / (3.0 * math.sqrt(3.0))),
    "star": 1.541,
}


@dataclass(frozen=True)
class Track:
    """An object's screen state at each requested time: centre (widths, heights), scale, angle."""

    x: np.ndarray  # (T,)
    y: np.ndarray  # (T,)
    scale: np.ndarray  # (T,) multiplies the equal-area radius
    angle: np.ndarray  # (T,) radians, clockwise on screen


def pan_velocity(camera_pan: str) -> float:
    """Screen velocity (widths/s) of the near layer and the objects caused by the camera pan."""
    return {"none": 0.0, "left": PAN_SPEED, "right": -PAN_SPEED}[camera_pan]


def direction_velocity(motion: str, speed: str) -> tuple[float, float]:
    """Velocity (frame units/s) of a directional motion; diagonals keep the same speed."""
    dx, dy = DIRECTIONS[motion]
    norm = math.hypot(dx, dy)
    return SPEEDS[speed] * dx / norm, SPEEDS[speed] * dy / norm


def scale_at(obj: ObjectSpec, times: np.ndarray) -> np.ndarray:
    """Size multiplier over time: exponential growth or shrinkage, else constant."""
    if obj.motion == "grow":
        return np.exp2(times / SCALE_DOUBLING_SECONDS)
    if obj.motion == "shrink":
        return np.exp2(-times / SCALE_DOUBLING_SECONDS)
    return np.ones_like(times)


def bounce_lift(obj: ObjectSpec, times: np.ndarray) -> np.ndarray:
    """Height above the floor contact (heights): parabolic arcs, i.e. gravity with elastic bounces."""
    u = np.mod(times / BOUNCE_PERIOD + obj.phase, 1.0)
    return 4.0 * obj.bounce_height * u * (1.0 - u)


def object_track(obj: ObjectSpec, times: np.ndarray, camera_pan: str = "none", radius_y: float | None = None) -> Track:
    """Screen track of one object; `radius_y` is its equal-area radius in heights (for the floor contact)."""
    times = np.asarray(times, dtype=np.float64)
    x = np.full_like(times, obj.x)
    y = np.full_like(times, obj.y)
    angle = np.zeros_like(times)
    if obj.motion in DIRECTIONS:
        vx, vy = direction_velocity(obj.motion, obj.speed or "slow")
        x = obj.x + vx * times
        y = obj.y + vy * times
    elif obj.motion == "bounce":
        reach = (radius_y if radius_y is not None else SIZES[obj.size]) * REACH_BOTTOM[obj.shape]
        y = FLOOR_Y - reach - bounce_lift(obj, times)
    elif obj.motion == "circle":
        theta = 2.0 * math.pi * obj.phase + obj.turn * CIRCLE_RADIANS_PER_SECOND * times
        x = obj.x + obj.circle_radius * np.cos(theta)
        y = obj.y + obj.circle_radius * np.sin(theta)
    elif obj.motion == "spin":
        angle = obj.turn * SPIN_RADIANS_PER_SECOND * times
    x = x + pan_velocity(camera_pan) * times
    return Track(x=x, y=y, scale=scale_at(obj, times), angle=angle)


# Distance from centre to the lowest point of the upright shape, over the equal-area radius.
REACH_BOTTOM: dict[str, float] = {
    "circle": 1.0,
    "square": math.sqrt(math.pi) / 2.0,
    "triangle": REACH["triangle"] / 2.0,
    "star": REACH["star"] * math.cos(math.pi / 5.0),
}

# Horizontal half-extent of the upright shape over the equal-area radius (how wide a wall must be to hide it).
HALF_WIDTH: dict[str, float] = {
    "circle": 1.0,
    "square": math.sqrt(math.pi) / 2.0,
    "triangle": REACH["triangle"] * math.sin(math.pi / 3.0),
    "star": REACH["star"] * math.sin(2.0 * math.pi / 5.0),
}
