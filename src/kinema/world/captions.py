"""Captions for training clips: faithful descriptions of a SceneSpec in varied wording.

Every attribute of the spec appears in every caption (sizes, colours, shapes, motions, speeds,
background, camera pan, weather, wall); only the wording and word order vary, so the text
encoder sees paraphrases of the same scene. `prompts.parse_prompt` reads every caption back to
the spec's attributes, which the tests check over thousands of random scenes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from kinema.world.spec import DIRECTIONS, PLAIN_BACKGROUNDS, ObjectSpec, SceneSpec

SHAPE_WORDS: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "ball", "disc", "dot"),
    "square": ("square", "box", "block"),
    "triangle": ("triangle",),
    "star": ("star",),
}
SIZE_WORDS: dict[str, tuple[str, ...]] = {
    "small": ("small", "little", "tiny"),
    "medium": ("medium", "medium-sized", "mid-sized"),
    "large": ("large", "big"),
}
# (participle, finite) pairs for directional motion.
MOVE_VERBS: tuple[tuple[str, str], ...] = (
    ("moving", "moves"),
    ("sliding", "slides"),
    ("gliding", "glides"),
    ("drifting", "drifts"),
    ("travelling", "travels"),
    ("heading", "heads"),
)
DIRECTION_WORDS: dict[str, tuple[str, ...]] = {
    "left": ("left", "to the left", "leftward", "toward the left"),
    "right": ("right", "to the right", "rightward", "toward the right"),
    "up": ("up", "upward", "upwards", "toward the top"),
    "down": ("down", "downward", "downwards", "toward the bottom"),
    "up-left": ("up and to the left", "toward the upper left", "diagonally up-left", "toward the top left"),
    "up-right": ("up and to the right", "toward the upper right", "diagonally up-right", "toward the top right"),
    "down-left": ("down and to the left", "toward the lower left", "diagonally down-left", "toward the bottom left"),
    "down-right": (
        "down and to the right", "toward the lower right", "diagonally down-right", "toward the bottom right",
    ),
}
# Adverbs that read well before a verb, and those that also read well after the direction.
SPEED_ADVERBS: dict[str, tuple[str, ...]] = {
    "fast": ("quickly", "rapidly", "speedily"),
    "slow": ("slowly", "gently"),
}
SPEED_TRAILING: dict[str, tuple[str, ...]] = {
    "fast": ("quickly", "rapidly", "speedily", "fast", "at a fast pace", "at a quick pace"),
    "slow": ("slowly", "gently", "leisurely", "at a slow pace", "at a leisurely pace"),
}
# (participle phrases, finite phrases) for motions without a direction.
MOTION_PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "still": (
        ("standing still", "resting", "motionless", "not moving", "sitting still"),
        ("stands still", "rests", "stays motionless", "is not moving", "sits still"),
    ),
    "bounce": (
        ("bouncing", "hopping up and down", "bouncing up and down", "bouncing in place"),
        ("bounces", "hops up and down", "bounces up and down", "bounces in place"),
    ),
    "circle": (
        ("moving in a circle", "circling", "going round in a loop", "moving in circles"),
        ("moves in a circle", "goes round in a loop", "travels in a circle", "moves in circles"),
    ),
    "grow": (
        ("growing", "getting bigger", "expanding", "growing larger"),
        ("grows", "gets bigger", "expands", "grows larger"),
    ),
    "shrink": (
        ("shrinking", "getting smaller", "contracting"),
        ("shrinks", "gets smaller", "contracts"),
    ),
    "spin": (
        ("spinning", "rotating", "turning around", "spinning in place"),
        ("spins", "rotates", "turns around", "spins in place"),
    ),
}
TONE_WORDS: dict[str, tuple[str, ...]] = {
    "gray": ("gray", "grey"),
    "beige": ("beige",),
    "white": ("white",),
    "charcoal": ("charcoal", "dark gray", "dark grey"),
}
PLAIN_TEMPLATES: tuple[str, ...] = (
    "on a plain {tone} background",
    "against a {tone} backdrop",
    "on a {tone} background",
    "in front of a plain {tone} backdrop",
)
TEXTURED_PHRASES: dict[str, tuple[str, ...]] = {
    "sky": ("under a blue sky", "in the sky", "against a cloudy sky", "in a blue sky with clouds"),
    "grass": ("on grass", "in a grassy field", "on a green lawn", "in a meadow", "on the grass"),
    "night": ("at night", "under a starry night sky", "against the night sky", "on a starry night"),
    "stripes": ("in front of stripes", "on a striped background", "against a stripy backdrop"),
}
WEATHER_PHRASES: dict[str, tuple[str, ...]] = {
    "snow": ("while it snows", "in falling snow", "as snow falls", "while snow is falling", "on a snowy day"),
    "rain": ("in the rain", "while it rains", "as rain falls", "on a rainy day", "in the drizzle"),
}
WEATHER_SENTENCES: dict[str, tuple[str, ...]] = {
    "snow": ("It is snowing.", "Snow is falling."),
    "rain": ("It is raining.", "Rain is falling."),
}
PAN_CLAUSES: tuple[str, ...] = (
    ", as the camera pans {dir}",
    " while the camera pans to the {dir}",
    ", with the camera panning {dir}",
    ", the camera tracking {dir}",
)
PAN_SENTENCES: tuple[str, ...] = ("The camera pans {dir}.", "Camera pans to the {dir}.", "Panning {dir}.")
PAN_PREFIXES: tuple[str, ...] = ("Panning {dir}, ", "As the camera pans {dir}, ")
STATIC_CAMERA_SENTENCES: tuple[str, ...] = ("Static camera.", "The camera stays still.", "The camera does not move.")
WALL_SENTENCES: tuple[str, ...] = (
    "A brown wall stands in the middle.",
    "A wall stands in the centre.",
    "A pillar stands in the middle of the frame.",
    "There is a wall in the middle.",
)
COUNT_WORDS: tuple[str, ...] = ("", "one", "two", "three")
GENERIC_NOUNS: tuple[str, ...] = ("shape", "object", "thing")

_T = TypeVar("_T")


def caption(spec: SceneSpec, rng: np.random.Generator) -> str:
    """A randomly worded caption that still states every attribute of the scene."""
    order = [spec.objects[i] for i in rng.permutation(len(spec.objects))]
    form = _pick(rng, ("finite", "there", "header"))
    clauses = [f"{_noun_phrase(obj, rng)} {_motion_phrase(obj, form == 'finite', rng)}" for obj in order]
    body = _join_list(clauses)
    if form == "there":
        body = ("there is " if len(order) == 1 else "there are ") + body
    elif form == "header":
        noun = _pick(rng, GENERIC_NOUNS) + ("s" if len(order) > 1 else "")
        body = f"{COUNT_WORDS[len(order)]} {noun}: {body}"
    background = _background_phrase(spec.background, rng)
    if rng.random() < 0.5:
        body = f"{_capitalise(background)}, {body}"
    else:
        body = f"{body} {background}"
    sentences = _scene_sentences(spec, body, rng)
    return " ".join(_capitalise(sentence) for sentence in sentences)


def canonical_caption(spec: SceneSpec) -> str:
    """The one fixed wording of a scene: the training-caption style that prompt expansion targets."""
    nouns = [_canonical_noun(obj) for obj in spec.objects]
    clauses = [f"{_article(noun)} {noun} {_canonical_motion(obj)}" for noun, obj in zip(nouns, spec.objects)]
    parts = [_join_list(clauses), _canonical_background(spec.background)]
    if spec.weather != "none":
        parts.append({"snow": "while it snows", "rain": "in the rain"}[spec.weather])
    if spec.occluder is not None:
        parts.append("with a wall in the middle")
    text = _capitalise(", ".join(parts)) + "."
    if spec.camera_pan != "none":
        text += f" The camera pans {spec.camera_pan}."
    return text


def _scene_sentences(spec: SceneSpec, body: str, rng: np.random.Generator) -> list[str]:
    """Weather, camera and wall around the object sentence, in a random arrangement."""
    after: list[str] = []
    if spec.weather != "none":
        if rng.random() < 0.7:
            body = f"{body} {_pick(rng, WEATHER_PHRASES[spec.weather])}"
        else:
            after.append(_pick(rng, WEATHER_SENTENCES[spec.weather]))
    if spec.camera_pan != "none":
        body, after = _place_pan(spec.camera_pan, body, after, rng)
    elif rng.random() < 0.3:
        after.append(_pick(rng, STATIC_CAMERA_SENTENCES))
    if spec.occluder is not None:
        if rng.random() < 0.5:
            body = f"{body}, with a wall in the middle"
        else:
            after.insert(int(rng.integers(len(after) + 1)), _pick(rng, WALL_SENTENCES))
    return [body + ".", *after]


def _place_pan(direction: str, body: str, after: list[str], rng: np.random.Generator) -> tuple[str, list[str]]:
    """Put the camera pan in a clause after the objects, a sentence of its own, or a lead-in."""
    placement = _pick(rng, ("clause", "sentence", "prefix"))
    if placement == "clause":
        return body + _pick(rng, PAN_CLAUSES).format(dir=direction), after
    if placement == "sentence":
        return body, [*after, _pick(rng, PAN_SENTENCES).format(dir=direction)]
    return _pick(rng, PAN_PREFIXES).format(dir=direction) + body, after


def _noun_phrase(obj: ObjectSpec, rng: np.random.Generator) -> str:
    """'a small red ball': article, size, colour and a shape synonym."""
    words = f"{_pick(rng, SIZE_WORDS[obj.size])} {obj.colour} {_pick(rng, SHAPE_WORDS[obj.shape])}"
    return f"{_article(words)} {words}"


def _motion_phrase(obj: ObjectSpec, finite: bool, rng: np.random.Generator) -> str:
    """The object's motion (with speed for directions) as a participle or finite verb phrase."""
    if obj.motion not in DIRECTIONS:
        participles, finites = MOTION_PHRASES[obj.motion]
        return _pick(rng, finites if finite else participles)
    verb = _pick(rng, MOVE_VERBS)[1 if finite else 0]
    direction = _pick(rng, DIRECTION_WORDS[obj.motion])
    assert obj.speed is not None  # ObjectSpec guarantees a speed for directional motion
    placement = int(rng.integers(3))
    if placement == 0:
        return f"{_pick(rng, SPEED_ADVERBS[obj.speed])} {verb} {direction}"
    if placement == 1:
        return f"{verb} {_pick(rng, SPEED_ADVERBS[obj.speed])} {direction}"
    return f"{verb} {direction} {_pick(rng, SPEED_TRAILING[obj.speed])}"


