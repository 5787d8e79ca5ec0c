"""Surface-feature baselines: how far does a classifier get on one trivial cue?

Each baseline is a logistic regression on a single text feature, fit on the TRAIN split and scored
on the others, reported beside the probe's AUROC (v0 flaw 2: class-correlated length and markdown).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from sklearn.linear_model import LogisticRegression

from core.lexicon import Lexicon

_FORMAT = re.compile(r"\*\*|__|`|^\s*#|^\s*[-*+]\s|^\s*\d+[.)]\s", re.MULTILINE)


def format_markers(text: str) -> int:
    """Markdown emphasis, headings, code ticks and list bullets."""
    return len(_FORMAT.findall(text))


def features(lexicon: Lexicon) -> dict[str, Callable[[str], float]]:
    """The one-feature baselines, by name."""
    return {"length_words": lambda t: float(len(t.split())),
            "lexicon_count": lambda t: float(lexicon.count(t)),
            "format_markers": lambda t: float(format_markers(t))}


def fit_scores(train_x: np.ndarray, train_y: np.ndarray, other_x: np.ndarray) -> np.ndarray:
    """Decision scores of a one-feature logistic regression fit on train (constant if the feature is)."""
    if np.ptp(train_x) == 0:
        return np.zeros(len(other_x))  # nothing to learn: chance by construction
    mu, sd = train_x.mean(), train_x.std()
    clf = LogisticRegression().fit(((train_x - mu) / sd)[:, None], train_y.astype(int))
    return clf.decision_function(((other_x - mu) / sd)[:, None])
