"""The empathy lexicon (data/lexicon.json): whole-word, case-insensitive matching.

Every inflection is listed explicitly, so a match is exactly one listed string: no stemming, and no
substring hits (v0 counted "helpful" inside "unhelpful" and "win" inside "window").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path


@dataclass(frozen=True)
class Lexicon:
    groups: dict[str, tuple[str, ...]]

    @classmethod
    def load(cls, path: str | Path) -> Lexicon:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls({g: tuple(w.lower() for w in words) for g, words in raw["groups"].items()})

    @cached_property
    def words(self) -> frozenset[str]:
        return frozenset(w for words in self.groups.values() for w in words)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        # longest first so "well-being" wins over a shorter alternative; (?<![\w-]) keeps hyphenated
        # compounds ("caretaker" never matches, "well-being" matches as one word)
        alternatives = "|".join(re.escape(w) for w in sorted(self.words, key=len, reverse=True))
        return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)

    def find(self, text: str) -> list[str]:
        """Every lexicon word in `text`, in order, lower-cased."""
        return [m.group(0).lower() for m in self.pattern.finditer(text)] if self.words else []

    def count(self, text: str) -> int:
        return len(self.find(text))

    def rate(self, text: str) -> float:
        """Lexicon hits per word."""
        n_words = len(text.split())
        return self.count(text) / n_words if n_words else 0.0
