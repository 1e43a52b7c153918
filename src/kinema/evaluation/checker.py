"""The analytic checker: judge a video of the world against a prompt, attribute by attribute.

It measures the video (observe.py), names what it sees in the world's vocabulary (classify.py),
pairs the prompt's objects with the seen ones (by colour when the prompt gives one) and returns
one verdict per attribute the prompt states. Attributes the prompt leaves open are not judged.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from kinema.evaluation.classify import (
    Motion,
    whole_frames,
    classify_background,
    classify_motion,
    classify_pan,
    classify_shape,
    classify_size,
)
from kinema.evaluation.observe import Observation, ObjectTrack, observe
from kinema.world.spec import DIRECTIONS, Attributes, SceneAttributes, SceneSpec, attributes_of

ATTRIBUTES = ("background", "count", "camera_pan", "occluder", "colour", "shape", "size", "motion", "speed", "consistency")
MIN_FRAMES_FOR_MOTION = 5


@dataclass(frozen=True)
class SeenObject:
    """One object as the checker names it."""

    colour: str
    shape: str
    size: str
    motion: str
    speed: str | None
    reappeared: bool  # hidden behind the wall and seen again
    consistent: bool  # visible whenever nothing hides it, and its size holds (unless it grows or shrinks)


@dataclass(frozen=True)
class Verdict:
    """One judged attribute; `object` is the index of the prompt's object, None for the scene."""

    attribute: str
    expected: str
    observed: str
    ok: bool
    object: int | None = None


@dataclass(frozen=True)
class CheckReport:
    """All verdicts for one video, and what was seen."""

    verdicts: tuple[Verdict, ...]
    seen: tuple[SeenObject, ...]
    background: str
    camera_pan: str
    wall: bool
    unknown_words: tuple[str, ...] = ()

    @property
    def all_ok(self) -> bool:
        return all(v.ok for v in self.verdicts)

    @property
    def accuracy(self) -> float:
        return sum(v.ok for v in self.verdicts) / max(len(self.verdicts), 1)

    def to_dict(self) -> dict:
        return {
            "all_ok": self.all_ok,
            "accuracy": self.accuracy,
            "verdicts": [asdict(v) for v in self.verdicts],
            "seen": [asdict(s) for s in self.seen],
            "background": self.background,
            "camera_pan": self.camera_pan,
            "wall": self.wall,
            "unknown_words": list(self.unknown_words),
        }


def check(frames: np.ndarray, expected: SceneAttributes | SceneSpec | str, fps: float = 8.0) -> CheckReport:
    """Judge uint8 frames (T, H, W, 3) against a prompt, a parsed prompt or a scene spec."""
    if isinstance(expected, str):
        from kinema.world.prompts import parse_prompt

        expected = parse_prompt(expected)
    elif isinstance(expected, SceneSpec):
        expected = attributes_of(expected)
    return judge(observe(frames, fps), expected)


def describe(observation: Observation) -> tuple[SeenObject, ...]:
    """Name every tracked object in the world's vocabulary."""
    judge_motion = observation.num_frames >= MIN_FRAMES_FOR_MOTION
    # Objects move with the ground layer, so a seen pan is removed from their tracks; an unseen one is not.
    pan_velocity = observation.pan_velocity if classify_pan(observation) != "none" else 0.0
    seen = []
    for track in observation.objects:
        motion = classify_motion(track, observation.fps, pan_velocity) if judge_motion else Motion("unknown", None, (0.0, 0.0), 0.0)
        seen.append(
            SeenObject(
                colour=track.colour,
                shape=classify_shape(track),
                size=classify_size(track),
                motion=motion.motion,
                speed=motion.speed,
                reappeared=reappeared_after_wall(track, observation.wall_columns),
                consistent=is_consistent(track, observation),
            )
        )
    return tuple(seen)


def judge(observation: Observation, expected: SceneAttributes) -> CheckReport:
    """Verdicts for every attribute `expected` states."""
    seen = describe(observation)
    background = classify_background(observation)
    moving = observation.num_frames >= MIN_FRAMES_FOR_MOTION
    camera_pan = classify_pan(observation) if moving else "unknown"
    wall = bool(np.any(~np.isnan(observation.wall_columns[:, 0])))
    verdicts: list[Verdict] = []
    if expected.background is not None:
        verdicts.append(Verdict("background", expected.background, background, expected.background == background))
    if expected.objects:
        verdicts.append(Verdict("count", str(len(expected.objects)), str(len(seen)), len(expected.objects) == len(seen)))
    if expected.camera_pan is not None and moving:
        verdicts.append(Verdict("camera_pan", expected.camera_pan, camera_pan, expected.camera_pan == camera_pan))
    if expected.occluder is not None:
        permanence = wall and any(s.reappeared for s in seen)
        observed = "reappeared" if permanence else ("wall" if wall else "none")
        verdicts.append(Verdict("occluder", "reappeared" if expected.occluder else "none", observed, permanence if expected.occluder else not wall))
    for index, (wanted, match) in enumerate(zip(expected.objects, match_objects(expected.objects, seen))):
        verdicts.extend(object_verdicts(index, wanted, match, moving))
    return CheckReport(tuple(verdicts), seen, background, camera_pan, wall, expected.unknown_words)


