"""Free text to scene attributes: what a user's prompt (or a training caption) says about a scene.

The analytic checker judges a generated video against these attributes, and prompt expansion
fills in what they leave open. The reader is a small left-to-right pass over words and set
phrases: colour and size adjectives wait for the next shape noun (one with no noun after it that
follows a noun or punctuation describes the object before: "the ball is red"), motion
and speed attach to the nearest object before them (or the next one if none precedes, or if they
stand before its noun: "a ball and a fast red square", "a spinning star"; objects named together
without a motion of their own share it: "a ball and a star moving left"), and camera, weather and
background phrases are scene-level, so "moving up while the camera pans left" moves the object
up and the camera left. A plural noun followed by "one ..." phrases is split into its members
("two balls, one red moving left and one blue moving right"), and a relation ("in opposite
directions", "towards each other") becomes the objects' directions. Words it cannot place are
reported, so a user sees what the world model cannot do ("not understood: dragon, flying").
"""

from __future__ import annotations

from dataclasses import replace

from kinema.world.prompt_groups import NounGroup, find_referent, split
from kinema.world.prompt_motion import direction_name, followed_pan, relate
from kinema.world.prompt_words import read_words
from kinema.world.spec import BACKGROUNDS, COLOURS, DIRECTIONS, PANNABLE_BACKGROUNDS, SHAPES, SceneAttributes
from kinema.world.vocabulary import (
    ATTACHING_WORDS,
    DESTINATION_PREPOSITIONS,
    NEAREST_BACKGROUND,
    NOUN_KINDS,
    PLACE_PREPOSITIONS,
    PRENOMINAL_KINDS,
    PREPOSITIONS,
    ROTATION_SENSES,
    SCENE_KINDS,
    SOURCE_PREPOSITIONS,
    Word,
)

_OBJECT_COLOURS = f"objects are {', '.join(COLOURS)}"  # the hint after a colour no object has
_OBJECT_SHAPES = f"shapes are {', '.join(SHAPES)}"  # the hint after a shape the world does not draw
_BACKGROUNDS = f"backgrounds are {', '.join(BACKGROUNDS)}"  # the hint after a background the world lacks