def _background_phrase(background: str, rng: np.random.Generator) -> str:
    """A prepositional phrase for the background, plain tones by template and textures by phrase."""
    if background in PLAIN_BACKGROUNDS:
        return _pick(rng, PLAIN_TEMPLATES).format(tone=_pick(rng, TONE_WORDS[background]))
    return _pick(rng, TEXTURED_PHRASES[background])


def _canonical_noun(obj: ObjectSpec) -> str:
    return f"{obj.size} {obj.colour} {obj.shape}"


def _canonical_motion(obj: ObjectSpec) -> str:
    """Fixed motion wording: 'moving up and to the left quickly', 'spinning', ..."""
    if obj.motion not in DIRECTIONS:
        return MOTION_PHRASES[obj.motion][0][0]
    return f"moving {DIRECTION_WORDS[obj.motion][0]} {'quickly' if obj.speed == 'fast' else 'slowly'}"


def _canonical_background(background: str) -> str:
    if background in PLAIN_BACKGROUNDS:
        return f"on a plain {background} background"
    return {"sky": "under a blue sky", "grass": "on grass", "night": "at night", "stripes": "on a striped background"}[
        background
    ]


def _join_list(items: Sequence[str]) -> str:
    """'x', 'x and y', 'x, y and z'."""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _article(following: str) -> str:
    return "an" if following[0] in "aeiou" else "a"


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _pick(rng: np.random.Generator, options: Sequence[_T]) -> _T:
    """One option drawn uniformly; indexing keeps tuples intact where rng.choice would not."""
    return options[int(rng.integers(len(options)))]
