"""Prompt expansion keeps what the user said, fills the rest from the world, and reads back exactly."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from kinema.world import vocabulary
from kinema.world.captions import DIRECTION_WORDS, canonical_caption
from kinema.world.expansion import Expansion, expand_prompt
from kinema.world.heldout import is_heldout
from kinema.world.prompts import complete_scene, parse_prompt
from kinema.world.spec import (
    BACKGROUNDS,
    COLOURS,
    DIRECTIONS,
    MOTIONS,
    PANNABLE_BACKGROUNDS,
    PLAIN_BACKGROUNDS,
    SHAPES,
    SIZES,
    SPEEDS,
    Attributes,
    ObjectSpec,
    Occluder,
    SceneAttributes,
    SceneSpec,
)

FIELDS = ("shape", "colour", "size", "motion", "speed")


def obj(shape=None, colour=None, size=None, motion=None, speed=None) -> Attributes:
    return Attributes(shape=shape, colour=colour, size=size, motion=motion, speed=speed)


def assert_honours(expansion: Expansion, stated: SceneAttributes, context: str) -> None:
    """Every field the prompt states is in the expansion, object by object, in order."""
    got = expansion.attributes
    if stated.objects:
        assert len(got.objects) == len(stated.objects), context
    for want, have in zip(stated.objects, got.objects):
        for name in FIELDS:
            if getattr(want, name) is not None:
                assert getattr(have, name) == getattr(want, name), f"{name}: {context}"
    for name in ("background", "camera_pan", "weather", "occluder"):
        if getattr(stated, name) is not None:
            assert getattr(got, name) == getattr(stated, name), f"{name}: {context}"


def assert_reads_back(expansion: Expansion, context: str) -> None:
    """The caption parses to exactly the attributes, with no word the world does not know."""
    parsed = parse_prompt(expansion.caption)
    assert parsed.unknown_words == (), context
    assert complete_scene(parsed) == expansion.attributes, context


# --- the brief's examples -------------------------------------------------------------------------

EXAMPLES: list[tuple[str, SceneAttributes]] = [
    ("a ball rolling left", SceneAttributes(objects=(obj("circle", motion="left"),))),
    ("crimson square going up at night", SceneAttributes(objects=(obj("square", "red", motion="up"),), background="night")),
    ("two balls", SceneAttributes(objects=(obj("circle"), obj("circle")))),
    ("a spinning star", SceneAttributes(objects=(obj("star", motion="spin"),))),
    ("a red dot moving fast to the right on a blue sky",
     SceneAttributes(objects=(obj("circle", "red", motion="right", speed="fast"),), background="sky")),
    ("make a video of a bouncy ball", SceneAttributes(objects=(obj("circle", motion="bounce"),))),
    ("sphere", SceneAttributes(objects=(obj("circle"),))),
    ("cube", SceneAttributes(objects=(obj("square"),))),
    ("box falling", SceneAttributes(objects=(obj("square", motion="down"),))),
    ("a big circle drifts upward slowly while the camera pans left",
     SceneAttributes(objects=(obj("circle", size="large", motion="up", speed="slow"),), camera_pan="left")),
    ("an orb heading rightwards", SceneAttributes(objects=(obj("circle", motion="right"),))),
    ("a block sliding down and to the left", SceneAttributes(objects=(obj("square", motion="down-left"),))),
    ("a golden star rising", SceneAttributes(objects=(obj("star", "yellow", motion="up"),))),
    ("please create an animation of a blue cube in the rain",
     SceneAttributes(objects=(obj("square", "blue"),), weather="rain")),
]  # fmt: skip


@pytest.mark.parametrize(("prompt", "stated"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples_keep_what_was_said_and_fill_the_rest(prompt: str, stated: SceneAttributes) -> None:
    expansion = expand_prompt(prompt)
    assert expansion.unknown == ()
    assert_honours(expansion, stated, prompt)
    assert_reads_back(expansion, prompt)
    # Every object ends fully specified, and the background is always named.
    for have in expansion.attributes.objects:
        assert None not in (have.shape, have.colour, have.size, have.motion)
        assert (have.speed is not None) == (have.motion in DIRECTIONS)
    assert expansion.attributes.background in BACKGROUNDS


def test_example_wording_is_the_canonical_training_caption() -> None:
    expansion = expand_prompt("crimson square going up at night", seed=0)
    size, speed = expansion.attributes.objects[0].size, expansion.attributes.objects[0].speed
    adverb = "quickly" if speed == "fast" else "slowly"
    assert expansion.caption == f"A {size} red square moving up {adverb}, at night."
    assert expansion.filled == (f"size: {size}", f"speed: {speed}")


def test_filled_names_exactly_the_open_attributes() -> None:
    expansion = expand_prompt("a red ball bouncing", seed=3)
    attrs = expansion.attributes
    assert expansion.filled == (f"size: {attrs.objects[0].size}", f"background: {attrs.background}")
    two = expand_prompt("two balls on grass", seed=3)
    names = [entry.split(":")[0] for entry in two.filled]
    assert names[:3] == ["object 1 colour", "object 1 size", "object 1 motion"]
    assert "background" not in names and not any("shape" in name for name in names)
    nothing = expand_prompt("at night", seed=3)
    assert nothing.filled[0] == f"count: {len(nothing.attributes.objects)}"


def test_caption_is_canonical_caption_of_its_attributes() -> None:
    for seed in range(30):
        expansion = expand_prompt("two things in the snow behind a wall", seed=seed)
        attrs = expansion.attributes
        spec = SceneSpec(
            objects=tuple(ObjectSpec(o.shape, o.colour, o.size, o.motion, o.speed) for o in attrs.objects),
            background=attrs.background,
            camera_pan=attrs.camera_pan,
            weather=attrs.weather,
            occluder=Occluder(x=0.5, width=0.2) if attrs.occluder else None,
        )
        assert expansion.caption == canonical_caption(spec)


# --- random user-style prompts, built from the lexicon's own synonym tables --------------------------


def _choice(rng: np.random.Generator, options):
    options = list(options)
    return options[int(rng.integers(len(options)))]


def _plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("x", "s", "sh", "ch")) else "s")


def _direction_phrase(direction: str, rng: np.random.Generator) -> str:
    if direction in ("up", "down") and rng.random() < 0.3:
        verbs = [v for v in vocabulary.DIRECTION_VERBS[(0, -1 if direction == "up" else 1)] if v.endswith("ing")]
        return _choice(rng, verbs)  # "falling", "rising", "sinking"
    verb = _choice(rng, [v for v in vocabulary.TRAVEL_VERBS if v.endswith("ing")])
    words = list(DIRECTION_WORDS[direction]) + list(vocabulary.DIRECTION_COMPONENTS[direction][1])
    return f"{verb} {_choice(rng, words)}"


def _motion_phrase(motion: str, speed: str | None, rng: np.random.Generator) -> str:
    if motion not in DIRECTIONS:
        return _choice(rng, vocabulary.MOTION_SYNONYMS[motion])
    phrase = _direction_phrase(motion, rng)
    if speed is None:
        return phrase
    adverb = _choice(rng, vocabulary.SPEED_SYNONYMS[speed])
    return f"{adverb} {phrase}" if rng.random() < 0.3 and " " not in adverb else f"{phrase} {adverb}"


def _object_group(rng: np.random.Generator, number: int, colours: list[str]) -> tuple[str, list[Attributes]]:
    """One noun phrase naming `number` objects, with a random subset of attributes stated."""
    shape = _choice(rng, SHAPES) if rng.random() < 0.7 else None
    colour = colours.pop() if number == 1 and rng.random() < 0.6 else None  # plural groups share a colour
    size = _choice(rng, SIZES) if rng.random() < 0.4 else None
    motion = _choice(rng, MOTIONS) if rng.random() < 0.6 else None
    speed = _choice(rng, SPEEDS) if motion in DIRECTIONS and rng.random() < 0.5 else None
    if shape is None and colour is None and size is None:
        colour = colours.pop() if number == 1 else None
        size = size or _choice(rng, SIZES)  # a bare "thing" needs one adjective to be an object
    words = [_choice(rng, {1: ("a", "one", ""), 2: ("two", "a pair of"), 3: ("three",)}[number])]
    words.append(_choice(rng, vocabulary.SIZE_SYNONYMS[size]) if size else "")
    words.append(_choice(rng, vocabulary.COLOUR_SYNONYMS[colour]) if colour else "")
    noun = _choice(rng, vocabulary.SHAPE_NOUNS[shape]) if shape else _choice(rng, vocabulary.GENERIC_NOUNS)
    words.append(_plural(noun) if number > 1 else noun)
    if motion is not None:
        words.append(_motion_phrase(motion, speed, rng))
    text = " ".join(w for w in words if w)
    if text.startswith("a ") and text[2] in "aeiou":
        text = "an" + text[1:]
    return text, [obj(shape, colour, size, motion, speed)] * number


def _scene_phrases(rng: np.random.Generator) -> tuple[list[str], dict[str, object]]:
    """Background, weather, camera and wall phrases, each stated or not."""
    phrases: list[str] = []
    stated: dict[str, object] = {}
    if rng.random() < 0.6:
        background = _choice(rng, BACKGROUNDS)
        stated["background"] = background
        if background in PLAIN_BACKGROUNDS:
            tone = _choice(rng, vocabulary.TONE_SYNONYMS[background])
            phrases.append(f"{_choice(rng, ('on a', 'against a'))} {tone} {_choice(rng, vocabulary.BACKGROUND_NOUNS[:2])}")
        else:
            word = _choice(rng, vocabulary.TEXTURED_SYNONYMS[background])
            article = _choice(rng, ("a ", "the ", ""))
            phrases.append(f"{_choice(rng, ('on', 'in', 'under', 'over', 'with'))} {article}{word}")
    if rng.random() < 0.25:
        weather = _choice(rng, ("snow", "rain"))
        stated["weather"] = weather
        phrases.append(f"{_choice(rng, ('in the', 'with', 'in a'))} {_choice(rng, vocabulary.WEATHER_SYNONYMS[weather])}")
    if rng.random() < 0.2 and stated.get("background", "sky") in PANNABLE_BACKGROUNDS:
        pan = _choice(rng, ("left", "right"))
        stated["camera_pan"] = pan
        verb = _choice(rng, ("the camera pans", "camera panning", "panning", "the camera tracks", "tracking"))
        phrases.append(f"{verb} {_choice(rng, ('', 'to the '))}{pan}")
    if rng.random() < 0.15:
        stated["occluder"] = True
        phrases.append(f"{_choice(rng, ('behind', 'near', 'in front of'))} a {_choice(rng, vocabulary.OCCLUDER_WORDS[:6:2])}")
    return phrases, stated


def random_user_prompt(rng: np.random.Generator) -> tuple[str, SceneAttributes]:
    """A user-style prompt stating a random part of a scene, and what it states."""
    colours = [str(c) for c in rng.permutation(list(COLOURS))]
    drawn = []
    remaining = 0 if rng.random() < 0.05 else int(rng.choice([1, 2, 3], p=[0.6, 0.25, 0.15]))
    while remaining:
        number = int(rng.integers(1, remaining + 1)) if rng.random() < 0.3 else 1
        drawn.append(_object_group(rng, number, colours))
        remaining -= number
    # Moving groups first: a still-unmoving one before them would share their motion ("a dot and a star spinning").
    drawn.sort(key=lambda group: group[1][0].motion is None)
    groups = [text for text, _ in drawn]
    objects = [o for _, group_objects in drawn for o in group_objects]
    body = groups[0] if len(groups) == 1 else ", ".join(groups[:-1]) + " and " + groups[-1] if groups else ""
    phrases, stated = _scene_phrases(rng)
    if not body and not phrases:
        phrases, stated = ["at night"], {"background": "night"}
    lead = _choice(rng, ("", "", "make a video of ", "please show ", "a clip of "))
    text = lead + ", ".join([body, *phrases] if body else phrases)
    return text, SceneAttributes(objects=tuple(objects), **stated)  # type: ignore[arg-type]


def test_random_prompts_are_read_as_generated() -> None:
    """The generator and the parser agree, so the tests below test expansion and not the generator."""
    rng = np.random.default_rng(2024)
    misread = []
    for _ in range(500):
        text, stated = random_user_prompt(rng)
        if parse_prompt(text) != stated:
            misread.append((text, parse_prompt(text), stated))
    assert misread == [], f"{len(misread)} misread; first: {misread[:2]}"


def test_expansion_never_contradicts_a_random_partial_prompt() -> None:
    rng = np.random.default_rng(7)
    for index in range(500):
        text, stated = random_user_prompt(rng)
        expansion = expand_prompt(text, seed=index)
        assert expansion.unknown == (), text
        assert_honours(expansion, stated, f"{text!r} -> {expansion.caption!r}")


def test_random_prompts_round_trip_through_the_caption() -> None:
    rng = np.random.default_rng(11)
    for _ in range(300):
        text, _stated = random_user_prompt(rng)
        expansion = expand_prompt(text)
        assert_reads_back(expansion, f"{text!r} -> {expansion.caption!r}")
        # Expanding the expansion changes nothing: the caption states everything.
        again = expand_prompt(expansion.caption, seed=123)
        assert (again.caption, again.filled, again.unknown) == (expansion.caption, (), ())


# --- filling from the world's distribution ------------------------------------------------------------


def test_fills_cover_the_world_and_follow_its_rules() -> None:
    seen: dict[str, Counter] = {name: Counter() for name in ("colour", "shape", "size", "motion", "background")}
    for seed in range(400):
        attrs = expand_prompt("a thing", seed=seed).attributes
        thing = attrs.objects[0]
        for name in ("colour", "shape", "size", "motion"):
            seen[name][getattr(thing, name)] += 1
        seen["background"][attrs.background] += 1
        assert not is_heldout(thing.colour, thing.shape, thing.motion)  # type: ignore[arg-type]
        assert (thing.shape, thing.motion) != ("circle", "spin")
        assert (thing.size, thing.motion) not in (("large", "grow"), ("small", "shrink"))
        assert (attrs.camera_pan, attrs.weather, attrs.occluder) == ("none", "none", False)
    assert set(seen["colour"]) == set(COLOURS)
    assert set(seen["shape"]) == set(SHAPES)
    assert set(seen["size"]) == set(SIZES)
    assert set(seen["motion"]) == set(MOTIONS)
    assert set(seen["background"]) == set(BACKGROUNDS)


def test_object_count_is_drawn_only_when_no_object_is_named() -> None:
    counts = Counter(len(expand_prompt("on grass", seed=seed).attributes.objects) for seed in range(300))
    assert set(counts) == {1, 2, 3} and counts[1] > counts[2] > counts[3]  # weights 0.5, 0.3, 0.2
    assert all(len(expand_prompt("a ball", seed=seed).attributes.objects) == 1 for seed in range(50))


def test_fills_respect_what_the_prompt_implies() -> None:
    for seed in range(60):
        fast = expand_prompt("a ball moving quickly", seed=seed).attributes.objects[0]
        assert fast.motion in DIRECTIONS and fast.speed == "fast"  # a speed implies a direction
        running = expand_prompt("a dog and a cat running", seed=seed).attributes.objects
        assert all(o.motion in DIRECTIONS for o in running)  # so does a verb of going somewhere
        panned = expand_prompt("a star, the camera pans right", seed=seed).attributes
        assert panned.background in PANNABLE_BACKGROUNDS and panned.camera_pan == "right"
        walled = expand_prompt("a box and a star behind a wall", seed=seed).attributes
        assert walled.objects[0].motion in ("left", "right") and walled.objects[0].size in ("small", "medium")
        colours = [o.colour for o in expand_prompt("three things", seed=seed).attributes.objects]
        assert len(set(colours)) == 3
    # What the user states is never refused, even a held-out or unusual combination.
    stated = expand_prompt("a green ball moving up", seed=0).attributes.objects[0]
    assert (stated.colour, stated.shape, stated.motion) == ("green", "circle", "up")
    assert expand_prompt("a big ball growing", seed=0).attributes.objects[0].size == "large"


def test_editing_one_part_of_a_prompt_keeps_the_other_fills() -> None:
    for seed in range(20):
        plain = expand_prompt("a ball and a star", seed=seed).attributes
        grass = expand_prompt("a ball and a star on grass", seed=seed).attributes
        assert plain.objects == grass.objects
        moved = expand_prompt("a ball and a spinning star", seed=seed).attributes
        assert moved.objects[0] == plain.objects[0]


# --- determinism ---------------------------------------------------------------------------------------


def test_same_prompt_expands_the_same_way() -> None:
    first = expand_prompt("a ball rolling left")
    assert expand_prompt("a ball rolling left") == first
    assert expand_prompt("  A BALL rolling LEFT! ") == first  # same words, same seed
    assert expand_prompt("a ball rolling left", seed=5) == expand_prompt("a ball rolling left", seed=5)


def test_different_seeds_and_prompts_give_different_fills() -> None:
    by_seed = {expand_prompt("a ball", seed=seed).caption for seed in range(20)}
    assert len(by_seed) >= 10
    by_prompt = {expand_prompt(f"a ball {word}").caption for word in ("please", "video", "clip", "scene", "")}
    assert len(by_prompt) >= 3  # filler changes the derived seed but never the stated ball
    assert expand_prompt("a ball", seed=-1) == expand_prompt("a ball", seed=2**64 - 1)


# --- unknown words, conflicts, bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "unknown"),
    [
        ("a dragon flying", ("dragon",)),
        ("a beautiful cinematic red ball", ("beautiful", "cinematic")),
        ("a red kite soaring left over a meadow", ("kite",)),
        ("a ball whooshing right in 4k", ("whooshing", "4k")),
        # Words in other scripts and emoji are words the world lacks, not nothing.
        ("a crème ball 🎈 moving left", ("crème", "🎈")),
        ("一个红色的球", ("一个红色的球",)),
        ("a red ball on a purple background",
         ("purple (backgrounds are gray, beige, white, charcoal, sky, grass, night, stripes)",)),
    ],
)
def test_unknown_words_are_reported(prompt: str, unknown: tuple[str, ...]) -> None:
    expansion = expand_prompt(prompt)
    assert expansion.unknown == unknown
    assert_reads_back(expansion, prompt)


@pytest.mark.parametrize(
    ("prompt", "background"), [("a red ball on a blue background", "sky"), ("a green backdrop", "grass")]
)
def test_a_coloured_background_is_read_as_the_nearest(prompt: str, background: str) -> None:
    expansion = expand_prompt(prompt)
    assert expansion.attributes.background == background
    assert expansion.unknown[0].endswith(f"(read as {background}, the nearest; "
                                         "backgrounds are gray, beige, white, charcoal, sky, grass, night, stripes)")


def test_filler_words_are_not_unknown() -> None:
    prompts_ = [
        "make a video of a red ball",
        "please generate the clip of a ball",
        "I want a video of a star",
        "can you make an animation of a cube",
        "there's a green box",
        "show me a picture of a ball, please",
    ]
    for text in prompts_:
        assert expand_prompt(text).unknown == (), text


def test_nothing_understood_still_makes_a_world_scene() -> None:
    expansion = expand_prompt("sunset over castles")
    assert expansion.unknown == ("sunset", "castles")
    assert expansion.filled[0].startswith("count: ")
    assert_reads_back(expansion, expansion.caption)
    dragons = expand_prompt("dragons soaring over castles")  # things that move: two of them, travelling
    assert dragons.unknown == ("dragons", "castles") and len(dragons.attributes.objects) == 2
    assert all(o.motion not in ("still", "spin", None) for o in dragons.attributes.objects)


def test_what_the_world_cannot_show_is_reported_not_dropped() -> None:
    twins = expand_prompt("two red balls", seed=0)
    colours = [o.colour for o in twins.attributes.objects]
    assert colours[0] == "red" and colours[1] != "red"
    assert twins.unknown == ("2 red objects (each object in a scene has its own colour)",)
    spin = expand_prompt("a star spinning fast", seed=0)
    assert spin.attributes.objects[0] == obj("star", spin.attributes.objects[0].colour, spin.attributes.objects[0].size, "spin")
    assert spin.unknown == ("fast spin (only motion in a direction has a speed)",)
    pan = expand_prompt("a ball on a white background, the camera pans left", seed=0)
    assert (pan.attributes.background, pan.attributes.camera_pan) == ("white", "none")
    assert pan.unknown == ("camera pan left (a pan needs a sky, grass, night or striped background)",)
    crowd = expand_prompt("a red ball, a blue ball, a green ball and a pink ball", seed=0)
    assert [o.colour for o in crowd.attributes.objects] == ["red", "blue", "green"]
    assert crowd.unknown == ("4 objects (a scene holds at most 3)",)


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t", " ... !? ", "。，"])
def test_empty_prompt_is_rejected_with_a_clear_message(prompt: str) -> None:
    with pytest.raises(ValueError, match=r"prompt is empty .*describe a scene, e.g. 'a red ball bouncing on grass'"):
        expand_prompt(prompt)


def test_non_string_prompt_is_rejected() -> None:
    with pytest.raises(TypeError, match="prompt must be a string; got NoneType"):
        expand_prompt(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed must be an int or None; got 1.5"):
        expand_prompt("a ball", seed=1.5)  # type: ignore[arg-type]


# --- the rewriter hook --------------------------------------------------------------------------------


def test_rewriter_replaces_the_rule_based_reading() -> None:
    calls = []

    def rewriter(text: str) -> str:
        calls.append(text)
        return "A large pink star moving down and to the right slowly, on grass, while it snows."

    expansion = expand_prompt("something festive", rewriter=rewriter)
    assert calls == ["something festive"]
    assert expansion.caption == "A large pink star moving down and to the right slowly, on grass, while it snows."
    assert expansion.filled == ()
    assert expansion.unknown == ("festive",)  # the user's word the world does not know, reported still


def test_rewriter_output_is_checked_and_completed() -> None:
    expansion = expand_prompt("a ball", seed=1, rewriter=lambda text: "a gigantic emerald dragon breathing fire, heading west")
    thing = expansion.attributes.objects[0]
    assert (thing.colour, thing.motion) == ("green", "left")
    assert thing.shape in SHAPES and thing.speed in SPEEDS  # filled from the world, not from the rewriter
    assert expansion.unknown == ("gigantic", "dragon", "breathing", "fire")
    assert_reads_back(expansion, expansion.caption)
    twins = expand_prompt("a ball", seed=1, rewriter=lambda text: "two red balls spinning quickly")
    assert twins.unknown == (
        "fast spin (only motion in a direction has a speed)",
        "2 red objects (each object in a scene has its own colour)",
    )


def test_rewriter_returning_nothing_usable_is_an_error() -> None:
    with pytest.raises(ValueError, match="rewriter returned an empty caption"):
        expand_prompt("a ball", rewriter=lambda text: "  ")
    with pytest.raises(TypeError, match="rewriter must return a caption string; got NoneType"):
        expand_prompt("a ball", rewriter=lambda text: None)  # type: ignore[arg-type,return-value]


def test_prompts_as_users_type_them_are_read_as_they_ask() -> None:
    """The user-prompt benchmark's prompts: every expansion states what its hand-written statement asks for."""
    path = Path(__file__).parents[1] / "benchmarks" / "user_prompts.py"
    spec = importlib.util.spec_from_file_location("user_prompts_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    for prompt, statement in benchmark.PROMPTS:
        asked = parse_prompt(statement)
        assert not asked.unknown_words, statement
        for seed in (0, 1, 2):
            assert benchmark.read_as_asked(expand_prompt(prompt, seed=seed).attributes, asked), (prompt, seed)
