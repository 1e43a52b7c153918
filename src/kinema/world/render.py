"""Numpy renderer: a SceneSpec to uint8 frames (T, H, W, 3) at any size, frame count and frame rate.

Layers, back to front: the far layer (sky, clouds, stars, stripes; parallax during a pan), the
near ground band, soft ground shadows, the objects (anti-aliased signed-distance shapes with
light shading), the wall, falling snow or rain. Every layer is vectorised over time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kinema.world import backgrounds
from kinema.world.motion import REACH, object_track, pan_velocity
from kinema.world.spec import COLOURS, FLOOR_Y, OCCLUDER_COLOUR, PARALLAX_FAR, SIZES, ObjectSpec, SceneSpec

STAR_INNER_RATIO = 0.45


def check_render_size(num_frames: int, height: int, width: int, fps: float) -> None:
    """Raise a ValueError naming the bad value when a render request is outside what the world supports."""
    if num_frames < 1 or (num_frames - 1) % 4 != 0:
        raise ValueError(f"num_frames must be 1 + 4k (e.g. 1, 17, 33); got {num_frames}")
    for name, value in (("height", height), ("width", width)):
        if value < 16 or value % 16 != 0:
            raise ValueError(f"{name} must be a multiple of 16 and at least 16 (e.g. 64, 80, 128); got {value}")
    if not fps > 0:
        raise ValueError(f"fps must be positive; got {fps}")


def frame_times(num_frames: int, fps: float) -> np.ndarray:
    """Seconds at which each frame is sampled."""
    return np.arange(num_frames, dtype=np.float64) / fps


def render(spec: SceneSpec, num_frames: int = 17, height: int = 64, width: int = 64, fps: float = 8.0) -> np.ndarray:
    """Render `spec` to uint8 frames (num_frames, height, width, 3); the same spec gives the same pixels."""
    check_render_size(num_frames, height, width, fps)
    return render_frames(spec, frame_times(num_frames, fps), height, width)


def render_frames(spec: SceneSpec, times: np.ndarray, height: int, width: int) -> np.ndarray:
    """Render at arbitrary times (seconds) without the 1 + 4k check; used by tests and the checker's tools."""
    shift = pan_velocity(spec.camera_pan) * times * width  # near-layer screen shift, pixels (T,)
    canvas = backgrounds.background(spec.background, spec.seed, height, width, shift, PARALLAX_FAR)
    unit = min(height, width)
    tracks, radii = object_tracks(spec, times, height, width)
    for track, radius_px in zip(tracks, radii):
        draw_shadow(canvas, track, radius_px)
    for obj, track, radius_px in zip(spec.objects, tracks, radii):
        draw_object(canvas, obj, track, radius_px)
    if spec.occluder is not None:
        draw_wall(canvas, spec.occluder.x, spec.occluder.width * unit, spec.occluder.top, shift)
    if spec.weather != "none":
        backgrounds.draw_weather(canvas, spec.weather, spec.seed, times)
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


def object_tracks(spec: SceneSpec, times: np.ndarray, height: int, width: int) -> tuple[list, list[float]]:
    """Each object's track over `times` and its radius in pixels."""
    radii = [SIZES[obj.size] * min(height, width) for obj in spec.objects]
    tracks = [object_track(obj, times, spec.camera_pan, radius_y=r / height) for obj, r in zip(spec.objects, radii)]
    return tracks, radii


def object_coverage(spec: SceneSpec, num_frames: int = 17, height: int = 64, width: int = 64,
                    fps: float = 8.0) -> np.ndarray:
    """How much of each pixel the scene's objects cover, float32 (T, H, W) in [0, 1], drawn as `render` draws them.

    Walls and weather in front are ignored: this says where the objects are, so training can weigh
    their pixels (kinema.training.trainer.object_weights).
    """
    check_render_size(num_frames, height, width, fps)
    coverage = np.zeros((num_frames, height, width), np.float32)
    tracks, radii = object_tracks(spec, frame_times(num_frames, fps), height, width)
    for obj, track, radius_px in zip(spec.objects, tracks, radii):
        footprint = object_footprint(obj, track, radius_px, height, width)
        if footprint is not None:
            coverage[footprint.index] = np.maximum(coverage[footprint.index], footprint.coverage)
    return coverage


