"""Captions state every attribute of a scene, vary in wording, and read back exactly."""

from __future__ import annotations

import numpy as np
import pytest

from kinema.world.captions import canonical_caption, caption
from kinema.world.prompts import complete_scene, parse_prompt
from kinema.world.spec import (
    BACKGROUNDS,
    CAMERA_PANS,
    COLOURS,
    DIRECTIONS,
    MOTIONS,
    PANNABLE_BACKGROUNDS,
    SHAPES,
    SIZES,
    SPEEDS,
    WEATHERS,
    ObjectSpec,
    Occluder,
    SceneAttributes,
    SceneSpec,
    attributes_of,
)


def random_spec(rng: np.random.Generator) -> SceneSpec:
    """A random valid scene drawn from the world's vocabularies."""
    count = int(rng.integers(1, 4))
    colours = rng.choice(list(COLOURS), size=count, replace=False)
    objects = []
    for colour in colours:
        motion = str(rng.choice(MOTIONS))
        speed = str(rng.choice(list(SPEEDS))) if motion in DIRECTIONS else None
        objects.append(
            ObjectSpec(str(rng.choice(SHAPES)), str(colour), str(rng.choice(list(SIZES))), motion, speed)
        )
    background = str(rng.choice(BACKGROUNDS))
    camera_pan = str(rng.choice(CAMERA_PANS)) if background in PANNABLE_BACKGROUNDS else "none"
    occluder = Occluder(x=0.5, width=0.2) if rng.random() < 0.3 else None
    return SceneSpec(tuple(objects), background, camera_pan, str(rng.choice(WEATHERS)), occluder)


def by_colour(attrs: SceneAttributes) -> SceneAttributes:
    """Objects sorted by colour, so caption order (which varies) does not matter."""
    return SceneAttributes(
        objects=tuple(sorted(attrs.objects, key=lambda a: a.colour or "")),
        background=attrs.background,
        camera_pan=attrs.camera_pan,
        weather=attrs.weather,
        occluder=attrs.occluder,
        unknown_words=attrs.unknown_words,
    )


def test_random_captions_read_back_to_their_spec() -> None:
    rng = np.random.default_rng(1234)
    failures = []
    for _ in range(2000):
        spec = random_spec(rng)
        text = caption(spec, rng)
        parsed = parse_prompt(text)
        if by_colour(complete_scene(parsed)) != by_colour(attributes_of(spec)):
            failures.append((text, parsed, spec))
    assert failures == [], f"{len(failures)} captions misread; first: {failures[:1]}"


def test_canonical_captions_read_back_to_their_spec() -> None:
    rng = np.random.default_rng(99)
    for _ in range(500):
        spec = random_spec(rng)
        parsed = complete_scene(parse_prompt(canonical_caption(spec)))
        assert parsed == attributes_of(spec), canonical_caption(spec)  # same order too


def test_caption_words_are_all_known_and_length_bounded() -> None:
    rng = np.random.default_rng(7)
    for _ in range(500):
        text = caption(random_spec(rng), rng)
        assert parse_prompt(text).unknown_words == (), text
        assert len(text.split()) <= 60, text


def test_canonical_caption_exact_wording() -> None:
    spec = SceneSpec(
        objects=(
            ObjectSpec("circle", "red", "small", "up-left", "fast"),
            ObjectSpec("star", "blue", "large", "spin"),
        ),
        background="grass",
        camera_pan="left",
        weather="snow",
        occluder=Occluder(x=0.5, width=0.2),
    )
    assert canonical_caption(spec) == (
        "A small red circle moving up and to the left quickly and a large blue star spinning, "
        "on grass, while it snows, with a wall in the middle. The camera pans left."
    )
    plain = SceneSpec(objects=(ObjectSpec("square", "orange", "medium", "still"),), background="beige")
    assert canonical_caption(plain) == "A medium orange square standing still, on a plain beige background."


def test_captions_vary_in_wording() -> None:
    spec = SceneSpec(
        objects=(
            ObjectSpec("circle", "red", "small", "left", "slow"),
            ObjectSpec("square", "green", "large", "bounce"),
        ),
        background="sky",
        camera_pan="right",
    )
    rng = np.random.default_rng(0)
    texts = {caption(spec, rng) for _ in range(200)}
    assert len(texts) >= 20


def test_captions_are_deterministic_for_a_seed() -> None:
    spec = SceneSpec(objects=(ObjectSpec("triangle", "cyan", "medium", "down-right", "fast"),), background="night")
    first = [caption(spec, np.random.default_rng(5)) for _ in range(3)]
    assert first[0] == first[1] == first[2]
    assert caption(spec, np.random.default_rng(6)) != first[0] or caption(spec, np.random.default_rng(8)) != first[0]


def test_every_motion_and_background_reads_back() -> None:
    rng = np.random.default_rng(3)
    for motion in MOTIONS:
        for background in BACKGROUNDS:
            speed = "slow" if motion in DIRECTIONS else None
            spec = SceneSpec(objects=(ObjectSpec("star", "pink", "small", motion, speed),), background=background)
            for _ in range(5):
                text = caption(spec, rng)
                assert complete_scene(parse_prompt(text)) == attributes_of(spec), text


@pytest.mark.parametrize("weather", WEATHERS)
def test_weather_is_stated_only_when_present(weather: str) -> None:
    spec = SceneSpec(objects=(ObjectSpec("circle", "yellow", "large", "down", "fast"),), weather=weather)
    rng = np.random.default_rng(11)
    for _ in range(20):
        parsed = parse_prompt(caption(spec, rng))
        assert parsed.weather == (None if weather == "none" else weather)
        assert parsed.objects[0].motion == "down"  # "snow is falling" never moves the object
