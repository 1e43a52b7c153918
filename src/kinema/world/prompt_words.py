"""Prompt text to the words the reader takes in: tokens, set phrases, and seven corrections of what they mean.

`lex` matches the vocabulary's set phrases greedily; `colour_suffixes_dropped`, `labels_dropped`,
`toys_as_nouns`, `counted_opening_things`, `counted_listed_things`, `tones_of_things` and
`places_before_nouns` then fix readings a word-by-word pass would get wrong ("a sand-coloured cube"
is a cube of that colour, not a cube on sand; "shape: triangle" is one object; "a spinning top" is a
toy, not the direction up; "dog running" is a dog, as "a dog running" is; "a cat and dog" are two
things; "a black cat" is a black thing, not a black background; "the left ball" is where a ball is,
not where it goes).
"""

from __future__ import annotations

import re
import unicodedata

from kinema.world.vocabulary import (
    LEXICON, LONGEST_PHRASE, NOUN_KINDS, PLACE_NOUNS, PREPOSITIONS, PRENOMINAL_KINDS, SCENE_KINDS, Word,
)

# Words (any script), sentence punctuation, and runs of other non-ASCII symbols (emoji), which are
# reported as unknown rather than dropped; ASCII symbols such as "-" and "/" only separate words.
_TOKEN = re.compile(r"[^\W_]+|[.,;:!?]|[^\x00-\x7f\w\s]+")
_COLOUR_SUFFIXES = ("coloured", "colored")
# An object's colour, a background's, and one the world lacks: "coloured" after them is dropped.
_COLOUR_KINDS = ("colour", "tone", "foreign_colour")
_MODIFIERS = PRENOMINAL_KINDS - {"direction"}  # words that may stand before a noun: "a *red* top", "the left *red* ball"
_MOTION_KINDS = ("verb", "motion", "direction", "speed", "across")  # what makes the words before it a subject
_OPENING_MODIFIERS = (*_COLOUR_KINDS, "size")  # what may stand before an uncounted thing that opens a prompt


def read_words(text: str) -> list[tuple[str, Word | None]]:
    """A prompt as (surface, Word or None) pairs, ready for the reader."""
    words = toys_as_nouns(labels_dropped(colour_suffixes_dropped(lex(tokenize(text)))))
    return places_before_nouns(tones_of_things(counted_listed_things(counted_opening_things(words))))


def tokenize(text: str) -> list[str]:
    """Lower-case words, sentence punctuation and symbols; apostrophes vanish ("doesn't" -> "doesnt")."""
    text = unicodedata.normalize("NFKC", text).lower().replace("'", "").replace("\u2019", "")  # "，" -> ","
    return [token for token in _TOKEN.findall(text) if token.isascii() or not _is_punctuation(token)]


def _is_punctuation(token: str) -> bool:
    return all(unicodedata.category(character).startswith("P") for character in token)


def lex(tokens: list[str]) -> list[tuple[str, Word | None]]:
    """Greedy longest-match of set phrases; unrecognised words come back with None."""
    out: list[tuple[str, Word | None]] = []
    i = 0
    while i < len(tokens):
        for length in range(min(LONGEST_PHRASE, len(tokens) - i), 0, -1):
            key = tuple(tokens[i : i + length])
            if key in LEXICON:
                out.append((" ".join(key), LEXICON[key]))
                i += length
                break
        else:
            out.append((tokens[i], None))
            i += 1
    return out


def colour_suffixes_dropped(words: list[tuple[str, Word | None]]) -> list[tuple[str, Word | None]]:
    """Drop "coloured" after a colour word, so the colour meets its noun ("a white-coloured ball" is a white ball)."""
    out: list[tuple[str, Word | None]] = []
    for surface, word in words:
        before = out[-1][1] if out else None
        if surface in _COLOUR_SUFFIXES and before is not None and before.kind in _COLOUR_KINDS:
            continue
        out.append((surface, word))
    return out


def labels_dropped(words: list[tuple[str, Word | None]]) -> list[tuple[str, Word | None]]:
    """Drop a generic noun that labels the shape after it ("shape: triangle", "object=ball"): one object, not two."""
    out: list[tuple[str, Word | None]] = []
    for index, (surface, word) in enumerate(words):
        label = out[-1][1] if out else None
        if word is not None and word.kind == "shape" and label is not None and label.kind == "generic":
            out.pop()
        elif surface == ":" and label is not None and label.kind == "generic" and index + 1 < len(words):
            after = words[index + 1][1]
            if after is not None and after.kind == "shape":
                continue  # the colon goes too; the generic noun goes with the shape
        out.append((surface, word))
    return out


