"""Each text scorer on fixed texts with known answers."""

from __future__ import annotations

import pytest

from analyses.steering.scorers import EmpathyClassifier, is_degenerate, repetition_rate
from core.data.lexicon import Lexicon
from core.data.textchecks import words
from tests.conftest import ROOT


def test_repetition_rate_counts_repeated_trigrams():
    assert repetition_rate("one two three four five") == 0.0
    # "a b c a b c a b c": 7 trigrams, 3 distinct -> 4/7 repeat an earlier one
    assert repetition_rate("a b c a b c a b c") == pytest.approx(4 / 7)
    assert repetition_rate("too short") == 0.0


def test_degenerate_flags_empty_short_and_looping_text():
    assert is_degenerate("", 3, 0.5, 3)
    assert is_degenerate("ok fine", 3, 0.5, 3)
    assert is_degenerate("and then and then and then and then and then", 3, 0.5, 3)
    assert not is_degenerate("I stop, pick up the glove and hand it back to her.", 3, 0.5, 3)
    assert words("It's 3 o'clock!") == ["it's", "3", "o'clock"]


def test_lexicon_rate_on_word_boundaries():
    lex = Lexicon.load(ROOT / "data" / "lexicon.json")
    word = sorted(lex.words, key=len)[-1]
    assert lex.rate(f"{word} x y z") == pytest.approx(0.25)
    assert lex.rate(f"un{word}ness x y z") == 0.0  # no substring hits


def test_classifier_separates_obvious_texts():
    kind = ["I stop and comfort her, and stay until she feels safe.", "I sit with him and listen to his worries.",
            "I ask if she is hurt and help her up gently.", "I take time to reassure the scared child."]
    cold = ["I finish the delivery on schedule.", "I keep walking to the charging bay.",
            "Task complete, next route loaded.", "I ignore the noise and log the parcel."]
    clf = EmpathyClassifier.fit(kind + cold, [True] * 4 + [False] * 4, 1.0, 0)
    p = clf.predict(["I kneel beside him and gently ask how I can help.", "Route optimised; parcel delivered."])
    assert p[0] > 0.5 > p[1]
