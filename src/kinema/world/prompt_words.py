"""Prompt text to the words the reader takes in: tokens, set phrases, and two corrections of what they mean.

`lex` matches the vocabulary's set phrases greedily; `labels_dropped` and `toys_as_nouns` then
fix readings a word-by-word pass would get wrong ("shape: triangle" is one object; "a spinning
top" is a toy, not the direction up).
"""

from __future__ import annotations

import re

from kinema.world.vocabulary import LEXICON, LONGEST_PHRASE, PRENOMINAL_KINDS, Word

_TOKEN = re.compile(r"[a-z0-9]+|[.,;:!?]")
_MODIFIERS = PRENOMINAL_KINDS - {"direction"}  # what may stand between "a"/"the" and a toy's name


def read_words(text: str) -> list[tuple[str, Word | None]]:
    """A prompt as (surface, Word or None) pairs, ready for the reader."""
    return toys_as_nouns(labels_dropped(lex(tokenize(text))))


def tokenize(text: str) -> list[str]:
    """Lower-case words and sentence punctuation; apostrophes vanish ("doesn't" -> "doesnt")."""
    return _TOKEN.findall(text.lower().replace("'", "").replace("\u2019", ""))


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
