"""The text-to-video eval's two prompt sets: held-out attribute combinations and their seen twins.

The held-out set draws scenes whose probe object (object 0) is one of the 12 held-out (colour,
shape, motion) triples the training stream never shows. The seen set is the same scenes with the
probe object recoloured to a colour that makes its triple one training does show: same layout,
motion, shape, background, other objects and word order, so the gap between the two sets
measures compositional generalisation and nothing else (a matched-pairs design).

Held-out triples never fit behind a wall in a 2 s clip (stars and triangles reach too far), so
every tenth scene adds the held-out probe beside a seen object that passes behind a wall; both
sets then measure object permanence. Each prompt is a training-style caption in varied wording
that states every attribute of its scene, and keeps its `SceneSpec`, which renders the reference
clip and is the truth the analytic checker judges against. Everything is seeded: the same size
gives the same prompts on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from kinema.world.captions import caption
from kinema.world.heldout import is_heldout
from kinema.world.sampling import WorldDistribution, pick, sample_object, sample_scene
from kinema.world.spec import COLOURS, SceneSpec

SET_NAMES = ("seen", "heldout")
DEFAULT_SET_SIZE = 200
SCENE_SEED = 60_000_000  # far from the training streams (seeded [seed, step]) and from the VAE eval (50_000_000)
CAPTION_SEED = 60_100_000
RECOLOUR_SEED = 60_200_000
WALL_EVERY = 10  # every tenth scene has a wall (training draws one in about 8% of scenes)
DURATION = 2.125  # seconds the scenes are laid out for: the training stream's 17-frame duration
MAX_WALL_TRIES = 400


@dataclass(frozen=True)
class EvalPrompt:
    """One eval prompt: its caption, the scene it describes, and which object carries the tested combination."""

    set_name: str
    index: int
    prompt: str
    spec: SceneSpec
    probe: int = 0  # index in spec.objects of the (colour, shape, motion) under test

    @property
    def probe_triple(self) -> tuple[str, str, str]:
        obj = self.spec.objects[self.probe]
        return obj.colour, obj.shape, obj.motion


def prompt_set(name: str, size: int = DEFAULT_SET_SIZE) -> tuple[EvalPrompt, ...]:
    """The `name` set ("seen" or "heldout") of `size` prompts; deterministic, and a prefix of any larger size."""
    if name not in SET_NAMES:
        raise ValueError(f"prompt set must be one of {', '.join(SET_NAMES)}; got {name!r}")
    if size < 1:
        raise ValueError(f"a prompt set needs at least 1 prompt; got size={size}")
    return _build_sets(size)[SET_NAMES.index(name)]


@lru_cache(maxsize=4)
def _build_sets(size: int) -> tuple[tuple[EvalPrompt, ...], tuple[EvalPrompt, ...]]:
    """Both sets at once: the seen set is derived from the held-out one, scene by scene."""
    seen, heldout = [], []
    for index in range(size):
        scene = heldout_scene(index)
        twin = seen_twin(scene, np.random.default_rng([RECOLOUR_SEED, index]))
        # One wording seed for both: the two prompts differ only in the probe's colour word.
        heldout.append(EvalPrompt("heldout", index, caption(scene, np.random.default_rng([CAPTION_SEED, index])), scene))
        seen.append(EvalPrompt("seen", index, caption(twin, np.random.default_rng([CAPTION_SEED, index])), twin))
    return tuple(seen), tuple(heldout)


def heldout_scene(index: int) -> SceneSpec:
    """Scene `index` of the held-out set: object 0 is a held-out triple, the others are seen ones."""
    if index % WALL_EVERY == WALL_EVERY - 1:
        return heldout_scene_with_wall(index)
    return sample_scene(np.random.default_rng([SCENE_SEED, index]), DURATION, WorldDistribution(heldout="only"))


def heldout_scene_with_wall(index: int) -> SceneSpec:
    """A seen object passing behind a wall, with a held-out object placed beside it (object 0)."""
    walled = WorldDistribution(object_counts=(1,), object_count_weights=(1.0,), p_occluder=1.0, heldout="exclude")
    times = np.linspace(0.0, DURATION, max(9, int(DURATION * 8) + 1))  # as sample_scene checks clearance
    for attempt in range(MAX_WALL_TRIES):
        rng = np.random.default_rng([SCENE_SEED, index, attempt])
        base = sample_scene(rng, DURATION, walled)
        if base.occluder is None:
            continue
        probe = sample_object(rng, WorldDistribution(heldout="only"), times, base.camera_pan, list(base.objects),
                              base.occluder, want_heldout=True, attempts=200)
        if probe is not None:
            return replace(base, objects=(probe, *base.objects))
    raise RuntimeError(f"no wall scene with a held-out object found for prompt {index} in {MAX_WALL_TRIES} tries")


def seen_twin(scene: SceneSpec, rng: np.random.Generator) -> SceneSpec:
    """The scene with object 0 recoloured so its (colour, shape, motion) is one training shows.

    Colour never changes where an object is or how it moves, so the twin is as valid a scene as
    the original (the other objects keep their distinct colours).
    """
    probe, others = scene.objects[0], scene.objects[1:]
    taken = {obj.colour for obj in others}
    options = [c for c in COLOURS if c not in taken and c != probe.colour and not is_heldout(c, probe.shape, probe.motion)]
    return replace(scene, objects=(replace(probe, colour=pick(rng, options)), *others))