def shape_distance(shape: str, px: np.ndarray, py: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Signed distance (pixels, negative inside) to an upright shape of equal-area radius `radius`."""
    if shape == "circle":
        return np.sqrt(px * px + py * py) - radius
    if shape == "square":
        half = radius * (math.sqrt(math.pi) / 2.0)
        return np.maximum(np.abs(px), np.abs(py)) - half
    if shape == "triangle":
        apothem = radius * REACH["triangle"] / 2.0
        # Apex up: edge normals point down, up-right and up-left.
        return np.maximum(np.maximum(py, 0.8660254 * px - 0.5 * py), -0.8660254 * px - 0.5 * py) - apothem
    if shape == "star":
        return star_distance(px, py, radius * REACH["star"])
    raise ValueError(f"unknown shape {shape!r}")


def star_distance(px: np.ndarray, py: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """Signed distance to an upright five-pointed star: fold into one half-spike, then distance to its edge."""
    sector = 2.0 * math.pi / 5.0
    theta = np.arctan2(px, -py)  # 0 points up
    folded = np.abs(np.mod(theta + sector / 2.0, sector) - sector / 2.0)
    r = np.sqrt(px * px + py * py)
    qx, qy = r * np.cos(folded), r * np.sin(folded)
    inner = outer * STAR_INNER_RATIO
    bx, by = inner * math.cos(sector / 2.0), inner * math.sin(sector / 2.0)
    ex, ey = bx - outer, by  # edge from the tip (outer, 0) to the inner vertex
    wx, wy = qx - outer, qy
    h = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
    dist = np.sqrt((wx - ex * h) ** 2 + (wy - ey * h) ** 2)
    outside = ex * wy - ey * wx < 0  # on the far side of the edge from the centre
    return np.where(outside, dist, -dist)


def frame_windows(centre: np.ndarray, reach: float, size: int) -> tuple[np.ndarray, int]:
    """Per-frame start index of a fixed-size window around each centre, kept inside [0, size); and its length."""
    length = int(min(size, math.ceil(2.0 * reach) + 4))
    start = np.clip(np.floor(centre - reach) - 2, 0, size - length).astype(np.int64)
    return start, length


@dataclass(frozen=True)
class Footprint:
    """Where one object lies in each frame, in a window that follows it."""

    index: tuple  # indexes (T, h, w) of the canvas
    coverage: np.ndarray  # (T, h, w) anti-aliased, in [0, 1]
    xs: np.ndarray  # (T, 1, w) pixel offsets from the centre
    ys: np.ndarray  # (T, h, 1)
    radius: np.ndarray  # (T, 1, 1) pixels


def object_footprint(obj: ObjectSpec, track, radius_px: float, height: int, width: int) -> Footprint | None:
    """One object's footprint, or None when it is off screen in every frame."""
    num_frames = len(track.x)
    reach = radius_px * REACH[obj.shape] * track.scale  # (T,)
    cx, cy = track.x * width - 0.5, track.y * height - 0.5  # pixel centres
    if np.all((cx + reach < -1) | (cx - reach > width) | (cy + reach < -1) | (cy - reach > height)):
        return None
    x0, w = frame_windows(cx, float(reach.max()), width)
    y0, h = frame_windows(cy, float(reach.max()), height)
    cols = x0[:, None] + np.arange(w)  # (T, w)
    rows = y0[:, None] + np.arange(h)  # (T, h)
    xs = (cols - cx[:, None]).astype(np.float32)[:, None, :]  # (T, 1, w)
    ys = (rows - cy[:, None]).astype(np.float32)[:, :, None]  # (T, h, 1)
    cos = np.cos(track.angle).astype(np.float32)[:, None, None]
    sin = np.sin(track.angle).astype(np.float32)[:, None, None]
    px, py = xs * cos + ys * sin, ys * cos - xs * sin  # (T, h, w) in the object's frame
    radius = (radius_px * track.scale).astype(np.float32)[:, None, None]
    coverage = np.clip(0.5 - shape_distance(obj.shape, px, py, radius), 0.0, 1.0)  # (T, h, w)
    index = (np.arange(num_frames)[:, None, None], rows[:, :, None], cols[:, None, :])
    return Footprint(index, coverage, xs, ys, radius)


def draw_object(canvas: np.ndarray, obj: ObjectSpec, track, radius_px: float) -> None:
    """Composite one shaded, anti-aliased object into canvas (T, H, W, 3) in place, in a window that follows it."""
    footprint = object_footprint(obj, track, radius_px, canvas.shape[1], canvas.shape[2])
    if footprint is None:
        return
    xs, ys, radius = footprint.xs, footprint.ys, footprint.radius
    # Light from the upper left: brighter there, darker at the lower right, hue unchanged.
    shade = 1.1 - 0.28 * np.clip(((xs + 0.4 * radius) ** 2 + (ys + 0.4 * radius) ** 2) / (2.0 * radius * radius), 0, 1)
    colour = np.asarray(COLOURS[obj.colour], dtype=np.float32)
    alpha = footprint.coverage[..., None]
    drawn = alpha * np.minimum(shade[..., None] * colour, 255.0)
    canvas[footprint.index] = canvas[footprint.index] * (1.0 - alpha) + drawn


def draw_shadow(canvas: np.ndarray, track, radius_px: float) -> None:
    """Darken a soft ellipse on the floor under an object; fainter the higher the object flies."""
    num_frames, height, width, _ = canvas.shape
    floor_px = FLOOR_Y * height
    reach = radius_px * track.scale
    rx = (1.1 * reach).astype(np.float32)[:, None, None]
    ry = np.maximum(0.28 * reach, 1.0).astype(np.float32)[:, None, None]
    y0 = int(max(0, math.floor(floor_px - 0.5 * radius_px * 1.6)))
    y1 = int(min(height, math.ceil(floor_px + 0.9 * radius_px * 1.6 + 2)))
    if y0 >= y1:
        return
    lift = np.clip((floor_px - track.y * height - reach) / (0.5 * height), 0.0, 1.0)
    opacity = (0.38 * (1.0 - lift)).astype(np.float32)[:, None, None]
    centre = track.x * width - 0.5
    x0 = int(max(0, math.floor((centre - 2.5 * 1.1 * reach).min())))
    x1 = int(min(width, math.ceil((centre + 2.5 * 1.1 * reach).max()) + 1))
    if x0 >= x1:
        return
    xs = np.arange(x0, x1, dtype=np.float32)[None, None, :] - centre.astype(np.float32)[:, None, None]
    ys = np.arange(y0, y1, dtype=np.float32)[None, :, None] - (floor_px + 0.15 * radius_px)
    # Cut off per frame (not at the clip's box), so a frame's pixels never depend on the other frames rendered.
    shadow = opacity * np.exp(-1.5 * ((xs / rx) ** 2 + (ys / ry) ** 2)) * (np.abs(xs) < 2.5 * rx)  # (T, h, W)
    canvas[:, y0:y1, x0:x1] *= 1.0 - shadow[..., None]


def draw_wall(canvas: np.ndarray, centre_x: float, wall_px: float, top: float, shift: np.ndarray) -> None:
    """Composite the brick wall (in the near layer, so it pans with the objects)."""
    num_frames, height, width, _ = canvas.shape
    floor_px = FLOOR_Y * height
    left = (centre_x * width + shift - 0.5 * wall_px).astype(np.float32)[:, None]  # (T, 1)
    xs = np.arange(width, dtype=np.float32)[None, :]
    cover_x = np.clip(np.minimum(xs + 1.0 - left, left + wall_px - xs), 0.0, 1.0)  # (T, W)
    ys = np.arange(height, dtype=np.float32)
    cover_y = np.clip(np.minimum(ys + 1.0 - top * height, floor_px + 1.0 - ys), 0.0, 1.0)  # (H,)
    brick_rows = np.mod(ys / height, 0.07) < 0.012
    texture = np.where(brick_rows, 0.82, 1.0).astype(np.float32)[:, None, None] * np.asarray(OCCLUDER_COLOUR, np.float32)
    alpha = (cover_y[None, :, None] * cover_x[:, None, :])[..., None]  # (T, H, W, 1)
    canvas *= 1.0 - alpha
    canvas += alpha * texture[None]
