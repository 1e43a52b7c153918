"""Motion arithmetic of the prompt reader: directions by components, diagonals, relations, a following camera.

`prompts` reads words; this module turns what it read about several objects or the camera into
each object's direction ("two balls moving towards each other": right and left) and the camera's
pan ("the camera follows a ball moving left": left).
"""

from __future__ import annotations

from dataclasses import replace

from kinema.world.spec import DIRECTIONS, Attributes

# Directions a relation gives the first two moving objects when the prompt names neither: read left
# to right, "towards each other" starts the first object on the left heading right.
RELATION_DEFAULTS: dict[str, tuple[str, str]] = {
    "opposite": ("right", "left"),
    "towards": ("right", "left"),
    "apart": ("left", "right"),
    "same": ("right", "right"),
}


def relate(objects: list[Attributes], relation: str) -> bool:
    """Give objects without a direction the one a relation implies; False when fewer than two can move.

    A direction the prompt states is kept; the others follow the first stated one (its reverse for
    "opposite", "towards" and "apart", alternating over three objects).
    """
    movers = [i for i, o in enumerate(objects) if o.motion is None or o.motion in DIRECTIONS]
    if len(movers) < 2:
        shared = len(objects) > 1 and len({o.motion for o in objects}) == 1 and objects[0].motion is not None
        return relation == "same" and shared  # "two balls bouncing together" already holds
    stated = next((k for k, i in enumerate(movers) if objects[i].motion is not None), None)
    if stated is None:
        first, second = RELATION_DEFAULTS[relation]
        stated, objects[movers[0]] = 0, replace(objects[movers[0]], motion=first)
        objects[movers[1]] = replace(objects[movers[1]], motion=second)
    base = str(objects[movers[stated]].motion)
    dx, dy = (int(c) for c in DIRECTIONS[base])
    reverse = direction_name(-dx, -dy)
    for k, i in enumerate(movers):
        if objects[i].motion is None:
            flipped = relation != "same" and (k - stated) % 2 == 1
            objects[i] = replace(objects[i], motion=reverse if flipped else base)
    return True


def followed_pan(objects: list[Attributes]) -> str | None:
    """The pan of a camera that follows the first object with a sideways motion, if any has one."""
    for obj in objects:
        if obj.motion in DIRECTIONS and DIRECTIONS[obj.motion][0]:
            return "left" if DIRECTIONS[obj.motion][0] < 0 else "right"
    return None


def diagonal(motion: str | None) -> str | None:
    """The diagonal nearest a one-axis direction (down and right when none is said); other motions unchanged."""
    if motion is None:
        return "down-right"
    if motion in ("left", "right"):
        return f"down-{motion}"
    if motion in ("up", "down"):
        return f"{motion}-right"
    return motion


def direction_name(horizontal: int, vertical: int) -> str:
    """The direction with these components (screen convention, up is -1)."""
    for name, (dx, dy) in DIRECTIONS.items():
        if (int(dx), int(dy)) == (horizontal, vertical):
            return name
    raise ValueError(f"no direction has components ({horizontal}, {vertical})")
