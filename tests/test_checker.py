"""The analytic checker: exact cases on hand-built scenes, and its validation against ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from kinema.evaluation.checker import check
from kinema.evaluation.observe import observe
from kinema.evaluation.validation import PERTURBATIONS, degrade, swapped_prompt, validate
from kinema.world.render import render
from kinema.world.sampling import sample_scene
from kinema.world.spec import ObjectSpec, Occluder, SceneSpec, attributes_of


def verdicts_by_attribute(report) -> dict[str, list]:
    table: dict[str, list] = {}
    for verdict in report.verdicts:
        table.setdefault(verdict.attribute, []).append(verdict)
    return table


def test_right_prompt_is_judged_right_and_each_wrong_attribute_is_named() -> None:
    spec = SceneSpec((ObjectSpec("square", "red", "medium", "right", "fast", 0.25, 0.5),), "gray")
    frames = render(spec, 17, 64, 64)
    assert check(frames, spec).all_ok
    wrong = check(frames, "a large blue star moving left slowly on a plain gray background")
    table = verdicts_by_attribute(wrong)
    assert [v.ok for v in table["colour"]] == [False]
    wrong_colour = check(frames, "a medium blue square moving right quickly")
    assert {v.attribute for v in wrong_colour.verdicts if not v.ok} == {"colour", "shape", "size", "motion", "speed"}
    wrong_direction = check(frames, "a medium red square moving left quickly")
    assert {v.attribute for v in wrong_direction.verdicts if not v.ok} == {"motion"}
    assert verdicts_by_attribute(wrong_direction)["motion"][0].observed == "right"


def test_a_track_displacement_has_the_motion_sign_and_needs_two_sightings() -> None:
    spec = SceneSpec((ObjectSpec("circle", "blue", "medium", "up", "fast", 0.5, 0.7),), "white")
    (track,) = observe(render(spec, 17, 64, 64)).objects
    dx, dy = track.displacement
    assert dy < -0.2 and abs(dx) < 0.02  # image y grows downwards
    (still,) = observe(render(spec, 1, 64, 64)).objects
    assert still.displacement is None


def test_every_motion_is_recognised_on_a_clean_render() -> None:
    placements = {
        "still": (0.5, 0.5), "up": (0.5, 0.7), "down-left": (0.7, 0.3), "bounce": (0.5, 0.5),
        "circle": (0.5, 0.45), "grow": (0.5, 0.45), "shrink": (0.5, 0.45), "spin": (0.5, 0.5),
    }
    for motion, (x, y) in placements.items():
        speed = "slow" if motion in ("up", "down-left") else None
        spec = SceneSpec((ObjectSpec("star", "green", "medium", motion, speed, x, y),), "white")
        report = check(render(spec, 17, 64, 64), spec)
        assert verdicts_by_attribute(report)["motion"][0].observed == motion, motion


def test_camera_pan_is_seen_and_removed_from_object_motion() -> None:
    for pan in ("left", "right"):
        spec = SceneSpec((ObjectSpec("circle", "yellow", "medium", "still", None, 0.5, 0.5),), "grass", camera_pan=pan)
        report = check(render(spec, 17, 64, 64), spec)
        assert report.camera_pan == pan
        assert verdicts_by_attribute(report)["motion"][0].observed == "still"


def test_occluded_object_is_judged_to_reappear() -> None:
    spec = SceneSpec(
        (ObjectSpec("circle", "cyan", "small", "right", "fast", 0.25, 0.5),), "beige", occluder=Occluder(x=0.46, width=0.192)
    )
    report = check(render(spec, 17, 64, 64), spec)
    assert report.wall and report.seen[0].reappeared
    assert report.all_ok


def test_a_single_image_gets_no_motion_verdicts() -> None:
    spec = SceneSpec((ObjectSpec("triangle", "purple", "large", "left", "fast", 0.6, 0.5),), "night")
    report = check(render(spec, 1, 64, 64), spec)
    assert {v.attribute for v in report.verdicts} == {"background", "count", "occluder", "colour", "shape", "size"}
    assert report.all_ok


def test_missing_object_fails_every_attribute_of_it() -> None:
    spec = SceneSpec((ObjectSpec("circle", "red", "small", "still", None, 0.5, 0.5),), "gray")
    report = check(render(spec, 17, 64, 64), "a red ball and a blue square")
    missing = [v for v in report.verdicts if v.object == 1]
    assert missing and all(not v.ok and v.observed == "missing" for v in missing)
    assert verdicts_by_attribute(report)["count"][0].observed == "1"


def test_swapped_prompts_differ_from_the_truth_in_exactly_one_attribute() -> None:
    spec = sample_scene(5)
    rng = np.random.default_rng(0)
    for swap in ("colour", "shape"):
        wrong, index = swapped_prompt(spec, swap, rng)
        truth = attributes_of(spec)
        assert wrong.objects[index] != truth.objects[index]
        assert [o for i, o in enumerate(wrong.objects) if i != index] == [o for i, o in enumerate(truth.objects) if i != index]


def test_degradations_change_pixels_but_keep_shape() -> None:
    frames = render(sample_scene(3), 17, 64, 64)
    for perturbation in ("blur", "noise"):
        degraded = degrade(frames, perturbation, np.random.default_rng(0))
        assert degraded.shape == frames.shape and degraded.dtype == np.uint8
        assert 0.5 < np.abs(degraded.astype(int) - frames).mean() < 12


def test_quick_validation_on_fifty_scenes() -> None:
    result = validate(50, "clean")
    assert min(result.accuracy().values()) >= 0.97
    assert min(result.detection().values()) >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("perturbation", PERTURBATIONS)
def test_validation_on_a_thousand_scenes(perturbation: str) -> None:
    """The issue's bar: 99% per attribute on clean renders, 95% degraded, 95% of wrong prompts caught."""
    result = validate(1000, perturbation)
    bar = 0.99 if perturbation == "clean" else 0.95
    accuracy = result.accuracy()
    assert min(accuracy.values()) >= bar, {k: v for k, v in accuracy.items() if v < bar}
    detection = result.detection()
    assert min(detection.values()) >= 0.95, detection
