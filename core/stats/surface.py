"""The surface battery: how far do the words alone get, and what does the probe add beyond them?

Method. Every baseline is fit on the TRAIN-family texts only and scored on every text; AUROC is
reported on the validation and test families, with a 95% CI from the instance-clustered bootstrap
(whole instances resampled: an instance's four cells share one situation). The baselines:
- `bow_tfidf`: TF-IDF of unigrams and bigrams (vocabulary from train) + L2 logistic regression;
- `bow_tfidf_no_lexicon`: the same after deleting every empathy-lexicon word from every text
  (core.data.lexicon: whole words, case-insensitive), so a high AUROC here is signal beyond the lexicon;
- `bow_binary`: binary unigram presence + logistic regression;
- `minilm`: all-MiniLM-L6-v2 sentence embeddings (the steering classifier's features) + logistic regression;
- one-feature baselines: `pronoun_count` (referent third-person pronouns he/she/they/him/her/his/their:
  the empathic text talks about the other person), `sentiment` (VADER compound), `length` (words),
  `lexicon_count`, `format_markers`. Each is a one-feature logistic regression on train, so its
  orientation is learnt on train and an inverted cue stays inverted on test (never flipped there).
The probe's margin is AUROC(probe) - AUROC(best baseline), the best chosen on VALIDATION (choosing
on test would bias the margin down), with a paired clustered-bootstrap CI: both scores on the same
instance resamples. `erasure_features` builds the surface-feature matrix that LEACE erases
(core.stats.erasure) to ask what the probe decodes once those features are linearly gone; a
bag-of-words column must be cross-fitted on train (`crossfit_scores`, folds of whole families), since
an in-sample train score is nearly the label and erasing it would erase the label by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from core.data.lexicon import Lexicon
from core.data.textchecks import format_markers, sentiment, word_count, words
from core.raters.embedding import embed
from core.stats.estimates import auroc, cluster_bootstrap_auroc, paired_cluster_bootstrap_auroc_diff

PRONOUNS = frozenset({"he", "she", "they", "him", "her", "his", "their"})
TEXT_MODELS = ("bow_tfidf", "bow_tfidf_no_lexicon", "bow_binary", "minilm")
ONE_FEATURE = ("pronoun_count", "sentiment", "length", "lexicon_count", "format_markers")
BASELINES = TEXT_MODELS + ONE_FEATURE
REPORTED_SPLITS = ("validation", "test")
Tags = Sequence[str] | np.ndarray  # split names, instance ids or families, one per text


def fit_scores(train_x: np.ndarray, train_y: np.ndarray, other_x: np.ndarray) -> np.ndarray:
    """Decision scores of a one-feature logistic regression fit on train (constant if the feature is)."""
    if np.ptp(train_x) == 0:
        return np.zeros(len(other_x))  # nothing to learn: chance by construction
    mu, sd = train_x.mean(), train_x.std()
    clf = LogisticRegression().fit(((train_x - mu) / sd)[:, None], train_y.astype(int))
    return np.asarray(clf.decision_function(((other_x - mu) / sd)[:, None]))


def pronoun_count(text: str) -> int:
    """Referent third-person pronouns in a text (whole words, case-insensitive)."""
    return sum(w in PRONOUNS for w in words(text))


def strip_lexicon(text: str, lexicon: Lexicon) -> str:
    """The text with every lexicon word deleted (whitespace collapsed)."""
    return " ".join(lexicon.pattern.sub(" ", text).split()) if lexicon.words else text


def _one_feature(name: str, lexicon: Lexicon) -> Callable[[str], float]:
    return {"pronoun_count": lambda t: float(pronoun_count(t)), "sentiment": sentiment,
            "length": lambda t: float(word_count(t)), "lexicon_count": lambda t: float(lexicon.count(t)),
            "format_markers": lambda t: float(format_markers(t))}[name]


def _bow_pipeline(name: str, c: float, seed: int) -> Pipeline:
    vectorizer = CountVectorizer(binary=True) if name == "bow_binary" else TfidfVectorizer(ngram_range=(1, 2))
    return make_pipeline(vectorizer, LogisticRegression(C=c, max_iter=5000, random_state=seed))


def _text_model_scores(name: str, texts: list[str], y: np.ndarray, train: np.ndarray, lexicon: Lexicon,
                       c: float, seed: int) -> np.ndarray:
    """Decision scores of one text classifier fit on the train rows."""
    if name == "minilm":
        x = embed(texts)
        clf = LogisticRegression(C=c, max_iter=5000, random_state=seed).fit(x[train], y[train].astype(int))
        return np.asarray(clf.decision_function(x))
    if name == "bow_tfidf_no_lexicon":
        texts = [strip_lexicon(t, lexicon) for t in texts]
    pipe = _bow_pipeline(name, c, seed).fit([t for t, m in zip(texts, train, strict=True) if m], y[train].astype(int))
    return np.asarray(pipe.decision_function(texts))


def surface_scores(texts: Sequence[str], labels: np.ndarray, splits: Tags, lexicon: Lexicon,
                   names: Sequence[str] = BASELINES, c: float = 1.0, seed: int = 0) -> dict[str, np.ndarray]:
    """name -> score of every text (higher = more empathic), each baseline fit on the train split only."""
    unknown = set(names) - set(BASELINES)
    if unknown:
        raise ValueError(f"unknown surface baseline(s) {sorted(unknown)}; known: {BASELINES}")
    texts, y = list(texts), np.asarray(labels).astype(bool)
    train = np.array([s == "train" for s in splits])
    out = {}
    for name in names:
        if name in TEXT_MODELS:
            out[name] = _text_model_scores(name, texts, y, train, lexicon, c, seed)
        else:
            values = np.array([_one_feature(name, lexicon)(t) for t in texts])
            out[name] = fit_scores(values[train], y[train], values)
    return out


def battery_table(scores: dict[str, np.ndarray], labels: np.ndarray, splits: Tags, clusters: Tags,
                  n_boot: int, seed: int, on: Sequence[str] = REPORTED_SPLITS) -> pd.DataFrame:
    """One row per baseline x split: AUROC, instance-clustered 95% CI, n texts, n instances."""
    y, split_arr, cl = np.asarray(labels).astype(bool), np.asarray(splits), np.asarray(clusters)
    rows = []
    for name, s in scores.items():
        for split in on:
            m = split_arr == split
            if not m.any():
                continue
            lo, hi = cluster_bootstrap_auroc(s[m], y[m], cl[m], n_boot, seed)
            rows.append({"baseline": name, "split": split, "auroc": auroc(s[m], y[m]), "ci_low": lo, "ci_high": hi,
                         "n": int(m.sum()), "n_pos": int(y[m].sum()), "n_instances": len(set(cl[m]))})
    return pd.DataFrame(rows)


def best_baseline(table: pd.DataFrame, on: str = "validation") -> str:
    """The baseline with the highest AUROC on split `on` (validation: the test split never chooses)."""
    pick = table[table.split == on]
    return str(pick.loc[pick.auroc.idxmax(), "baseline"])


def probe_margin(probe: np.ndarray, baseline: np.ndarray, labels: np.ndarray, splits: Tags,
                 clusters: Tags, n_boot: int, seed: int, split: str = "test") -> dict[str, float]:
    """AUROC(probe) - AUROC(baseline) on `split`, with the paired instance-clustered 95% CI."""
    m = np.asarray(splits) == split
    y = np.asarray(labels).astype(bool)[m]
    diff, lo, hi = paired_cluster_bootstrap_auroc_diff(np.asarray(probe)[m], np.asarray(baseline)[m], y,
                                                       np.asarray(clusters)[m], n_boot, seed)
    return {"probe_auroc": auroc(np.asarray(probe)[m], y), "baseline_auroc": auroc(np.asarray(baseline)[m], y),
            "margin": diff, "margin_ci_low": lo, "margin_ci_high": hi}


def crossfit(score: Callable[[np.ndarray], np.ndarray], splits: Tags, groups: Tags, folds: int = 5) -> np.ndarray:
    """Cross-fitted scores: `score(fold_splits)` fits on the rows fold_splits marks "train" and scores
    every row; each TRAIN row gets the score of a fit without its group (family), other rows the
    full-train fit's score."""
    split, grp = np.asarray(splits), np.asarray(groups)
    out = np.asarray(score(split), dtype=np.float64).copy()
    train_groups = sorted(set(grp[split == "train"]))
    for k in range(folds):
        held = np.isin(grp, train_groups[k::folds])
        fold = np.where((split == "train") & ~held, "train", "held")
        mask = (split == "train") & held
        if mask.any():
            out[mask] = np.asarray(score(fold), dtype=np.float64)[mask]
    return out


def crossfit_scores(name: str, texts: Sequence[str], labels: np.ndarray, splits: Tags,
                    groups: Tags, lexicon: Lexicon, folds: int = 5) -> np.ndarray:
    """Scores of one baseline where each TRAIN text is scored by a model fit without its group (family).

    An in-sample train score of a bag-of-words model is nearly the label itself, so erasing it would
    erase the label by construction; out-of-fold train scores carry only what generalises. Rows outside
    train get the full-train model's score, as in surface_scores."""
    return crossfit(lambda fold: surface_scores(texts, labels, list(fold), lexicon, [name])[name], splits, groups,
                    folds)


def erasure_features(texts: Sequence[str], lexicon: Lexicon, bow_score: np.ndarray | None = None) -> np.ndarray:
    """[n, k] surface features for LEACE: pronoun count, length, lexicon count (and a bag-of-words score)."""
    cols = [[pronoun_count(t) for t in texts], [word_count(t) for t in texts], [lexicon.count(t) for t in texts]]
    if bow_score is not None:
        cols.append(list(bow_score))
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])
