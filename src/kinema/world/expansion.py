"""Prompt expansion: rewrite what a user types into the caption style the model was trained on.

Sora conditions on long, detailed captions and rewrites short user prompts into that style
before sampling. Kinema does the same for its world: the prompt is parsed into the attributes it
states (synonyms normalised by `prompts.parse_prompt`), whatever it leaves open is drawn from the
world's training distribution, and the result is written as a `canonical_caption`, the one fixed
wording of the training captions (fixed so that a prompt and seed always give the same text).

Three promises: a stated attribute is never changed unless the world cannot show it, and then
the reason is reported; every word the world does not understand is reported, never silently
dropped (a typo of a word it knows is read as that word, and the reading reported: `spelling`);
the caption always reads back (`complete_scene(parse_prompt(caption))`) to exactly
`Expansion.attributes`. An external rewriter (an LLM) may replace the rule-based reading, but its
output goes through the same parse, check and fill, so it can only produce captions the world
understands.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from kinema.world.captions import canonical_caption
from kinema.world.heldout import is_heldout
from kinema.world.prompt_words import tokenize
from kinema.world.prompts import parse_prompt
from kinema.world.sampling import WorldDistribution, pick
from kinema.world.spelling import correct_spelling
from kinema.world.spec import (
    DIRECTIONS,
    PANNABLE_BACKGROUNDS,
    SPEEDS,
    Attributes,
    ObjectSpec,
    Occluder,
    SceneAttributes,
    SceneSpec,
    attributes_of,
)

MAX_OBJECTS = 3
# The training stream's wall: centred, a little wider than a medium object (see sampling.place_behind_wall).
_WALL = Occluder(x=0.5, width=0.3)
_SIDEWAYS: tuple[str, ...] = ("left", "right")
_WALL_SIZES: tuple[str, ...] = ("small", "medium")  # objects that pass fully behind a wall
_FIELDS: tuple[str, ...] = ("shape", "colour", "size", "motion", "speed")
# Draws per object before accepting an unusual combination; the usual space is large, so a
# handful of draws almost always suffice.
_DRAWS = 100
_EXAMPLE = "a red ball bouncing on grass"
_WORLD = WorldDistribution()  # the training stream's distribution


@dataclass(frozen=True)
class Expansion:
    """A user prompt rewritten for the model, with what was not understood and what was filled in.

    `attributes` has every field set, read the way training captions are read: a pan, weather or
    wall the caption does not mention is "none" (`complete_scene(parse_prompt(caption))`).
    """

    caption: str  # the training-style caption the model is conditioned on
    unknown: tuple[str, ...]  # words the world model does not understand, reported to the user
    corrected: tuple[tuple[str, str], ...]  # typos read as known words, (typed, read as), reported too
    filled: tuple[str, ...]  # attributes filled from the world's distribution, e.g. ("background: grass", "size: medium")
    attributes: SceneAttributes  # what the caption states


def expand_prompt(
    text: str, *, seed: int | None = None, rewriter: Callable[[str], str] | None = None
) -> Expansion:
    """Rewrite a user prompt into a training caption, filling open attributes from the world (seeded).

    Without a seed the seed is derived from the prompt's words, so one prompt always expands the
    same way. With `rewriter`, its output replaces the rule-based reading of the prompt, and the
    unknown words of both the prompt and the rewrite are reported.
    """
    _check_prompt(text)
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise TypeError(f"seed must be an int or None; got {seed!r}")
    read, corrected = correct_spelling(text)
    stated = parse_prompt(read)
    unknown = list(stated.unknown_words)
    if rewriter is not None:
        stated = parse_prompt(_rewrite(rewriter, text))
        unknown += stated.unknown_words
    stated, conflicts = _reconcile(stated)
    spec, filled = _fill_scene(stated, _seed_for(read) if seed is None else seed % 2**64)
    return Expansion(
        caption=canonical_caption(spec),
        unknown=tuple(dict.fromkeys(unknown + conflicts)),
        corrected=corrected,
        filled=tuple(filled),
        attributes=attributes_of(spec),
    )


def _check_prompt(text: object) -> None:
    if not isinstance(text, str):
        raise TypeError(f"prompt must be a string; got {type(text).__name__}")
    if not any(token.isalnum() for token in tokenize(text)):
        raise ValueError(f"prompt is empty (got {text!r}); describe a scene, e.g. {_EXAMPLE!r}")


def _rewrite(rewriter: Callable[[str], str], text: str) -> str:
    """Call the external rewriter and check that it returned a non-empty caption."""
    rewritten = rewriter(text)
    if not isinstance(rewritten, str):
        raise TypeError(f"the prompt rewriter must return a caption string; got {type(rewritten).__name__}")
    if not any(token.isalnum() for token in tokenize(rewritten)):
        raise ValueError(f"the prompt rewriter returned an empty caption ({rewritten!r}) for {text!r}")
    return rewritten


def _seed_for(text: str) -> int:
    """A stable seed from the prompt's words, ignoring case and punctuation (Python's hash() is salted per process)."""
    words = " ".join(token for token in tokenize(text) if token.isalnum())
    return int.from_bytes(hashlib.sha256(words.encode()).digest()[:8], "little")


def _reconcile(stated: SceneAttributes) -> tuple[SceneAttributes, list[str]]:
    """Drop what the world cannot show (and say why), keeping everything else the prompt states."""
    conflicts: list[str] = []
    objects = list(stated.objects)
    if len(objects) > MAX_OBJECTS:
        conflicts.append(f"{len(objects)} objects (a scene holds at most {MAX_OBJECTS})")
        objects = objects[:MAX_OBJECTS]
    repeated: dict[str, int] = {}
    seen: set[str] = set()
    for index, obj in enumerate(objects):
        if obj.colour is not None and obj.colour in seen:
            repeated[obj.colour] = repeated.get(obj.colour, 1) + 1
            objects[index] = obj = replace(obj, colour=None)
        seen.add(obj.colour or "")
        if obj.speed is not None and obj.motion is not None and obj.motion not in DIRECTIONS:
            conflicts.append(f"{obj.speed} {obj.motion} (only motion in a direction has a speed)")
            objects[index] = replace(obj, speed=None)
    conflicts += [f"{count} {colour} objects (each object in a scene has its own colour)" for colour, count in repeated.items()]
    camera_pan = stated.camera_pan
    if camera_pan not in (None, "none") and stated.background not in (None, *PANNABLE_BACKGROUNDS):
        conflicts.append(f"camera pan {camera_pan} (a pan needs a sky, grass, night or striped background)")
        camera_pan = None
    return replace(stated, objects=tuple(objects), camera_pan=camera_pan, unknown_words=()), conflicts


def _fill_scene(stated: SceneAttributes, seed: int, dist: WorldDistribution = _WORLD) -> tuple[SceneSpec, list[str]]:
    """A scene honouring every stated attribute, the open ones drawn from `dist`; also the filled list.

    The scene and each object draw from their own random stream, and values are drawn even where
    the prompt states them, so editing one part of a prompt ("on grass") leaves the fills of the
    others as they were.
    """
    filled: list[str] = []
    scene_rng, *object_rngs = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(1 + MAX_OBJECTS))
    weights = np.asarray(dist.object_count_weights) / sum(dist.object_count_weights)
    count = int(scene_rng.choice(dist.object_counts, p=weights))
    panned = stated.camera_pan not in (None, "none")
    drawn_background = pick(scene_rng, PANNABLE_BACKGROUNDS if panned else dist.backgrounds)
    stated_objects = stated.objects
    if not stated_objects:
        stated_objects = (Attributes(),) * count
        filled.append(f"count: {count}")
    walled = _wall_object(stated_objects) if stated.occluder else None
    free = [c for c in dist.colours if c not in {obj.colour for obj in stated_objects}]
    objects = []
    for index, obj in enumerate(stated_objects):
        spec, names = _fill_object(obj, free, object_rngs[index], dist, behind_wall=index == walled)
        free = [c for c in free if c != spec.colour]
        objects.append(spec)
        prefix = f"object {index + 1} " if len(stated_objects) > 1 else ""
        filled += [f"{prefix}{name}: {getattr(spec, name)}" for name in names]
    background = stated.background
    if background is None:
        background = drawn_background
        filled.append(f"background: {background}")
    # Pan, weather and wall stay off unless asked for: a training caption names them only when
    # present (prompts.complete_scene), and a user's silence about them reads the same way.
    spec = SceneSpec(
        objects=tuple(objects),
        background=background,
        camera_pan=stated.camera_pan or "none",
        weather=stated.weather or "none",
        occluder=_WALL if stated.occluder else None,
    )
    return spec, filled


def _wall_object(objects: tuple[Attributes, ...]) -> int | None:
    """Which object passes behind the wall: one stated to move sideways, else the first free to."""
    for index, obj in enumerate(objects):
        if obj.motion in _SIDEWAYS:
            return index
    for index, obj in enumerate(objects):
        if obj.motion is None:
            return index
    return None  # every motion is stated and none is sideways: the wall is only scenery


def _fill_object(
    stated: Attributes,
    colours: list[str],
    rng: np.random.Generator,
    dist: WorldDistribution = _WORLD,
    behind_wall: bool = False,
) -> tuple[ObjectSpec, list[str]]:
    """One object with its stated fields kept and the open ones drawn; also the names of the filled fields.

    Draws are redrawn until the combination is one the training stream makes (no held-out
    triple, no spinning disc, nothing growing from large or shrinking from small), but only
    combinations involving a filled field are judged: what the user states is never refused.
    """
    travels = stated.speed is not None or stated.travels  # "quickly", "running": a direction, not a spin
    motions = tuple(m for m in dist.motions if m in DIRECTIONS) if travels else dist.motions
    if behind_wall:
        motions = tuple(m for m in motions if m in _SIDEWAYS) or _SIDEWAYS
    sizes = tuple(s for s in dist.sizes if s in _WALL_SIZES) if behind_wall else dist.sizes
    for _ in range(_DRAWS):
        drawn = Attributes(
            pick(rng, dist.shapes), pick(rng, colours), pick(rng, sizes), pick(rng, motions), pick(rng, tuple(SPEEDS))
        )
        merged = Attributes(*(getattr(stated, name) or getattr(drawn, name) for name in _FIELDS))
        if _is_usual(merged, stated):
            break
    speed = merged.speed if merged.motion in DIRECTIONS else None
    obj = ObjectSpec(merged.shape, merged.colour, merged.size, merged.motion, speed)  # type: ignore[arg-type]
    names = [name for name in _FIELDS if getattr(stated, name) is None and getattr(obj, name) is not None]
    return obj, names


def _is_usual(obj: Attributes, stated: Attributes) -> bool:
    """Whether the training stream makes this combination, judging only combinations with a filled field."""

    def judged(*names: str) -> bool:
        return any(getattr(stated, name) is None for name in names)

    if judged("colour", "shape", "motion") and is_heldout(obj.colour, obj.shape, obj.motion):  # type: ignore[arg-type]
        return False
    if judged("shape", "motion") and (obj.shape, obj.motion) == ("circle", "spin"):
        return False  # a spinning disc looks still; sampling.place_object never draws one
    # The sampler starts growth below large and shrinking above small (sampling.place_object).
    return not (judged("size", "motion") and (obj.size, obj.motion) in (("large", "grow"), ("small", "shrink")))
