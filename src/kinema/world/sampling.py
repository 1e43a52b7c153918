"""Drawing random scenes from a seed: the training stream, test fixtures and eval prompts.

Every draw keeps all objects inside the frame for the whole duration it is laid out for, at any
aspect ratio, and respects the held-out combinations (excluded from training, or only those).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinema.world.heldout import HELDOUT_TRIPLES, is_heldout
from kinema.world.motion import HALF_WIDTH, REACH, object_track, pan_velocity
from kinema.world.spec import (
    BACKGROUNDS,
    COLOURS,
    DIRECTIONS,
    FLOOR_Y,
    MOTIONS,
    PANNABLE_BACKGROUNDS,
    SHAPES,
    SIZES,
    SPEEDS,
    ObjectSpec,
    Occluder,
    SceneSpec,
)

TOP_Y = 0.06  # objects stay below this line (heights)
EDGE_MARGIN = 0.015  # keeps anti-aliased edges off the outermost pixel rows and columns
HELDOUT_POLICIES = ("exclude", "only", "allow")


@dataclass(frozen=True)
class WorldDistribution:
    """What the sampler draws from; narrow it for a curriculum (one object, fewer motions)."""

    object_counts: tuple[int, ...] = (1, 2, 3)
    object_count_weights: tuple[float, ...] = (0.5, 0.3, 0.2)
    shapes: tuple[str, ...] = SHAPES
    colours: tuple[str, ...] = tuple(COLOURS)
    sizes: tuple[str, ...] = tuple(SIZES)
    motions: tuple[str, ...] = MOTIONS
    backgrounds: tuple[str, ...] = BACKGROUNDS
    p_occluder: float = 0.4  # chance of trying a wall; about 1 in 5 drawn objects fits one (about 8% of scenes)
    p_camera_pan: float = 0.2
    p_weather: float = 0.15
    heldout: str = "exclude"  # "exclude": never a held-out combination; "only": the first object is one

    def __post_init__(self) -> None:
        if self.heldout not in HELDOUT_POLICIES:
            raise ValueError(f"heldout must be one of {HELDOUT_POLICIES}; got {self.heldout!r}")
        if len(self.object_counts) != len(self.object_count_weights):
            raise ValueError("object_counts and object_count_weights must have the same length")


def sample_scene(seed: int | np.random.Generator, duration: float = 2.125, dist: WorldDistribution = WorldDistribution()) -> SceneSpec:
    """Draw one scene laid out to stay in frame for `duration` seconds; the same seed gives the same scene."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    background = pick(rng, dist.backgrounds)
    pan = "none"
    if background in PANNABLE_BACKGROUNDS and rng.random() < dist.p_camera_pan:
        pan = pick(rng, ("left", "right"))
    weather = pick(rng, ("snow", "rain")) if rng.random() < dist.p_weather else "none"
    weights = np.asarray(dist.object_count_weights) / sum(dist.object_count_weights)
    count = int(rng.choice(dist.object_counts, p=weights))
    times = np.linspace(0.0, duration, max(9, int(duration * 8) + 1))
    objects: list[ObjectSpec] = []
    occluder = None
    if rng.random() < dist.p_occluder:
        occluded = sample_occluded_object(rng, dist, times, pan)
        if occluded is not None:
            objects.append(occluded[0])
            occluder = occluded[1]
    while len(objects) < count:
        attempts = 60 if objects else 600  # a scene needs its first object; later ones may give up
        obj = sample_object(rng, dist, times, pan, objects, occluder, dist.heldout == "only" and not objects, attempts)
        if obj is None:
            break
        objects.append(obj)
    if not objects:
        raise RuntimeError(f"could not place any object for duration {duration} s; shorten the duration or widen the distribution")
    scene_seed = int(rng.integers(0, 2**31 - 1))
    return SceneSpec(tuple(objects), background, pan, weather, occluder, scene_seed, duration)


def pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    """One option, uniformly (faster than rng.choice on a list of strings)."""
    return options[int(rng.integers(len(options)))]


