"""One noun phrase of a prompt: the objects it names ("two red balls"), what the reader gives them,
and which earlier phrase a later mention ("the red one") names again.

`prompts` reads words into these groups; a group expands into one `Attributes` per object.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kinema.world.prompt_motion import diagonal
from kinema.world.spec import Attributes


@dataclass
class NounGroup:
    """One noun phrase: `count` objects that share shape, size, motion and speed."""

    count: int | None = None
    shape: str | None = None
    colours: list[str] = field(default_factory=list)
    size: str | None = None
    motion: str | None = None
    speed: str | None = None
    plural: bool = False
    generic: bool = False
    diagonal: bool = False  # "moving diagonally": a one-axis direction gains the other
    saw_unknown: bool = False  # an unknown word followed the count ("a cat jumping")
    placed: bool = False  # the count follows a preposition or direction ("on a table", "down a hill"): not a subject
    across: bool = False  # "moving across the screen": with no direction named, it goes right
    away: bool = False  # the motion is a bare "away" (shrinking), which a direction named after it replaces
    travels: bool = False  # a verb of going somewhere ("running") was its predicate: it goes one way or another
    definite: bool = False  # "the ball": may name an object read before ("a ball and a star; the ball moves left")
    foreign_noun: str | None = None  # "heart": a shape the world does not draw, kept so "the heart" finds it again
    order: float = 0.0  # where the prompt first named these objects: the caption keeps that order

    def has_attributes(self) -> bool:
        return (bool(self.colours) or self.across
                or any(v is not None for v in (self.shape, self.size, self.motion, self.speed)))

    def take(self, mention: NounGroup) -> None:
        """Add what a later mention of these objects says ("a ball ... the small red ball")."""
        self.colours += [colour for colour in mention.colours if colour not in self.colours]
        self.size = mention.size or self.size
        self.motion, self.speed = self.motion or mention.motion, self.speed or mention.speed

    def objects(self, across_goes_right: bool = True) -> list[Attributes]:
        """Expand to one Attributes per object; a list of colours names one object each.

        With `across_goes_right` false, "across" leaves the direction open for a relation to set
        ("two balls rolling towards each other").
        """
        number = max(self.count or (2 if self.plural else 1), len(self.colours))
        out = []
        for index in range(number):
            if len(self.colours) == 1:
                colour: str | None = self.colours[0]
            else:
                colour = self.colours[index] if index < len(self.colours) else None
            motion = "right" if self.motion is None and self.across and across_goes_right else self.motion
            motion = diagonal(motion) if self.diagonal else motion
            out.append(Attributes(self.shape, colour, self.size, motion, self.speed, self.travels and motion is None))
        return out


def split(groups: list[NounGroup], plural: NounGroup) -> list[NounGroup]:
    """Replace a plural group in `groups` by one group per object, so each can be described alone."""
    members = [
        NounGroup(1, plural.shape, list(plural.colours), plural.size, plural.motion, plural.speed,
                  generic=plural.generic, order=plural.order + index / 10)
        for index in range(plural.count or 2)
    ]
    index = groups.index(plural)
    groups[index:index + 1] = members
    return members


def find_referent(groups: list[NounGroup], mention: NounGroup, pronoun: bool = False) -> NounGroup | None:
    """The group read before that "the ball" (or "the big one") names again; None: a new object.

    It has the mention's shape ("the shape" names the only object; "one" any shape) and number, and
    the latest whose colour, size, motion and speed all match wins; failing that, the latest that
    says nothing against them ("a ball and a star; the red ball moves left" gives the ball its colour).
    A singular mention of a plural group is one of its objects, split off ("two balls, the red one").
    """
    if not mention.definite:
        return None

    def same_shape(earlier: NounGroup) -> bool:
        if mention.foreign_noun is not None:
            return earlier.foreign_noun == mention.foreign_noun
        if mention.shape is not None:
            return earlier.shape == mention.shape
        return pronoun or len(groups) == 1

    def fits(earlier: NounGroup, strict: bool) -> bool:
        colours = not mention.colours or set(mention.colours) <= set(earlier.colours) or (
            not strict and not earlier.colours)
        return colours and all(
            said is None or known == said or (not strict and known is None)
            for said, known in ((mention.size, earlier.size), (mention.motion, earlier.motion),
                                (mention.speed, earlier.speed)))

    for strict in (True, False):
        for earlier in reversed(groups):
            if same_shape(earlier) and earlier.plural == mention.plural and fits(earlier, strict):
                return earlier
    if not mention.plural:
        for earlier in reversed(groups):
            if same_shape(earlier) and earlier.plural and len(earlier.colours) <= 1 and fits(earlier, False):
                return split(groups, earlier)[0]
    return None
