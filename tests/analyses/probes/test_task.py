"""The task-cosine null: shuffles within instances, one matmul per layer, the same shuffles everywhere."""

from __future__ import annotations

import numpy as np
import pytest

from analyses.probes.frame import Frame
from analyses.probes.task import shuffled_directions, task_cosine, within_instance_shuffles
from core.stats.probes import fit_probe


def test_shuffles_permute_within_each_instance_and_are_seeded():
    labels = np.array([True, True, False, False] * 5)
    inst = np.repeat(np.arange(5), 4)
    rows = within_instance_shuffles(labels, inst, 300, seed=7)
    for i in range(5):
        assert (rows[:, inst == i].sum(1) == 2).all()  # each instance keeps its count of positives
    assert len({r.tobytes() for r in rows}) > 100  # ... and the arrangement does vary
    assert (rows == within_instance_shuffles(labels, inst, 300, seed=7)).all()


def test_shuffled_directions_equal_refitted_mean_differences():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (20, 6))
    rows = within_instance_shuffles(np.arange(20) % 2 == 0, np.repeat(np.arange(10), 2), 5, seed=1)
    dirs = shuffled_directions(x, rows)
    for row, d in zip(rows, dirs, strict=True):
        np.testing.assert_allclose(d, fit_probe("mean_diff", x, row).direction, rtol=1e-5, atol=1e-6)


class _Text:
    def __init__(self, task: str) -> None:
        self.task = task


def _design(n_inst: int, task_along_empathy: bool, seed: int = 0) -> tuple[np.ndarray, list, Frame]:
    """A 2x2 design (empathic x completed) per instance in d=64; the task effect lies along the empathy
    direction (e0) or along an orthogonal one (e1)."""
    rng = np.random.default_rng(seed)
    empathic = np.tile([True, True, False, False], n_inst)
    completed = np.tile([True, False, True, False], n_inst)
    inst = np.repeat(np.arange(n_inst), 4)
    x = rng.normal(0, 1, (len(inst), 64))
    x[:, 0] += 3.0 * empathic
    x[:, 0 if task_along_empathy else 1] += 3.0 * completed
    splits = np.where(inst < n_inst // 2, "train", "test")
    frame = Frame(empathic, splits, inst.astype(str), inst.astype(str), 100, seed)
    return x[None], [_Text("completed" if c else "abandoned") for c in completed], frame


def test_an_orthogonal_task_direction_sits_inside_the_null():
    acts, texts, frame = _design(60, task_along_empathy=False)
    row = task_cosine(acts, texts, frame, [0], 200).iloc[0]
    assert abs(row.cosine) < row.shuffled_cosine_q95 and row.shuffled_p > 0.05
    assert row.auroc_task_on_task > 0.95 and abs(row.auroc_task_on_empathy - 0.5) < 0.15


def test_a_task_direction_along_empathy_is_far_outside_the_null():
    acts, texts, frame = _design(60, task_along_empathy=True)
    row = task_cosine(acts, texts, frame, [0], 200).iloc[0]
    assert row.cosine > 0.7 and row.shuffled_p == pytest.approx(1 / 201)  # no shuffle reaches it
    assert row.task_on_task_ci_low <= row.auroc_task_on_task <= row.task_on_task_ci_high