def sample_object(
    rng: np.random.Generator,
    dist: WorldDistribution,
    times: np.ndarray,
    pan: str,
    taken: list[ObjectSpec],
    occluder: Occluder | None = None,
    want_heldout: bool = False,
    attempts: int = 60,
) -> ObjectSpec | None:
    """Draw an object that stays in frame, never touches another, starts clear of the wall and honours the held-out policy."""
    used = {obj.colour for obj in taken}
    colours = [c for c in dist.colours if c not in used]
    if not colours:
        return None
    others = [footprint(obj, times, pan) for obj in taken]
    triples = [t for t in sorted(HELDOUT_TRIPLES) if t[0] in colours and t[1] in dist.shapes and t[2] in dist.motions]
    if want_heldout and not triples:
        return None
    for attempt in range(attempts):
        if want_heldout:  # draw the held-out triple directly: rejection would rarely hit one
            colour, shape, motion = triples[int(rng.integers(len(triples)))]
            size = pick(rng, dist.sizes)
        else:
            # The look (shape, colour, size) is kept for many tries while only the motion is redrawn, so
            # crowded or long scenes do not strongly favour small, round, easy-to-place objects.
            if attempt % 20 == 0:
                shape, colour, size = pick(rng, dist.shapes), pick(rng, colours), pick(rng, dist.sizes)
            motion = pick(rng, dist.motions)
            if not heldout_allowed(dist.heldout, False, colour, shape, motion):
                continue
        obj = place_object(rng, shape, colour, size, motion, times, pan, others, occluder)
        if obj is not None:
            return obj
    return None


def heldout_allowed(policy: str, want_heldout: bool, colour: str, shape: str, motion: str) -> bool:
    """Whether a drawn (colour, shape, motion) may enter the scene under the held-out policy."""
    held = is_heldout(colour, shape, motion)
    if policy == "exclude":
        return not held
    if want_heldout:
        return held
    return policy == "allow" or not held


