"""Lexical ablation of texts: lexicon words out in ONE regex pass, and a matched control.

v0 rewrote only the empathic texts, ran one replacement pass per keyword (so a synonym was rewritten
again by a later keyword) and drew synonyms that were themselves empathic. Here every text of both
classes goes through a single `re.sub` over the whole lexicon; each hit is removed or replaced by a
word from NEUTRAL_WORDS, a list checked to hold no lexicon word, so no pass can create a new hit.
The control edits, in the same way, one non-lexicon word of the same text per lexicon hit, matched on
heuristic part of speech and corpus-frequency band (analyses/ablation/matching.py), seeded per text.
Removal then collapses the doubled spaces it leaves (whitespace only, no word is rewritten).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analyses.ablation.matching import WORD, FrequencyBands, choose_controls, features
from core.data.lexicon import Lexicon
from core.errors import InputError

# Concrete, affect-free words with no empathic sense (checked against the lexicon at every use).
NEUTRAL_WORDS: tuple[str, ...] = (
    "table", "column", "ledger", "gravel", "copper", "lantern", "pebble", "orbit", "cable", "pillar",
    "rivet", "tile", "folder", "marker", "panel", "sample", "metric", "record", "signal", "corner",
    "bracket", "canvas", "valve", "socket", "timber", "basin", "hinge", "plank", "spool", "gauge",
)


@dataclass(frozen=True)
class Ablated:
    """An edited text, its number of edits and, for the control, how many matched their lexicon word's
    part-of-speech class and frequency band."""

    text: str
    n_replaced: int
    n_pos_matched: int | None = None
    n_band_matched: int | None = None


def check_replacements(lexicon: Lexicon, words: tuple[str, ...] = NEUTRAL_WORDS) -> tuple[str, ...]:
    """The replacement list, refusing any word the lexicon would match."""
    bad = sorted(w for w in words if lexicon.count(w))
    if bad or not words:
        raise InputError("analyses/ablation/edits.py", f"replacement words include lexicon words: {bad}" if bad
                         else "no replacement words", field="NEUTRAL_WORDS")
    return words


def _rng(seed: int, text_id: str, salt: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(f"{salt}:{text_id}".encode())])


def _keep_case(source: str, word: str) -> str:
    return word.capitalize() if source[:1].isupper() else word


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r" +([,.;:!?])", r"\1", text).strip()


def _substitute(mode: str, rng: np.random.Generator, words: tuple[str, ...]) -> Callable[[re.Match[str]], str]:
    def repl(match: re.Match[str]) -> str:
        if mode == "remove":
            return ""
        return _keep_case(match.group(0), words[int(rng.integers(len(words)))])

    return repl


def ablate_lexicon(text: str, text_id: str, lexicon: Lexicon, mode: str, seed: int,
                   words: tuple[str, ...] = NEUTRAL_WORDS) -> Ablated:
    """Remove or replace every lexicon word of `text` in one regex substitution."""
    if not lexicon.words:
        return Ablated(text, 0)
    rng = _rng(seed, text_id, "lexicon")
    out, n = lexicon.pattern.subn(_substitute(mode, rng, words), text)
    return Ablated(_tidy(out) if mode == "remove" else out, n)


def ablate_matched(text: str, text_id: str, lexicon: Lexicon, bands: FrequencyBands, mode: str, seed: int,
                   words: tuple[str, ...] = NEUTRAL_WORDS) -> Ablated:
    """The matched control: the same edit applied to one non-lexicon word per lexicon hit, chosen to
    match the hit's part-of-speech class and frequency band (one pass)."""
    hits = features(text, lexicon.pattern.finditer(text) if lexicon.words else [], bands)
    found = [m for m in WORD.finditer(text) if not lexicon.count(m.group(0))]
    candidates = features(text, found, bands)
    picks = choose_controls(hits, candidates, _rng(seed, text_id, "control"))
    if not picks:
        return Ablated(text, 0, 0, 0)
    rng = _rng(seed, text_id, "random")
    repl = _substitute(mode, rng, words)
    pieces, last = [], 0
    for i in sorted(picks):
        m = found[i]
        pieces += [text[last:m.start()], repl(m)]
        last = m.end()
    out = "".join(pieces) + text[last:]
    pos = sum(candidates[i].pos == h.pos for h, i in zip(hits, picks, strict=False))
    band = sum(candidates[i].band == h.band for h, i in zip(hits, picks, strict=False))
    return Ablated(_tidy(out) if mode == "remove" else out, len(picks), pos, band)


def crossed(empathic_text: str, other_text: str, lexicon: Lexicon) -> bool:
    """A lexically crossed pair: the empathic text has no lexicon word, the other at least one."""
    return lexicon.count(empathic_text) == 0 and lexicon.count(other_text) >= 1