def object_verdicts(index: int, wanted: Attributes, match: SeenObject | None, moving: bool) -> list[Verdict]:
    """Verdicts for one prompted object against the seen object paired with it (None: nothing to pair)."""
    pairs = [("colour", wanted.colour), ("shape", wanted.shape), ("size", wanted.size)]
    if moving:
        pairs.append(("motion", wanted.motion))
        if wanted.motion in DIRECTIONS:
            pairs.append(("speed", wanted.speed))
    verdicts = []
    for attribute, value in pairs:
        if value is None:
            continue
        observed = "missing" if match is None else str(getattr(match, attribute))
        verdicts.append(Verdict(attribute, value, observed, observed == value, index))
    if match is not None and moving:
        verdicts.append(Verdict("consistency", "kept", "kept" if match.consistent else "broken", match.consistent, index))
    return verdicts


def match_objects(wanted: tuple[Attributes, ...], seen: tuple[SeenObject, ...]) -> list[SeenObject | None]:
    """Pair prompted objects with seen ones: by colour when given, else by most agreeing attributes."""
    free = list(seen)
    pairs: list[SeenObject | None] = [None] * len(wanted)
    for i, attrs in enumerate(wanted):
        if attrs.colour is not None:
            pairs[i] = next((s for s in free if s.colour == attrs.colour), None)
            if pairs[i] is not None:
                free.remove(pairs[i])
    for i, attrs in enumerate(wanted):
        if attrs.colour is None and free:
            pairs[i] = max(free, key=lambda s: agreement(attrs, s))
            free.remove(pairs[i])
    return pairs


def agreement(attrs: Attributes, seen: SeenObject) -> int:
    """How many stated attributes a seen object shares with a prompted one."""
    return sum(getattr(attrs, name) is not None and getattr(attrs, name) == getattr(seen, name) for name in ("shape", "size", "motion", "speed"))


def near_wall(track: ObjectTrack, wall_columns: np.ndarray) -> np.ndarray:
    """Frames where the object's last known position is within reach of the wall."""
    x = fill_gaps(track.x)
    reach = math.sqrt(track.full_area / math.pi) * 1.6
    left, right = fill_gaps(wall_columns[:, 0]), fill_gaps(wall_columns[:, 1])
    if np.all(np.isnan(left)):
        return np.zeros(len(x), bool)
    return (x > left - reach) & (x < right + reach)


def reappeared_after_wall(track: ObjectTrack, wall_columns: np.ndarray) -> bool:
    """Seen whole, then (mostly) hidden at the wall, then seen whole again."""
    if np.all(np.isnan(wall_columns[:, 0])):
        return False
    fraction = track.area / track.unhidden_area
    hidden = np.flatnonzero((fraction <= 0.35) & near_wall(track, wall_columns))
    if not len(hidden):
        return False
    before = np.any(fraction[: hidden[0]] >= 0.7)
    after = np.any(fraction[hidden[-1] + 1 :] >= 0.7)
    return bool(before and after)


def is_consistent(track: ObjectTrack, observation: Observation) -> bool:
    """Seen in every frame unless the wall, another object or the frame edge may hide it, with no jumps in size."""
    fraction = track.area / track.unhidden_area
    excused = near_wall(track, observation.wall_columns) | near_other_object(track, observation.objects) | near_border(track)
    if np.any((fraction < 0.5) & ~excused):
        return False
    whole = np.flatnonzero(whole_frames(track) & ~excused)
    steps = np.abs(np.diff(np.log(track.area[whole]))) / np.maximum(np.diff(whole), 1)
    return bool(np.all(steps < math.log(1.5)))


def near_other_object(track: ObjectTrack, others: tuple[ObjectTrack, ...]) -> np.ndarray:
    """Frames where another object is close enough to hide part of this one."""
    x, y = fill_gaps(track.x), fill_gaps(track.y)
    reach = math.sqrt(track.full_area / math.pi)
    close = np.zeros(len(x), bool)
    for other in others:
        if other is track:
            continue
        gap = np.hypot(x - fill_gaps(other.x), y - fill_gaps(other.y))
        close |= gap < 1.8 * (reach + math.sqrt(other.full_area / math.pi))
    return close


def near_border(track: ObjectTrack) -> np.ndarray:
    """Frames where the object's last known position is close enough to the frame edge to be partly outside it."""
    x, y = fill_gaps(track.x), fill_gaps(track.y)
    reach = 1.6 * math.sqrt(track.full_area / math.pi)
    return (x < reach) | (x > 1 - reach) | (y < reach) | (y > 1 - reach)


def fill_gaps(values: np.ndarray) -> np.ndarray:
    """Carry the nearest known value over NaN gaps (for an object's position while hidden)."""
    known = np.flatnonzero(~np.isnan(values))
    if not len(known):
        return values.copy()
    return np.interp(np.arange(len(values)), known, values[known])