class _Reader:
    """The left-to-right pass: feeds recognised words into object groups and scene fields."""

    def __init__(self) -> None:
        self.groups: list[NounGroup] = []
        self.pending = NounGroup()  # adjectives waiting for their noun
        self.unknown: list[str] = []
        self.background: str | None = None
        self.camera_pan: str | None = None
        self.weather: str | None = None
        self.occluder: bool | None = None
        self.camera_mode = False  # after "camera"/"pans": the next direction is the camera's
        self.pan_without_direction = False  # "the camera pans" and no direction: it pans right
        self.follow: str | None = None  # "the camera follows ...": it pans the way the first sideways mover goes
        self.weather_tail = 0  # 1 after a weather word, 2 after a swallowed "falling"
        self.postposed: NounGroup | None = None  # "something red": adjectives after the noun
        self.distribute = False  # after "all"/"both": motion goes to every object so far
        # "two balls, one red and one blue": a plural group split into members, each "one ..." describing the next.
        self.members: list[NounGroup] = []
        self.member: NounGroup | None = None  # the member now being described
        self.described = 0  # members described so far
        self.previous_kind = ""
        self.previous_text = ""  # the last word read that was not a function word
        self.later = False  # after "then": a motion for an object that has one is a second motion, reported
        self.moved_before: list[NounGroup] = []  # objects that had a motion when "then" was read
        self.negation: str | None = None  # "not", "without", ...: it applies to the next word that means something
        self.before_noun = False  # the word being read stands before its noun ("a *fast* red ball")
        # (relation, phrase) of "in opposite directions", "towards each other": applied to the result's objects
        self.relation: tuple[str, str] | None = None
        self.recent: list[str] = []  # the last two words read, function words included
        self.place: int | None = None  # index in `unknown` of the place phrase being read ("in the bottom left")
        # The direction just read followed "from" ("from the top"): one on the other axis right after it does too
        # ("from the top left"), one on the same axis is where the motion goes ("from the bottom up").
        self.source: tuple[int, int] | None = None
        # "a red ball and a blue ball moving left": groups named since the last predicate, and those of
        # them without a motion, which share the predicate of the last one.
        self.subjects: list[NounGroup] = []
        self.sharers: list[NounGroup] | None = None  # set by the first predicate word after the subjects
        self.mentioned: list[NounGroup] = []  # objects named again ("the ball", "the red one")
        self.compared_speed: str | None = None  # "faster than ...": the speed of the next object named

    def feed(self, text: str, word: Word | None, following: Word | None, before_noun: bool = False) -> None:
        """Consume one word or phrase, knowing the next one (and whether a noun ends the run it starts)."""
        self._read(text, word, following, before_noun)
        if word is None or word.kind != "place":  # "the left ball" still reads as "the ball"
            self.recent = [*self.recent[-1:], text]

    def _read(self, text: str, word: Word | None, following: Word | None, before_noun: bool) -> None:
        kind = word.kind if word is not None else "unknown"
        if kind == "stop":
            return
        if self.negation is not None and kind not in ("count", "verb"):
            self._negate(text, kind)
            return
        if self.camera_mode and self._feed_camera(text, word):
            self.previous_kind, self.previous_text = kind, text
            return
        after_weather = self.weather_tail and word is not None and word.kind == "direction"
        if after_weather and (word.verb or self.weather_tail == 2):  # type: ignore[union-attr]
            self.weather_tail = 2  # "snow is falling (down)" says nothing about the objects
            return
        self.weather_tail = 0
        self.before_noun = before_noun
        if self.recent[-1:] == ["the"] and (kind in NOUN_KINDS or before_noun and kind in PRENOMINAL_KINDS):
            self.pending.definite = self.pending.count is None and not self.pending.has_attributes()
        if kind != "direction":
            self.place, self.source = None, None
        if kind in SCENE_KINDS and self._unknown_noun_waiting():
            self._close_unknown_noun()  # "a cat on grass", "a dog in the snow": the cat and the dog are objects
        handler = getattr(self, f"_on_{kind}")
        handler(text, word, following)
        if kind in SCENE_KINDS and self.pending.count is not None and not self.pending.has_attributes():
            self.pending = NounGroup()  # the "a" of "in a meadow" or "with a static camera"
        self.previous_kind, self.previous_text = kind, text

    def _feed_camera(self, text: str, word: Word | None) -> bool:
        """While a pan is being described, take its direction; False once the phrase has ended."""
        if word is None or word.kind in ("boundary", "count", "colour", "size", *NOUN_KINDS):
            self.camera_mode = False
            return False
        if word.kind == "direction":
            self.pan_without_direction = False
            horizontal = word.value[0]  # type: ignore[index]
            if horizontal:
                self.camera_pan = "left" if horizontal < 0 else "right"
            else:
                self.unknown.append(text)  # the world's camera only pans sideways
            self.camera_mode = False
            return True
        if word.kind == "motion" and word.value == "still":
            self.camera_pan, self.camera_mode = "none", False
            return True
        if word.kind in ("verb", "speed", "camera"):
            self._note_pan(text)
            return True
        if word.kind == "follow":
            self.follow, self.camera_mode = text, False
            return True
        self.camera_mode = False
        return False

    def _on_unknown(self, text: str, word: Word | None, following: Word | None) -> None:
        self.unknown.append(text)
        if self.pending.count is not None:
            self.pending.saw_unknown = True

    def _on_follow(self, text: str, word: Word | None, following: Word | None) -> None:
        self.relation = self.relation or ("same", text)  # "a ball chasing a star": both go the same way

    def _on_boundary(self, text: str, word: Word | None, following: Word | None) -> None:
        self.postposed, self.distribute, self.member = None, False, None
        if text != ",":
            self.subjects, self.sharers = [], None  # "Two shapes: a ball moving left ...": the header shares nothing

    def _on_negation(self, text: str, word: Word | None, following: Word | None) -> None:
        self.negation = text

    def _negate(self, text: str, kind: str) -> None:
        """The word after a negation: scene parts are switched off, anything else is reported and skipped."""
        negation, self.negation = self.negation, None
        if kind == "weather":
            self.weather = "none"
        elif kind == "occluder":
            self.occluder = False
        elif kind == "camera":
            self.camera_pan = "none"
        elif kind == "boundary":
            self._on_boundary(text, None, None)
        else:
            self.unknown.append(f"{negation} {text}")
            if kind in NOUN_KINDS:
                self.pending = NounGroup()  # "not a ball": no ball

    def _on_sequence(self, text: str, word: Word | None, following: Word | None) -> None:
        self.later = True
        self.moved_before = [group for group in self.groups if group.motion is not None]

    def _second_motion(self, text: str, target: NounGroup, motion: str) -> bool:
        """A motion for an object that already has another is reported, not applied: one motion per object.

        Directions still combine across axes ("up and to the left"), except after "then"; opposite
        ones are two motions ("left and right").
        """
        if target.motion is None or (target.motion == motion and not self.later):
            return False
        if not self.later and target.motion in DIRECTIONS and motion in DIRECTIONS:
            if not _opposed(target.motion, motion):
                return False
        self.unknown.append(f"{'then ' if self.later else ''}{text} (one motion per object)")
        return True

    def _on_verb(self, text: str, word: Word | None, following: Word | None) -> None:
        """'moving', 'slides': the words that follow carry the meaning, but the predicate starts here."""
        if self._unknown_noun_waiting() and not self.before_noun:
            self._close_unknown_noun()  # "a dog and a cat running": the cat is the predicate's last subject
        if self.groups and not self.before_noun:
            self._predicate_sharers()  # "a ball rolls and a star moves left": the ball keeps its own
        if word is not None and word.value == "travel":
            for target in self._motion_targets(word):
                target.travels = True

    def _on_across(self, text: str, word: Word, following: Word | None) -> None:
        self._on_verb(text, word, following)
        for target in self._motion_targets(word):
            target.across = True

    def _on_diagonal(self, text: str, word: Word, following: Word | None) -> None:
        for target in self._motion_targets(word):
            target.diagonal = True

    def _on_unshowable(self, text: str, word: Word, following: Word | None) -> None:
        self.unknown.append(f"{text} ({word.value})")

    def _on_count(self, text: str, word: Word, following: Word | None) -> None:
        self.postposed = None
        attached = bool(self.recent) and self.recent[-1] in ATTACHING_WORDS
        if self._unknown_noun_waiting() and (self.pending.has_attributes() or not attached):
            self._close_unknown_noun()  # "a cat chasing a mouse", "a dog running left and a cat ..."
        elif self.pending.saw_unknown and not self.pending.has_attributes():
            self.pending = NounGroup()  # "a photo of a ball", "a kid riding a bike": the second "a" starts afresh
        if text == "one" and self.previous_kind == "place":
            return  # "the left one": the place picked the object
        if text == "one" and self.pending.definite and self.pending.count is None and self.pending.has_attributes():
            self._close_pending(None, plural=False, generic=True, pronoun=True)  # "the big one", "the red one"
            return
        if text == "one" and following is not None and following.kind not in NOUN_KINDS:
            member = self._next_member()
            if member is not None:
                self.member = member
                return
        if text == "one" and self.pending.count is not None and self.pending.has_attributes():
            if self.pending.shape is None and self.groups:
                self.pending.shape = self.groups[-1].shape  # "a big red ball and a small one": another ball
            return
        self.pending.count = max(self.pending.count or 0, int(word.value))  # type: ignore[arg-type]
        # "on a table", "down a hill": a place or a path, not a subject
        after_path = self.previous_kind == "direction" and self._adjacent()
        self.pending.placed = bool(self.recent) and (self.recent[-1] in PREPOSITIONS or after_path)

    def _on_colour(self, text: str, word: Word, following: Word | None) -> None:
        if following is not None and following.kind in ("background", "occluder"):
            return  # "blue sky", "green lawn", "red wall": describes the scene, not an object
        if following is not None and following.kind == "bg_noun":  # the world has no coloured plain backgrounds
            nearest = NEAREST_BACKGROUND.get(str(word.value))
            if nearest is None:
                self.unknown.append(f"{text} ({_BACKGROUNDS})")
                return
            self.unknown.append(f"{text} (read as {nearest}, the nearest; {_BACKGROUNDS})")
            self.background = self.background or nearest
            return
        target = self._adjective_target()
        if target is self.member:
            target.colours = [str(word.value)]  # "two red balls, one blue ...": the member's own colour wins
        elif word.value not in target.colours:
            target.colours.append(str(word.value))

    def _on_foreign_colour(self, text: str, word: Word, following: Word | None) -> None:
        self._on_unknown(f"{text} ({_OBJECT_COLOURS})", word, following)

    def _on_size(self, text: str, word: Word, following: Word | None) -> None:
        if following is not None and following.kind in ("background", "occluder"):
            return  # "a big field", "a large wall"
        self._adjective_target().size = str(word.value)

    def _on_shape_adj(self, text: str, word: Word, following: Word | None) -> None:
        self._adjective_target().shape = str(word.value)

    def _next_member(self) -> NounGroup | None:
        """The next undescribed member of the plural group before this "one", splitting it on first use.

        Only a "one" right after a comma or colon starts the split ("two balls, one red ..."), so
        "two red balls and one blue square" stays three objects.
        """
        if self.pending.count is not None or self.pending.has_attributes() or not self.groups:
            return None
        if self.members and self.groups[-1] is self.members[-1]:
            continuing = self.member is not None or self.previous_kind == "boundary"
            if not continuing or self.described == len(self.members):
                return None
            self.described += 1
            return self.members[self.described - 1]
        plural = self.groups[-1]
        size = plural.count or (2 if plural.plural else 1)
        if self.previous_kind != "boundary" or size < 2 or len(plural.colours) > 1:
            return None
        self.members = split(self.groups, plural)
        self.described = 1
        return self.members[0]

    def _adjective_target(self) -> NounGroup:
        """'something red' gives the adjective to the noun before it; otherwise it waits for the next noun."""
        if self._describing_member():
            return self.member  # type: ignore[return-value]
        if self._predicative():
            self.postposed = self.groups[-1]
        if self.postposed is not None and self.pending.count is None and not self.pending.has_attributes():
            return self.postposed
        return self.pending

    def _predicative(self) -> bool:
        """Whether an adjective with no noun after it describes the object before it.

        It does when it follows that object's noun ("the ball is red and moves left", "a star painted
        blue", "ball red left") or punctuation ("two balls, red and blue", "Ball. Red. Moving left.").
        """
        if self.before_noun or not self.groups or self.pending.count is not None or self.pending.has_attributes():
            return False
        return self.previous_kind in (*NOUN_KINDS, "all", "boundary")

    def _on_shape(self, text: str, word: Word, following: Word | None) -> None:
        if self._describing_member():
            self.member.shape = str(word.value)  # type: ignore[union-attr]  # "..., one red ball and one blue ball"
            return
        named = self.previous_kind in ("shape", "foreign_shape", "generic")
        if text == "circles" and named and not self.pending.has_attributes():
            self.before_noun = False
            for target in self._motion_targets(word):
                target.motion = "circle"  # "the ball circles": a verb, not a second noun
            return
        self._close_pending(str(word.value), word.plural, generic=False)

    def _on_foreign_shape(self, text: str, word: Word, following: Word | None) -> None:
        self.unknown.append(f"{text} ({_OBJECT_SHAPES})")
        if not self._describing_member():
            self.pending.foreign_noun = str(word.value)
            self._close_pending(self.pending.shape, word.plural, generic=False)  # still an object: "a red heart"

    def _on_generic(self, text: str, word: Word, following: Word | None) -> None:
        if self._describing_member():
            return  # "two shapes, one red one and ..."
        self._close_pending(self.pending.shape, word.plural, generic=True)

    def _on_something(self, text: str, word: Word, following: Word | None) -> None:
        self._close_pending(self.pending.shape, plural=False, generic=True)
        self.postposed = self.groups[-1]

    def _close_pending(self, shape: str | None, plural: bool, generic: bool, pronoun: bool = False) -> None:
        """A noun (or the pronoun "one") ends the waiting adjectives: they become one group of objects."""
        group = self.pending
        group.shape, group.plural, group.generic = shape, plural, generic
        group.speed, self.compared_speed = group.speed or self.compared_speed, None
        referent = find_referent(self.groups, group, pronoun)
        if referent is None and pronoun and self.groups:  # "a red ball ... and the blue one": another ball
            group.shape, group.foreign_noun = self.groups[-1].shape, self.groups[-1].foreign_noun
        if referent is not None:
            self.groups.remove(referent)  # it is the object being described now, so it goes last (until `result`)
            # A mention starts a clause of its own: objects only introduced before it do not share its
            # predicate ("a big ball and a small ball, the big one moves right": not the small one).
            self.subjects = [s for s in self.subjects if s is not referent and any(s is m for m in self.mentioned)]
            self.mentioned.append(referent)
            referent.take(group)
            group = referent
        else:
            group.order = len(self.groups)  # after every group named so far (groups never shrink)
        self.groups.append(group)
        if self.sharers is not None:
            self.subjects, self.sharers = [], None
        self.subjects.append(group)
        self.pending = NounGroup()
        self.postposed, self.distribute = None, False
        self.members, self.member = [], None

    def _unknown_noun_waiting(self) -> bool:
        """Whether the waiting words are a count and a noun the world does not know ("a cat"): still an object."""
        return self.pending.count is not None and self.pending.saw_unknown and not self.pending.placed

    def _close_unknown_noun(self) -> None:
        self._close_pending(self.pending.shape, plural=False, generic=False)

    def _describing_member(self) -> bool:
        """True while words describe a member ("one red ...") rather than start a new object."""
        return self.member is not None and self.pending.count is None and not self.pending.has_attributes()

    def _motion_targets(self, word: Word) -> list[NounGroup]:
        """Motion attaches to the nearest object before it, or waits for the next when none precedes."""
        if self.before_noun:
            return [self._adjective_target()]  # "a ball and a *spinning* star"
        # "a cat jumping": the unknown noun after the count is an object, and the motion is its own (with
        # earlier subjects that have none, as for a known noun). Not for a bare speed ("a ball moving to
        # a tree quickly"), nor after a place ("on a table").
        if self._unknown_noun_waiting() and word.kind != "speed":
            self._close_unknown_noun()
        pending = self.pending
        if pending.has_attributes() or (pending.count is not None and not self.groups):
            return [pending]
        if not self.groups:
            return [pending]
        if self._describing_member():
            return [self.member]  # type: ignore[list-item]
        if self.members and self.groups[-1] is self.members[-1]:
            return list(self.members)  # "two balls, one red and one blue, bouncing": every member
        if self.distribute:
            return list(self.groups)
        return [*self._predicate_sharers(), self.groups[-1]]

    def _predicate_sharers(self) -> list[NounGroup]:
        """Earlier subjects without a motion share the last one's predicate ("a ball and a star spin")."""
        if self.sharers is None:
            last = self.groups[-1]
            self.sharers = [g for g in self.subjects if g is not last and g.motion is None and g.speed is None]
        return self.sharers

    def _on_motion(self, text: str, word: Word, following: Word | None) -> None:
        for target in self._motion_targets(word):
            if text in ROTATION_SENSES and target.motion == "spin":
                continue
            if not self._second_motion(text, target, str(word.value)):
                target.motion, target.away = str(word.value), text == "away"

    def _on_speed(self, text: str, word: Word, following: Word | None) -> None:
        for target in self._motion_targets(word):
            if any(target is group for group in self.moved_before):
                self.unknown.append(f"then {text} (one motion per object)")  # the speed of the later motion
            else:
                target.speed = str(word.value)

    def _on_comparative(self, text: str, word: Word, following: Word | None) -> None:
        """'faster than the blue one': this object fast, the one named next slow (and the reverse).

        "Overtaking" and "trailing" also say both go the same way.
        """
        self._on_speed(text, word, following)
        self.compared_speed = "slow" if word.value == "fast" else "fast"
        if not text.endswith("than") and self.relation is None:
            self.relation = ("same", text)

    def _on_direction(self, text: str, word: Word, following: Word | None) -> None:
        """Directions combine across axes ('up and to the left'); a later word on one axis replaces it.

        After "on/at/in the" a direction is a place, reported; after "from" it is where the motion
        starts, so the object heads the other way ("coming from the left" moves right).
        """
        if self._read_place(text, word):
            return
        horizontal, vertical = word.value  # type: ignore[misc]
        continued = (self.source is not None and self.previous_kind == "direction" and self._adjacent()
                     and not (horizontal and self.source[0]) and not (vertical and self.source[1]))
        from_source = not word.verb and (continued or self._preposition() in SOURCE_PREPOSITIONS)
        self.source = (horizontal, vertical) if from_source else None
        if from_source:
            horizontal, vertical = -horizontal, -vertical
        destination = self.previous_kind == "direction" and self._preposition() in DESTINATION_PREPOSITIONS
        for target in self._motion_targets(word):
            heading = direction_name(horizontal, vertical)
            if destination and target.motion in DIRECTIONS and _opposed(target.motion, heading):
                target.motion = None  # "left to right": the first direction was where the motion starts
            if target.away:
                target.motion, target.away = None, False  # "flies away to the left": it goes left
            if self._second_motion(text, target, heading):
                continue
            if target.motion in DIRECTIONS:
                old_h, old_v = (int(c) for c in DIRECTIONS[target.motion])
                horizontal, vertical = horizontal or old_h, vertical or old_v
            target.motion = direction_name(horizontal, vertical)

    def _adjacent(self) -> bool:
        """Whether no function word stands between this word and the one read before it."""
        return bool(self.recent) and self.recent[-1] == self.previous_text

    def _preposition(self) -> str | None:
        """The preposition just before this word, past an optional "the" ("to the left": "to")."""
        words = self.recent[:-1] if self.recent[-1:] == ["the"] else self.recent
        return words[-1] if words else None

    def _read_place(self, text: str, word: Word) -> bool:
        """'on the left', 'in the bottom right': a place in the frame, which the world does not choose."""
        if self.place is not None and self.previous_kind == "direction" and self._adjacent():
            self.unknown[self.place] = self.unknown[self.place].replace(" (", f" {text} (", 1)
            return True
        if word.verb or self.recent[-1:] != ["the"] or self._preposition() not in PLACE_PREPOSITIONS:
            return False
        self.place = len(self.unknown)
        self.unknown.append(f"{self._preposition()} the {text} (the world picks where objects start)")
        return True

    def _on_place(self, text: str, word: Word, following: Word | None) -> None:
        """'the left ball': a place, which the world picks (reported); like 'the first', it may pick a member."""
        self.unknown.append(f"the {text} (the world picks where objects start)")
        member = self._next_member()
        if member is not None:
            self.member = member

    def _on_ordinal(self, text: str, word: Word, following: Word | None) -> None:
        member = self._next_member()
        if member is not None:
            self.member = member
        elif text != "other":  # "a ball and other shapes" says nothing more
            self._on_unknown(text, word, following)  # "moving left first": no members to pick from

    def _on_all(self, text: str, word: Word, following: Word | None) -> None:
        if following is not None and following.kind in (*NOUN_KINDS, "colour", "size", "shape_adj"):
            if text == "both":
                self.pending.count = max(self.pending.count or 0, 2)  # "both balls"
            return
        self.distribute = bool(self.groups)

    def _on_relation(self, text: str, word: Word, following: Word | None) -> None:
        self.relation = (str(word.value), text)

    def _on_background(self, text: str, word: Word, following: Word | None) -> None:
        if following is not None and following.kind in NOUN_KINDS:
            self.unknown.append(f"{text} (objects are one plain colour)")  # "a striped ball"
            return
        if self.background == "night" and word.value == "sky":
            return  # "the stars ... in the sky": a night sky is still night
        self.background = str(word.value)

    def _on_tone(self, text: str, word: Word, following: Word | None) -> None:
        if following is not None and following.kind in (*NOUN_KINDS, "shape_adj", "size"):
            self.unknown.append(f"{text} ({_OBJECT_COLOURS})")  # "a white ball": the world has no white objects
            return
        if following is not None and following.kind == "colour":
            self.unknown.append(text)  # "a dark red ball": no shades either
            return
        if following is not None and following.kind in ("background", "occluder", "weather"):
            return  # "gray sky", "white stripes", "light rain"
        if self.background not in PANNABLE_BACKGROUNDS:  # a texture outranks a tone ("striped white backdrop")
            self.background = str(word.value)

    def _on_bg_noun(self, text: str, word: Word, following: Word | None) -> None:
        pass

    def _on_weather(self, text: str, word: Word, following: Word | None) -> None:
        self.weather = str(word.value)
        self.weather_tail = 1

    def _on_occluder(self, text: str, word: Word, following: Word | None) -> None:
        self.occluder = True

    def _on_camera(self, text: str, word: Word, following: Word | None) -> None:
        self.camera_mode = True
        self._note_pan(text)

    def _note_pan(self, text: str) -> None:
        if text.startswith("pan") and self.camera_pan is None:
            self.pan_without_direction = True
        elif text.startswith("track") and self.follow is None:
            self.follow = text  # "camera tracking", "a tracking shot": it follows, unless a direction is given

    def _on_camera_none(self, text: str, word: Word, following: Word | None) -> None:
        self.camera_pan = "none"

    def result(self) -> SceneAttributes:
        """Flush adjectives that never met a noun and drop bare headers ('Two shapes: ...').

        A count before an unknown noun is objects too ("a moon drifting across the sky" is one object).
        """
        pending = self.pending
        if pending.has_attributes() or self._unknown_noun_waiting():
            pending.order = len(self.groups)
            self.groups.append(pending)
        # in the order first named: "a ball and a star; the ball moves left" puts the ball first
        groups = sorted((g for g in self.groups if g.has_attributes() or not g.generic), key=lambda g: g.order)
        if not groups:
            groups = sorted(self.groups, key=lambda g: g.order)  # "two things": the count is all the prompt says
        related = self.relation is not None
        objects = [obj for group in groups for obj in group.objects(across_goes_right=not related)]
        if related and not relate(objects, self.relation[0]):
            self.unknown.append(f"{self.relation[1]} (needs two objects that move in straight lines)")
            objects = [obj for group in groups for obj in group.objects()]
        camera_pan = "right" if self.pan_without_direction and self.camera_pan is None else self.camera_pan
        if self.follow is not None and camera_pan is None:
            camera_pan = followed_pan(objects)
            if camera_pan is None:
                self.unknown.append(f"{self.follow} (the camera follows an object moving left or right)")
        return SceneAttributes(
            # a relation may have named the motion of an object that only "travels"
            objects=tuple(replace(obj, travels=obj.travels and obj.motion is None) for obj in objects),
            background=self.background,
            camera_pan=camera_pan,
            weather=self.weather,
            occluder=self.occluder,
            unknown_words=tuple(dict.fromkeys(self.unknown)),
        )


