"""The matched control's word choice: same (heuristic) part of speech and corpus-frequency band.

A control that edits any k non-lexicon words mostly hits "I", "the" and "to": function words whose
loss says little about what losing k content words would do. Here each lexicon hit of a text is paired
with a distinct non-lexicon word of the same text that matches it, in this order of priority:
1. part of speech, by a HEURISTIC (no tagger ships with an installed package and none can be
   downloaded here): closed-class function words (a fixed list, plus contractions), proper names (a
   capitalised word not at a sentence start), then suffix classes: -ly adverb, -ing gerund/participle,
   -ed past, -ness/-ment/-tion/... noun, -ful/-ive/-ous/-ic/... adjective, -ize verb, -s plural or third
   person, else a bare stem. It is wrong at times ("felt" is a bare stem, "wellbeing" a gerund), the same
   way for lexicon and control words;
2. frequency band: floor(log2(count) / band width), counts of the lower-cased word over every text of
   the dataset (its own corpus; no labels are used).
Among the unused words at the smallest mismatch (a part-of-speech mismatch outweighs any band gap) one
is drawn at random, seeded per text; a text with fewer candidates than hits gets fewer control edits.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

WORD = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z'-]*(?![\w-])")
# closed-class words: pronouns, determiners, conjunctions, prepositions, auxiliaries, quantifiers
_CLOSED = """
a an the this that these those my your his her its our their mine yours hers ours theirs i me we us you he
him she it they them myself yourself himself herself itself ourselves themselves who whom whose which what
and or but nor so yet if then than because as while although though unless until since when where why how
to of in on at by for with from about into onto over under after before between through during without
within against among around up down out off upon
am is are was were be been being have has had having do does did doing will would shall should can could
may might must not no yes all any some each every either neither both few more most other such only own
same very too also just there here now again once ever never always still even much many
something anything nothing everything someone anyone everyone nobody somebody anybody everybody
"""
FUNCTION_WORDS = frozenset(_CLOSED.split())
SUFFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("adverb", ("ly",)),
    ("gerund", ("ing",)),
    ("past", ("ed",)),
    ("noun", ("ness", "ment", "tion", "sion", "ity", "ance", "ence", "ship", "hood", "ism")),
    ("adjective", ("ful", "less", "ive", "ous", "ic", "able", "ible", "al")),
    ("verb", ("ize", "ise", "ify")),
)
MISMATCH = 1000  # a part-of-speech mismatch costs more than any frequency-band gap


def word_class(word: str, sentence_start: bool = True) -> str:
    """Heuristic part-of-speech class of one word (see the module note: suffix rules, not a tagger)."""
    lower = word.lower()
    if lower in FUNCTION_WORDS or "'" in lower:
        return "function"
    if word[:1].isupper() and not sentence_start:
        return "proper"
    for name, endings in SUFFIXES:
        if len(lower) >= 5 and lower.endswith(endings) and not lower.endswith("eed"):
            return name
    if len(lower) >= 4 and lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        return "plural"
    return "stem"


def at_sentence_start(text: str, start: int) -> bool:
    """Whether the word at `start` opens the text or a sentence (only spaces or quotes after .!?)."""
    before = text[:start].rstrip(" \t\"'(")
    return not before or before[-1] in ".!?\n"


@dataclass(frozen=True)
class FrequencyBands:
    """Corpus counts of lower-cased words and the width of a band in log2 units."""

    counts: Counter[str]
    width: float

    @classmethod
    def of(cls, texts: Iterable[str], width: float) -> FrequencyBands:
        """Counts over every word of `texts`."""
        return cls(Counter(w.lower() for t in texts for w in WORD.findall(t)), width)

    def band(self, word: str) -> int:
        """floor(log2(count) / width); a word the corpus lacks counts once."""
        return math.floor(math.log2(max(self.counts.get(word.lower(), 0), 1)) / self.width)


@dataclass(frozen=True)
class Feature:
    """What the control matches: heuristic part-of-speech class and frequency band."""

    pos: str
    band: int


def features(text: str, matches: Iterable[re.Match[str]], bands: FrequencyBands) -> list[Feature]:
    """The class and band of each matched word of `text`."""
    return [Feature(word_class(m.group(0), at_sentence_start(text, m.start())), bands.band(m.group(0)))
            for m in matches]


def choose_controls(hits: list[Feature], candidates: list[Feature], rng: np.random.Generator) -> list[int]:
    """For each hit in order, the index of a distinct candidate at the smallest mismatch (random among ties)."""
    free = list(range(len(candidates)))
    chosen = []
    for hit in hits:
        if not free:
            break
        cost = [MISMATCH * (candidates[i].pos != hit.pos) + abs(candidates[i].band - hit.band) for i in free]
        best = [i for i, c in zip(free, cost, strict=True) if c == min(cost)]
        pick = best[int(rng.integers(len(best)))]
        free.remove(pick)
        chosen.append(pick)
    return chosen
