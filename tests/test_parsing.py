import pytest

from mils.parsing import normalize, parse_candidates


@pytest.mark.parametrize("reply, expected", [
    ("1. a cat\n2. a dog", ["a cat", "a dog"]),
    ("1) a cat\n2) a dog", ["a cat", "a dog"]),
    ("**1.** a cat\n**2.** a dog", ["a cat", "a dog"]),
    ("**1. a cat**\n**2. a dog**", ["a cat", "a dog"]),
    ("- a cat\n- a dog", ["a cat", "a dog"]),
    ("* a cat\n* a dog", ["a cat", "a dog"]),
    ("• a cat\n• a dog", ["a cat", "a dog"]),
    ("(1) a cat\n(2) a dog", ["a cat", "a dog"]),
    ("1000. a cat\n1001. a dog", ["a cat", "a dog"]),  # the reference drops counters >= 1000
    ('1. "a cat"\n2. \u201ca dog\u201d', ["a cat", "a dog"]),
])
def test_list_formats(reply, expected):
    assert parse_candidates(reply) == expected


def test_reasoning_blocks_and_code_fences_are_stripped():
    reply = "<think>\n1. not this\n</think>\nHere you go:\n```\n1. a cat\n2. a dog\n```"
    assert parse_candidates(reply) == ["a cat", "a dog"]


def test_unterminated_reasoning_is_dropped():
    assert parse_candidates("<think>1. secret plans") == []


def test_echoed_scores_are_removed():
    reply = "1. 81.20: a cat on a sofa\n2. a dog (score: 0.41)\n3. 0.512, 1.203: warm colours"
    assert parse_candidates(reply) == ["a cat on a sofa", "a dog", "warm colours"]


def test_parentheses_that_are_content_survive():
    # the reference cuts at the first "(" — that loses real content
    assert parse_candidates("1. a cat (a tabby) on a sofa") == ["a cat (a tabby) on a sofa"]


def test_plain_lines_when_no_list_and_preamble_skipped():
    assert parse_candidates("Here are some descriptions:\na cat\n\na dog") == ["a cat", "a dog"]


def test_duplicates_and_empty_items_dropped_in_order():
    assert parse_candidates("1. A cat.\n2. a cat\n3. \n4. ...\n5. a dog") == ["A cat.", "a dog"]


def test_max_words_truncates():
    assert parse_candidates("1. one two three four five", max_words=3) == ["one two three"]


def test_normalize():
    assert normalize("  A  Cat. ") == normalize("a cat") == "a cat"


@pytest.mark.parametrize("reply", [
    "I cannot help with that.",
    "I'm sorry, but I can't describe an image I cannot see.",
    "Sorry, I am unable to do this.",
    "As an AI language model, I do not have eyes.",
    "Could you share the image?",
    "What should the descriptions focus on?",
    "1. I can't help with that\n2. Unfortunately this is not possible",
])
def test_refusals_and_questions_are_not_candidates(reply):
    assert parse_candidates(reply) == []


def test_a_refusal_among_good_items_is_dropped_alone():
    reply = "1. a tabby cat on a red sofa\n2. I cannot do more than that.\n3. a dog in the snow"
    assert parse_candidates(reply) == ["a tabby cat on a red sofa", "a dog in the snow"]


def test_descriptions_that_start_like_talk_are_kept():
    # "I" and "can" inside real descriptions are content, not talk about the task
    assert parse_candidates("1. Iceland glacier at dawn\n2. a tin can on a table") == [
        "Iceland glacier at dawn", "a tin can on a table"]


def test_headings_are_not_candidates():
    reply = "Description:\n1. a tabby cat asleep\n2. **New captions:**\n3. a cat on a rug: close-up"
    assert parse_candidates(reply) == ["a tabby cat asleep", "a cat on a rug: close-up"]
    assert parse_candidates("Description:\na red bicycle by a wall") == ["a red bicycle by a wall"]
