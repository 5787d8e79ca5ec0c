"""Instance-clustered bootstrap: weighted AUROC oracle, wider CIs under clustering, paired differences."""

from __future__ import annotations

import numpy as np
import pytest

from core.stats.estimates import (
    auroc,
    bootstrap_auroc,
    cluster_bootstrap_auroc,
    cluster_weights,
    paired_cluster_bootstrap_auroc_diff,
    weighted_auroc_rows,
)


def test_weighted_auroc_equals_auroc_of_repeated_rows():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60).astype(bool)
    s = np.round(rng.normal(size=60) + y, 1)  # rounded: many ties
    w = rng.integers(0, 4, size=(20, 60))
    got = weighted_auroc_rows(s, y, w)
    want = [auroc(np.repeat(s, r), np.repeat(y, r)) for r in w]
    assert np.allclose(got, want, atol=1e-12)
    assert weighted_auroc_rows(s, y, np.ones((1, 60)))[0] == pytest.approx(auroc(s, y))


def test_weighted_auroc_is_nan_without_one_class():
    y = np.array([True, True, False, False])
    assert np.isnan(weighted_auroc_rows(np.arange(4.0), y, np.array([[1, 1, 0, 0]]))[0])


def test_cluster_weights_draw_whole_clusters():
    clusters = np.repeat(np.arange(10), 3)
    w = cluster_weights(clusters, 200, seed=1)
    assert w.shape == (200, 30)
    assert np.all(w.reshape(200, 10, 3) == w.reshape(200, 10, 3)[:, :, :1])  # a cluster's texts move together
    assert np.all(w.sum(axis=1) == 30)  # 10 clusters drawn, 3 texts each
    assert np.array_equal(w, cluster_weights(clusters, 200, seed=1))


def _clustered(n_instances=40, copies=4, seed=0):
    """Each instance: `copies` near-identical positive texts and as many negatives (strong clustering)."""
    rng = np.random.default_rng(seed)
    pos, neg = rng.normal(0.8, 1, n_instances), rng.normal(0, 1, n_instances)
    jitter = rng.normal(0, 0.01, (2, n_instances, copies))
    s = np.concatenate([(pos[:, None] + jitter[0]).ravel(), (neg[:, None] + jitter[1]).ravel()])
    y = np.repeat([True, False], n_instances * copies)
    clusters = np.tile(np.repeat(np.arange(n_instances), copies), 2)
    return s, y, clusters


def test_clustered_ci_is_wider_than_text_level_when_texts_cluster():
    s, y, clusters = _clustered()
    lo_c, hi_c = cluster_bootstrap_auroc(s, y, clusters, 2000, seed=3)
    lo_t, hi_t = bootstrap_auroc(s, y, 2000, seed=3)
    assert lo_c < auroc(s, y) < hi_c
    assert (hi_c - lo_c) > 1.5 * (hi_t - lo_t)  # 4 copies: the text-level CI is ~2x too narrow


def test_clustered_ci_matches_text_level_for_singleton_clusters():
    rng = np.random.default_rng(2)
    y = np.repeat([True, False], 80)
    s = rng.normal(size=160) + y
    lo_c, hi_c = cluster_bootstrap_auroc(s, y, np.arange(160), 2000, seed=4)
    lo_t, hi_t = bootstrap_auroc(s, y, 2000, seed=4)
    assert (hi_c - lo_c) == pytest.approx(hi_t - lo_t, rel=0.25)


def test_paired_difference_of_a_score_with_itself_is_exactly_zero():
    s, y, clusters = _clustered()
    assert paired_cluster_bootstrap_auroc_diff(s, s, y, clusters, 500, seed=0) == (0.0, 0.0, 0.0)


def test_paired_difference_is_narrower_than_unpaired_and_finds_a_real_margin():
    s, y, clusters = _clustered(n_instances=60)
    better = s + np.where(y, 0.6, 0.0)  # the same scores, shifted up for positives: always at least as good
    point, lo, hi = paired_cluster_bootstrap_auroc_diff(better, s, y, clusters, 2000, seed=5)
    assert point == pytest.approx(auroc(better, y) - auroc(s, y))
    assert 0 < lo <= point <= hi
    a_lo, a_hi = cluster_bootstrap_auroc(better, y, clusters, 2000, seed=5)
    b_lo, b_hi = cluster_bootstrap_auroc(s, y, clusters, 2000, seed=5)
    assert hi - lo < (a_hi - a_lo) + (b_hi - b_lo)
