"""Held-out attribute combinations: (colour, shape, motion) triples the training stream never draws.

A model that renders these correctly has composed attributes it only ever saw apart, which is
where text-to-video models fail most. The list is fixed: changing it invalidates every
compositional-generalisation number measured against it. Each colour, shape and motion in it
still appears in training in other combinations.
"""

from __future__ import annotations

HELDOUT_TRIPLES: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("red", "star", "left"),
        ("orange", "circle", "down-right"),
        ("yellow", "square", "spin"),
        ("green", "circle", "up"),
        ("cyan", "square", "grow"),
        ("blue", "triangle", "bounce"),
        ("purple", "star", "circle"),
        ("pink", "triangle", "right"),
        ("red", "triangle", "up-left"),
        ("blue", "circle", "shrink"),
        ("green", "star", "down"),
        ("yellow", "triangle", "still"),
    }
)


def is_heldout(colour: str, shape: str, motion: str) -> bool:
    """Whether this object combination is reserved for evaluation."""
    return (colour, shape, motion) in HELDOUT_TRIPLES
