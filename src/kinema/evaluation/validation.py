"""Validating the analytic checker against ground truth: the judge must be right before it judges models.

Renders random scenes, optionally degrades them (blur, noise, MP4 compression), and counts how
often each attribute is judged right against the true spec, plus how often deliberately wrong
prompts (colour, direction or shape swapped) are caught.
"""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from kinema.evaluation.checker import judge
from kinema.evaluation.observe import observe
from kinema.world.render import render
from kinema.world.sampling import WorldDistribution, sample_scene
from kinema.world.spec import COLOURS, DIRECTIONS, SHAPES, SceneAttributes, SceneSpec, attributes_of

PERTURBATIONS = ("clean", "blur", "noise", "mp4")
# (height, width, frames): square, landscape and portrait at about 64x64 area, a larger square, two durations.
SHAPES_AND_DURATIONS = ((64, 64, 17), (64, 64, 33), (48, 80, 17), (80, 48, 17), (128, 128, 17))
SWAPS = ("colour", "direction", "shape")
OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up",
            "up-left": "down-right", "down-right": "up-left", "up-right": "down-left", "down-left": "up-right"}


@dataclass
class ValidationResult:
    """Per-attribute counts of right verdicts, confusion pairs and wrong-prompt detections."""

    perturbation: str
    scenes: int = 0
    judged: Counter = field(default_factory=Counter)
    right: Counter = field(default_factory=Counter)
    confusion: dict = field(default_factory=lambda: defaultdict(Counter))
    swaps_tried: Counter = field(default_factory=Counter)
    swaps_caught: Counter = field(default_factory=Counter)

    def accuracy(self) -> dict[str, float]:
        return {name: self.right[name] / self.judged[name] for name in self.judged}

    def detection(self) -> dict[str, float]:
        return {name: self.swaps_caught[name] / self.swaps_tried[name] for name in self.swaps_tried}

    def to_dict(self) -> dict:
        return {
            "perturbation": self.perturbation,
            "scenes": self.scenes,
            "accuracy": {k: round(v, 4) for k, v in sorted(self.accuracy().items())},
            "judged": dict(sorted(self.judged.items())),
            "wrong_prompt_detection": {k: round(v, 4) for k, v in sorted(self.detection().items())},
            "wrong_prompts_tried": dict(sorted(self.swaps_tried.items())),
            "confusion": {
                attribute: {f"{expected} -> {observed}": count for (expected, observed), count in sorted(pairs.items())}
                for attribute, pairs in sorted(self.confusion.items())
            },
        }


def validate(scenes: int, perturbation: str = "clean", seed: int = 0, wrong_prompts: bool = True) -> ValidationResult:
    """Render `scenes` random scenes (seeds seed..), degrade them, and score the checker against the truth."""
    if perturbation not in PERTURBATIONS:
        raise ValueError(f"perturbation must be one of {PERTURBATIONS}; got {perturbation!r}")
    result = ValidationResult(perturbation)
    distribution = WorldDistribution(heldout="allow")
    for index in range(scenes):
        height, width, frames = SHAPES_AND_DURATIONS[index % len(SHAPES_AND_DURATIONS)]
        spec = sample_scene(seed + index, duration=(frames - 1) / 8.0, dist=distribution)
        video = degrade(render(spec, frames, height, width), perturbation, np.random.default_rng(seed + index))
        observation = observe(video, 8.0)
        result.scenes += 1
        for verdict in judge(observation, attributes_of(spec)).verdicts:
            result.judged[verdict.attribute] += 1
            result.right[verdict.attribute] += verdict.ok
            if not verdict.ok:
                result.confusion[verdict.attribute][(verdict.expected, verdict.observed)] += 1
        if wrong_prompts:
            score_wrong_prompts(result, observation, spec, np.random.default_rng([seed, index]))
    return result


def score_wrong_prompts(result: ValidationResult, observation, spec: SceneSpec, rng: np.random.Generator) -> None:
    """Judge the clip against prompts with one attribute swapped; the swapped attribute must be judged wrong."""
    for swap in SWAPS:
        wrong = swapped_prompt(spec, swap, rng)
        if wrong is None:
            continue
        attributes, index = wrong
        result.swaps_tried[swap] += 1
        attribute = "motion" if swap == "direction" else swap
        verdicts = judge(observation, attributes).verdicts
        caught = any(v.attribute == attribute and v.object == index and not v.ok for v in verdicts)
        result.swaps_caught[swap] += caught


def swapped_prompt(spec: SceneSpec, swap: str, rng: np.random.Generator) -> tuple[SceneAttributes, int] | None:
    """The scene's attributes with one object's colour, direction or shape changed; None if it has no such attribute."""
    truth = attributes_of(spec)
    objects = list(truth.objects)
    if swap == "direction":
        candidates = [i for i, obj in enumerate(objects) if obj.motion in DIRECTIONS]
    else:
        candidates = list(range(len(objects)))
    if not candidates:
        return None
    index = int(rng.choice(candidates))
    target = objects[index]
    if swap == "colour":
        used = {obj.colour for obj in objects}
        objects[index] = replace(target, colour=str(rng.choice([c for c in COLOURS if c not in used])))
    elif swap == "shape":
        objects[index] = replace(target, shape=str(rng.choice([s for s in SHAPES if s != target.shape])))
    else:
        objects[index] = replace(target, motion=OPPOSITE[target.motion])
    return replace(truth, objects=tuple(objects)), index


def degrade(frames: np.ndarray, perturbation: str, rng: np.random.Generator) -> np.ndarray:
    """Apply one degradation a generated or stored video may carry."""
    if perturbation == "clean":
        return frames
    if perturbation == "blur":
        sigma = 0.8 * min(frames.shape[1:3]) / 64.0
        return np.clip(gaussian_blur(frames.astype(np.float32), sigma) + 0.5, 0, 255).astype(np.uint8)
    if perturbation == "noise":
        noisy = frames.astype(np.float32) + rng.normal(0.0, 8.0, frames.shape)
        return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)
    from kinema.media import read_video, write_video

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        write_video(frames, path, fps=8, crf=23)
        return read_video(path)[0]


def gaussian_blur(frames: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur over height and width of (T, H, W, 3) float frames, edges replicated."""
    radius = max(1, int(np.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    for axis in (1, 2):
        padded = np.pad(frames, [(radius, radius) if a == axis else (0, 0) for a in range(4)], mode="edge")
        frames = sum(w * np.take(padded, np.arange(i, i + frames.shape[axis]), axis=axis) for i, w in enumerate(taps))
    return frames