def toys_as_nouns(words: list[tuple[str, Word | None]]) -> list[tuple[str, Word | None]]:
    """A "top" where a noun stands ("a spinning top", "the red top") is a toy the world lacks, not the direction up.

    It is a noun after a count ("a", "two") or after "the" with modifiers between; "to the top" stays up.
    """
    out = list(words)
    for index, (surface, word) in enumerate(words):
        if surface not in ("top", "tops") or word is None or word.kind != "direction":
            continue
        start = index
        while start > 0 and (words[start - 1][1] is None or words[start - 1][1].kind in _MODIFIERS):
            start -= 1
        opener, opener_word = words[start - 1] if start > 0 else ("", None)
        after_count = opener_word is not None and opener_word.kind == "count"
        if after_count or (opener == "the" and start < index):
            out[index] = (surface, None)
    return out


def counted_opening_things(words: list[tuple[str, Word | None]]) -> list[tuple[str, Word | None]]:
    """A prompt that opens with a thing the world does not know, and no count, reads as if "a" stood first.

    "dog running on the beach", "cat on grass", "dog in a park" and "the man walking left" are one
    object, as "a dog running" is; a lone plural ("butterflies flying", "some dogs running") is two,
    as "balls" is. Only when the next words say what the thing does or where it is, or nothing follows
    it ("cat", "black cat"): "hello there", "sunset over the ocean" and "painting of a dragon" are left
    alone, and so is a place ("forest at night", "ocean").
    """
    start = 1 if words and words[0][0] in ("the", "some") else 0
    end = start
    while end < len(words) and (_opens_thing(words[end][1]) or _joins_modifiers(words, end)
                                 or _lists_things(words, end)):
        end += 1
    unknown = [surface for surface, word in words[start:end] if word is None]
    listed = next((index for index in range(start, end) if _lists_things(words, index)), end)  # "cats and dogs"
    first = [surface for surface, word in words[start:listed] if word is None]
    if not unknown or words[end - 1][1] is not None or unknown[-1] in PLACE_NOUNS:
        return words
    after = end
    while after < len(words) and _is_stop(words[after][1]):
        after += 1  # "on the", "in a"
    if after == len(words):
        # The thing alone ("cat", "the dogs", "fluffy cat") is what the user wants to see; "hello there"
        # (ending in a stop word) says nothing of a thing.
        return _counted(words, start, first) if after == end else words
    following = words[after][1]
    between = [surface for surface, _ in words[end:after]]
    # "dog in a park" (a place) and "cat and a dog" (a list) count too; "painting of a dragon" does not.
    listed_or_placed = between == ["and"] or (bool(between) and between[0] in PREPOSITIONS)
    if following is None and between in (["and"], ["and", "the"]) and words[after][0] not in PLACE_NOUNS:
        return _counted(words, start, first)  # "the cat and the dog": counted_listed_things counts the dog
    if following is None or (following.kind == "count" and not listed_or_placed):
        return words
    if following.kind not in (*_MOTION_KINDS, *SCENE_KINDS, "follow", "count"):
        return words
    return _counted(words, start, first)


def _counted(words: list[tuple[str, Word | None]], start: int, unknown: list[str]) -> list[tuple[str, Word | None]]:
    """words from `start` after "a", or "two" for "some" or a lone plural ("big dogs"; "cat sleeps" is one)."""
    return [_count_of(unknown, words[0][0] == "some"), *words[start:]]


def _count_of(unknown: list[str], some: bool = False) -> tuple[str, Word]:
    """The count of an uncounted thing named by these unknown words."""
    if some or (len(unknown) == 1 and _looks_plural(unknown[0])):
        return ("two", Word("count", 2))
    return ("a", Word("count", 1))


def counted_listed_things(words: list[tuple[str, Word | None]]) -> list[tuple[str, Word | None]]:
    """A thing the world does not know, listed with no count after a counted thing, is counted too.

    "a cat and dog running" and "the cat and the dog" are a cat and a dog, as "a cat and a dog
    running" is, and "cats and dogs running" two and two (more than a scene holds, which the reader
    reports); "a red and blue ball" and "a ball and a cat" already say what they mean.
    """
    out: list[tuple[str, Word | None]] = []
    index = 0
    while index < len(words):
        out.append(words[index])
        noun = index + 2 if words[index + 1:index + 2] and words[index + 1][0] == "the" else index + 1
        if words[index][0] == "and" and index > 0 and noun < len(words) and words[noun][1] is None:
            counted = any(earlier is not None and earlier.kind == "count" for _, earlier in words[:index])
            if counted and words[noun][0] not in PLACE_NOUNS and _names_thing(words, index - 1):
                end = noun
                while end < len(words) and words[end][1] is None:
                    end += 1
                out.append(_count_of([surface for surface, _ in words[noun:end]]))
                index = noun - 1  # "the" gives way to the count
        index += 1
    return out


