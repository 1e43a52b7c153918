"""One noun phrase of a prompt: the objects it names ("two red balls") and what the reader gives them.

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
    definite: bool = False  # "the ball": may name an object read before ("a ball and a star; the ball moves left")
    foreign_noun: str | None = None  # "heart": a shape the world does not draw, kept so "the heart" finds it again

    def has_attributes(self) -> bool:
        return (bool(self.colours) or self.across
                or any(v is not None for v in (self.shape, self.size, self.motion, self.speed)))

    def take(self, mention: NounGroup) -> None:
        """Add what a later mention of these objects says ("a ball ... the small red ball")."""
        self.colours += [colour for colour in mention.colours if colour not in self.colours]
        self.size = mention.size or self.size
        self.motion, self.speed = self.motion or mention.motion, self.speed or mention.speed

    def objects(self) -> list[Attributes]:
        """Expand to one Attributes per object; a list of colours names one object each."""
        number = max(self.count or (2 if self.plural else 1), len(self.colours))
        out = []
        for index in range(number):
            if len(self.colours) == 1:
                colour: str | None = self.colours[0]
            else:
                colour = self.colours[index] if index < len(self.colours) else None
            motion = "right" if self.motion is None and self.across else self.motion
            motion = diagonal(motion) if self.diagonal else motion
            out.append(Attributes(self.shape, colour, self.size, motion, self.speed))
        return out