def _opposed(first: str, second: str) -> bool:
    """Whether two directions pull one axis both ways ("left and right"), which one motion cannot do."""
    return any(a * b < 0 for a, b in zip(DIRECTIONS[first], DIRECTIONS[second]))


def parse_prompt(text: str) -> SceneAttributes:
    """The attributes a free-text prompt mentions; everything it leaves open stays None."""
    if not isinstance(text, str):
        raise ValueError(f"prompt must be a string; got {type(text).__name__}")
    words = read_words(text)
    reader = _Reader()
    for index, (surface, word) in enumerate(words):
        following = words[index + 1][1] if index + 1 < len(words) else None
        reader.feed(surface, word, following, _before_noun(words, index))
    return reader.result()


def _before_noun(words: list[tuple[str, Word | None]], index: int) -> bool:
    """Whether words[index] opens a run of modifiers that a shape noun (or "one") ends ("fast spinning red ball").

    Only direction verbs ("a *falling* star") count among directions: "moving left ball" is not English.
    """
    for offset, (surface, word) in enumerate(words[index:]):
        if word is None:
            return False
        if word.kind in NOUN_KINDS or (offset and surface == "one" and word.kind == "count"):
            return True  # "the *big* one": the pronoun stands for a noun
        if word.kind not in PRENOMINAL_KINDS or (word.kind == "direction" and not word.verb):
            return False
    return False


def complete_scene(attrs: SceneAttributes) -> SceneAttributes:
    """Read a training caption as the whole truth: no pan, weather or wall mentioned means none."""
    return replace(
        attrs,
        camera_pan="none" if attrs.camera_pan is None else attrs.camera_pan,
        weather="none" if attrs.weather is None else attrs.weather,
        occluder=bool(attrs.occluder),
    )


def describe_unknown(attrs: SceneAttributes) -> str | None:
    """A message naming the words the world model could not use, or None when all were understood."""
    if not attrs.unknown_words:
        return None
    return "not understood: " + ", ".join(attrs.unknown_words)