def footprint(obj: ObjectSpec, times: np.ndarray, pan: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Screen centre and reach (an upper bound in widths and in heights) of an object over time."""
    track = object_track(obj, times, pan)
    return track.x, track.y, SIZES[obj.size] * REACH[obj.shape] * track.scale


def place_object(
    rng: np.random.Generator,
    shape: str,
    colour: str,
    size: str,
    motion: str,
    times: np.ndarray,
    pan: str,
    others: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = (),
    occluder: Occluder | None = None,
    candidates: int = 24,
) -> ObjectSpec | None:
    """Pick motion details and a start centre keeping the object in frame and clear of others; None if none fits.

    Clearance is tested per axis in frame units, which bounds the pixel distance from below at any
    aspect ratio, so objects never touch and each stays whole and trackable (the checker relies on it).
    """
    if motion == "spin" and shape == "circle":
        return None  # a spinning disc looks exactly like a still one
    size = {"grow": "medium" if size == "large" else size, "shrink": "medium" if size == "small" else size}.get(motion, size)
    speed = pick(rng, tuple(SPEEDS)) if motion in DIRECTIONS else None
    details = dict(
        bounce_height=float(rng.uniform(0.2, 0.45)),
        phase=float(rng.uniform(0, 1)),
        turn=1 if rng.random() < 0.5 else -1,
        circle_radius=float(rng.uniform(0.12, 0.2)),
    )
    for candidate_speed in ([speed, "slow"] if speed == "fast" else [speed]):
        probe = ObjectSpec(shape, colour, size, motion, candidate_speed, 0.0, 0.0, **details)
        rel_x, rel_y, reach = footprint(probe, times, pan)  # path relative to the start centre
        box = start_box(probe, rel_x, rel_y, reach)
        if box is None:
            continue
        xs = rng.uniform(box[0], box[1], candidates)[:, None]  # (K, 1)
        ys = rng.uniform(box[2], box[3], candidates)[:, None]
        clear = np.ones(candidates, bool)
        for other_x, other_y, other_reach in others:
            gap = np.maximum(np.abs(xs + rel_x - other_x), np.abs(ys + rel_y - other_y))  # (K, T)
            clear &= np.all(gap >= reach + other_reach + 0.01, axis=1)
        if occluder is not None:
            clear &= np.abs(xs[:, 0] + rel_x[0] - occluder.x) >= occluder.width / 2.0 + reach[0] + 0.01
        if clear.any():
            k = int(np.argmax(clear))
            return ObjectSpec(shape, colour, size, motion, candidate_speed, float(xs[k, 0]), float(ys[k, 0]), **details)
    return None


def start_box(probe: ObjectSpec, rel_x: np.ndarray, rel_y: np.ndarray, reach: np.ndarray) -> tuple[float, float, float, float] | None:
    """Range of start centres (x_low, x_high, y_low, y_high) keeping the whole path inside the frame."""
    reach = reach + EDGE_MARGIN
    x_low, x_high = float(np.max(reach - rel_x)), float(np.min(1.0 - reach - rel_x))
    y_low, y_high = float(np.max(TOP_Y + reach - rel_y)), float(np.min(FLOOR_Y + EDGE_MARGIN - reach - rel_y))
    if probe.motion == "bounce":  # height is set by the floor, not by the start
        y_low = y_high = 0.0
        if float(np.min(rel_y - reach)) < TOP_Y:
            return None
    if x_low > x_high or y_low > y_high:
        return None
    return x_low, x_high, y_low, y_high


def in_frame(obj: ObjectSpec, times: np.ndarray, pan: str) -> bool:
    """True when the object's whole extent stays inside the frame at every time, at any aspect ratio."""
    track = object_track(obj, times, pan)
    reach = SIZES[obj.size] * REACH[obj.shape] * track.scale  # an upper bound in widths and in heights
    return bool(
        np.all(track.x - reach >= EDGE_MARGIN)
        and np.all(track.x + reach <= 1.0 - EDGE_MARGIN)
        and np.all(track.y - reach >= TOP_Y)
        and np.all(track.y + reach <= FLOOR_Y + 1e-6)
    )


def sample_occluded_object(rng, dist: WorldDistribution, times: np.ndarray, pan: str) -> tuple[ObjectSpec, Occluder] | None:
    """An object moving left or right that passes fully behind a wall placed on its path mid-clip."""
    sideways = [m for m in ("left", "right") if m in dist.motions]
    sizes = [s for s in ("small", "medium") if s in dist.sizes]
    if not sideways or not sizes:
        return None
    # One draw: when the drawn object cannot pass behind a wall in this clip, the scene has no wall,
    # which keeps the shapes and sizes of occluded objects as uniform as everyone else's.
    shape, colour, motion, size = pick(rng, dist.shapes), pick(rng, dist.colours), pick(rng, sideways), pick(rng, sizes)
    if not heldout_allowed(dist.heldout, dist.heldout == "only", colour, shape, motion):
        return None
    for speed in ("fast", "slow"):
        placed = place_behind_wall(rng, ObjectSpec(shape, colour, size, motion, speed, 0.5, 0.5), times, pan)
        if placed is not None:
            return placed
    return None


def place_behind_wall(rng, probe: ObjectSpec, times: np.ndarray, pan: str) -> tuple[ObjectSpec, Occluder] | None:
    """Centre the object's path on the frame and put the wall where it is mid-clip; None unless it starts and ends clear."""
    duration = float(times[-1])
    half = SIZES[probe.size] * HALF_WIDTH[probe.shape]  # horizontal half-extent of the upright shape
    wall = 2.0 * half + 0.06  # wider than the object: fully hidden for 0.3 s at fast speed
    mid = float(np.interp(duration / 2, times, object_track(probe, times, pan).x))
    radius = SIZES[probe.size] * REACH[probe.shape]
    y0 = float(rng.uniform(Occluder.top + radius + 0.02, FLOOR_Y - radius))  # fully below the wall's top
    obj = ObjectSpec(probe.shape, probe.colour, probe.size, probe.motion, probe.speed, probe.x + 0.5 - mid, y0)
    if not in_frame(obj, times, pan):
        return None
    track = object_track(obj, times, pan)
    wall_world = float(track.x[np.argmin(np.abs(times - duration / 2))]) - pan_velocity(pan) * duration / 2
    wall_screen = wall_world + pan_velocity(pan) * times
    clear = wall / 2.0 + half + 0.01
    if abs(track.x[0] - wall_screen[0]) < clear or abs(track.x[-1] - wall_screen[-1]) < clear:
        return None
    return obj, Occluder(x=wall_world, width=wall)
