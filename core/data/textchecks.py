"""Text checks for dataset validation: duplicates, shared n-grams, length, format, sentiment, diversity.

All are plain functions of strings (and group labels), exact rather than approximate: at a few
thousand texts an inverted index over shingles gives exact Jaccard similarities without MinHash.
"Another instance" means a different group label, so the cells of one instance — which describe
the same situation by design — never count as each other's duplicates.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import cache
from typing import Any

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
# list items, headings, bold/italic emphasis, code, links, tables, horizontal rules
_MARKERS = re.compile(r"(?m)^\s*(?:[-*+•]\s|\d+[.)]\s|#{1,6}\s|>\s|\|.*\||-{3,}\s*$)|\*\*[^*]+\*\*|__[^_]+__|`[^`]+`"
                      r"|\[[^\]]+\]\([^)]+\)")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (punctuation dropped), for n-grams and shingles."""
    return _WORD.findall(text.lower())


def word_count(text: str) -> int:
    """The dataset's word count: whitespace-separated tokens (the 60-150 and ±15% rules use this)."""
    return len(text.split())


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    toks = words(text)
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def length_gap(a: int, b: int) -> float:
    """|a - b| relative to the shorter text (the ±15% rule is length_gap <= 0.15)."""
    return abs(a - b) / min(a, b) if min(a, b) else float("inf")


def exact_duplicates(texts: Sequence[str]) -> list[bool]:
    """Whether each text equals another (case and whitespace ignored)."""
    norm = [" ".join(t.lower().split()) for t in texts]
    counts = Counter(norm)
    return [counts[t] > 1 for t in norm]


def max_similarity_other(texts: Sequence[str], groups: Sequence[str], k: int) -> list[float]:
    """For each text, the highest k-shingle Jaccard with any text of another group (exact)."""
    sets = [ngrams(t, k) for t in texts]
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for g in s:
            index[g].append(i)
    best = []
    for i, s in enumerate(sets):
        overlap: Counter[int] = Counter(j for g in s for j in index[g] if groups[j] != groups[i])
        best.append(max((c / len(s | sets[j]) for j, c in overlap.items()), default=0.0))
    return best


def shares_ngram_other(texts: Sequence[str], groups: Sequence[str], n: int) -> list[bool]:
    """Whether each text shares any n-word sequence with a text of another group."""
    sets = [ngrams(t, n) for t in texts]
    owners: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for s, grp in zip(sets, groups, strict=True):
        for g in s:
            owners[g].add(grp)
    return [any(len(owners[g]) > 1 for g in s) for s in sets]


def format_markers(text: str) -> int:
    """Markdown and list markers in a text (the dataset is plain prose: any is a confound)."""
    return len(_MARKERS.findall(text))


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct n-grams over all n-grams in a set of texts (Li et al. 2016)."""
    grams = [tuple(ws[i:i + n]) for ws in map(words, texts) for i in range(len(ws) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER compound sentiment in [-1, 1] (0 for empty text)."""
    return float(_vader().polarity_scores(text)["compound"])
