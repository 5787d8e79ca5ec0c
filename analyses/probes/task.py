"""Empathy vs task: is the empathy direction a task-attenuation direction in disguise?

The task probe is the mean difference of task-completed vs task-abandoned TRAIN texts (the 2x2
design matches them on empathy). Per layer: cos(empathy, task), each probe's test AUROC on the
other's labels (clustered CIs), and two references for |cos|: the 95% quantile between random
directions (isotropic, 1/sqrt(d): too narrow for an anisotropic residual stream, audit A6) and the
shuffled-label null: the task probe refit on task labels shuffled within instances (each instance
keeps its count of completed texts), the SAME shuffles at every layer, `shuffled_p` =
(1 + #{|cos_null| >= |cos|}) / (N + 1). A dataset without the task factor (v0-format data: no text
has a completed/abandoned label in train or in test) has no task probe: the table is empty, with
its columns, and the summary says nothing about it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyses.probes.frame import Frame
from core.data import Text
from core.stats.nulls import random_cosine_quantile
from core.stats.probes import fit_probe

TASK_COLUMNS = ["layer", "cosine", "random_cosine_q95", "shuffled_cosine_q95", "shuffled_p",
                *(c for n in ("empathy_on_task", "task_on_empathy", "task_on_task")
                  for c in (f"auroc_{n}", f"{n}_ci_low", f"{n}_ci_high"))]


def within_instance_shuffles(labels: np.ndarray, instances: np.ndarray, n: int, seed: int) -> np.ndarray:
    """[n, len(labels)] label rows, each permuting `labels` within every instance."""
    rng = np.random.default_rng(seed)
    out = np.tile(np.asarray(labels, dtype=bool), (n, 1))
    for inst in np.unique(instances):
        idx = np.flatnonzero(instances == inst)
        out[:, idx] = rng.permuted(out[:, idx], axis=1)
    return out


def shuffled_directions(x: np.ndarray, shuffles: np.ndarray) -> np.ndarray:
    """[n, d] unit mean-difference directions, one per label row of `shuffles` (one matmul)."""
    pos = shuffles / shuffles.sum(1, keepdims=True)
    neg = ~shuffles / (~shuffles).sum(1, keepdims=True)
    dirs = (pos - neg) @ np.asarray(x, dtype=np.float64)
    return dirs / np.linalg.norm(dirs, axis=1, keepdims=True)


def _named(ci: dict[str, float], name: str) -> dict[str, float]:
    return {f"auroc_{name}": ci["auroc"], f"{name}_ci_low": ci["ci_low"], f"{name}_ci_high": ci["ci_high"]}


def task_cosine(acts: np.ndarray, texts: list[Text], frame: Frame, layers: list[int], n_shuffles: int
                ) -> pd.DataFrame:
    """`probes_task_cosine`: one row per layer (see the module docstring); no rows without a task factor."""
    has_task = np.array([t.task in ("completed", "abandoned") for t in texts])
    task_y = np.array([t.task == "completed" for t in texts])
    train, test = frame.mask("train"), frame.mask("test")
    tt, te = train & has_task, test & has_task
    if len(set(task_y[tt])) < 2 or len(set(task_y[te])) < 2:  # no task probe to fit or to test
        return pd.DataFrame(columns=TASK_COLUMNS)
    shuffles = within_instance_shuffles(task_y[tt], frame.instances[tt], n_shuffles, frame.seed)
    q95 = random_cosine_quantile(acts.shape[2])
    rows = []
    for layer in layers:
        emp = fit_probe("mean_diff", acts[layer][train], frame.y[train])
        task = fit_probe("mean_diff", acts[layer][tt], task_y[tt])
        cosine = float(emp.direction @ task.direction)
        null = np.abs(shuffled_directions(acts[layer][tt], shuffles) @ emp.direction.astype(np.float64))
        rows.append({"layer": layer, "cosine": cosine, "random_cosine_q95": q95,
                     "shuffled_cosine_q95": float(np.quantile(null, 0.95)),
                     "shuffled_p": float((1 + (null >= abs(cosine)).sum()) / (n_shuffles + 1)),
                     **_named(frame.ci(emp.score(acts[layer]), te, task_y), "empathy_on_task"),
                     **_named(frame.ci(task.score(acts[layer]), test), "task_on_empathy"),
                     **_named(frame.ci(task.score(acts[layer]), te, task_y), "task_on_task")})
    return pd.DataFrame(rows)
