"""LEACE erasure: train features become linearly unpredictable; an orthogonal label signal survives."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LinearRegression

from core.stats.erasure import erase_features, fit_eraser
from core.stats.estimates import auroc
from core.stats.probes import fit_probe


def _data(n=600, d=40, k=3, seed=0):
    """x = features @ mixing + label signal (on a direction orthogonal to the mixing rows) + noise."""
    rng = np.random.default_rng(seed)
    z = np.column_stack([rng.poisson(5, n), rng.normal(100, 15, n), rng.poisson(2, n)]).astype(float)[:, :k]
    y = rng.random(n) < 0.5  # independent of the features
    mixing = rng.normal(size=(k, d))
    v = rng.normal(size=d)
    v -= mixing.T @ np.linalg.lstsq(mixing.T, v, rcond=None)[0]  # orthogonal to every mixing row
    v /= np.linalg.norm(v)
    zs = (z - z.mean(0)) / z.std(0)
    x = zs @ mixing * 3 + np.outer(np.where(y, 1.5, -1.5), v) + rng.normal(size=(n, d))
    return x, z, y


def _r2(x, z, x_eval=None, z_eval=None):
    """R^2 of a linear regression per feature, fit on (x, z), scored on (x_eval, z_eval) (default: in sample)."""
    x_eval, z_eval = (x, z) if x_eval is None else (x_eval, z_eval)
    return [LinearRegression().fit(x, z[:, j]).score(x_eval, z_eval[:, j]) for j in range(z.shape[1])]


def test_features_are_unpredictable_after_erasure_on_train():
    x, z, _ = _data()
    train = np.arange(len(x)) < 400
    assert min(_r2(x[train], z[train])) > 0.8  # before: each feature is linearly readable
    erased = erase_features(x, z, train)
    assert max(_r2(erased[train], z[train])) < 1e-6
    assert max(_r2(erased[train], z[train], erased[~train], z[~train])) < 0.05  # held out: no better than the mean


def test_an_orthogonal_label_direction_survives():
    x, z, y = _data()
    train = np.arange(len(x)) < 400
    erased = erase_features(x, z, train)
    probe = fit_probe("mean_diff", erased[train], y[train])
    assert auroc(probe.score(erased[~train]), y[~train]) > 0.95
    # the features' large variance swamped the label before; erasing them leaves the label direction
    raw = fit_probe("mean_diff", x[train], y[train])
    assert auroc(probe.score(erased[~train]), y[~train]) > auroc(raw.score(x[~train]), y[~train])


def test_a_label_carried_by_a_feature_is_erased_with_it():
    x, z, _ = _data()
    y = z[:, 0] > np.median(z[:, 0])  # the "label" is a surface feature
    train = np.arange(len(x)) < 400
    before = fit_probe("mean_diff", x[train], y[train])
    assert auroc(before.score(x[~train]), y[~train]) > 0.8
    erased = erase_features(x, z, train)
    after = fit_probe("mean_diff", erased[train], y[train])
    assert abs(auroc(after.score(erased[~train]), y[~train]) - 0.5) < 0.1


def test_constant_feature_is_harmless():
    x, z, _ = _data(k=2)
    z = np.column_stack([z, np.ones(len(z))])
    eraser = fit_eraser(x, z)
    assert np.isfinite(eraser.proj_left.numpy()).all()