def _is_stop(word: Word | None) -> bool:
    return word is not None and word.kind == "stop"


def _opens_thing(word: Word | None) -> bool:
    return word is None or word.kind in _OPENING_MODIFIERS


def _joins_modifiers(words: list[tuple[str, Word | None]], index: int) -> bool:
    """Whether words[index] is the "and" of "black and white" before a noun."""
    if words[index][0] not in ("and", "or") or not 0 < index < len(words) - 1:
        return False
    before, after = words[index - 1][1], words[index + 1][1]
    return before is not None and after is not None and _opens_thing(before) and _opens_thing(after)


def _lists_things(words: list[tuple[str, Word | None]], index: int) -> bool:
    """Whether words[index] is the "and" between two things the world does not know ("cats and dogs")."""
    if words[index][0] != "and" or not 0 < index < len(words) - 1:
        return False
    return _names_thing(words, index - 1) and words[index + 1][1] is None and words[index + 1][0] not in PLACE_NOUNS


def _names_thing(words: list[tuple[str, Word | None]], index: int) -> bool:
    """Whether words[index] is a noun: a known one, or one unknown after a known word ("the cat", not "cat sleeps")."""
    word = words[index][1]
    if word is not None:
        return word.kind in NOUN_KINDS
    return index == 0 or words[index - 1][1] is not None


def _looks_plural(noun: str) -> bool:
    return noun.endswith("s") and not noun.endswith(("ss", "us", "is"))


def tones_of_things(words: list[tuple[str, Word | None]]) -> list[tuple[str, Word | None]]:
    """Background tones before an unknown thing, opening the prompt or after a count, are its colours.

    "a black cat", "white dog running" and "a black and white cat" are things (with the tones
    reported as colours no object has), not a backdrop; "a white room" and "a dark forest", unknown places with nothing
    moving after them, stay a white and a charcoal background (`PLACE_NOUNS`).
    """
    out = list(words)
    for index, (_, word) in enumerate(words):
        opener = words[index - 1][1] if index else None
        if word is None or word.kind != "tone" or (index and (opener is None or opener.kind != "count")):
            continue
        tones = _tone_run(words, index)
        end = tones[-1] + 1
        while end < len(words) and words[end][1] is None:
            end += 1
        if end == tones[-1] + 1:
            continue  # no unknown noun: "a dark background", "a white ball"
        moves = end < len(words) and words[end][1].kind in _MOTION_KINDS  # type: ignore[union-attr]
        if moves or words[end - 1][0] not in PLACE_NOUNS:
            for tone in tones:
                out[tone] = (words[tone][0], Word("foreign_colour"))
    return out


def _tone_run(words: list[tuple[str, Word | None]], index: int) -> list[int]:
    """Where the tones joined by "and" or "or" from words[index] stand ("black and white")."""
    tones = [index]
    while tones[-1] + 2 < len(words) and words[tones[-1] + 1][0] in ("and", "or"):
        after = words[tones[-1] + 2][1]
        if after is None or after.kind != "tone":
            break
        tones.append(tones[-1] + 2)
    return tones


def places_before_nouns(words: list[tuple[str, Word | None]]) -> list[tuple[str, Word | None]]:
    """Directions between "the" and a noun ("the left ball", "the top left one") name a place, not a motion.

    The run of directions becomes one word of kind "place"; modifiers may stand between it and
    the noun ("the left red ball"); "to the top" and "the ball moves left" are left alone.
    """
    out: list[tuple[str, Word | None]] = []
    index = 0
    while index < len(words):
        end = index
        while end < len(words) and _is_direction_adjective(words[end][1]):
            end += 1
        if end > index and out and out[-1][0] == "the" and _noun_follows(words, end):
            out.append((" ".join(surface for surface, _ in words[index:end]), Word("place")))
            index = end
        else:
            out.append(words[index])
            index += 1
    return out


def _is_direction_adjective(word: Word | None) -> bool:
    return word is not None and word.kind == "direction" and not word.verb


def _noun_follows(words: list[tuple[str, Word | None]], start: int) -> bool:
    """Whether words[start:] opens with modifiers ending in a noun, or "one" ("the left one")."""
    for surface, word in words[start:]:
        if surface in ("one", "ones") or (word is not None and word.kind in NOUN_KINDS):
            return True
        if word is None or word.kind not in _MODIFIERS:
            return False
    return False
