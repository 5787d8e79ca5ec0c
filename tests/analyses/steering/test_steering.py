"""steering end to end on the embedded model (mini dataset, CPU), and resuming a killed sweep."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import analyses.steering as steering
from analyses.__main__ import main
from analyses.harness import stamp
from analyses.summary import print_summary
from core import views
from core.store import read_table, write_tables
from tests.analyses.conftest import mini_project

pytestmark = pytest.mark.slow
LAYER = 18
SMALL = ["--set", "steering.alphas=[0, 10]", "--set", "steering.samples=2",
         "--set", "steering.families=[food_delivery, task_free]", "--set", "steering.batch_rows=6",
         "--set", "steering.task_free_prompts=1", "--set", "steering.max_new_tokens=6",
         "--set", "steering.judge_validation_texts=4", "--set", "steering.norm_texts=2",
         "--set", "steering.n_bootstrap=50", "--set", "steering.min_units=2"]


def _fake_probes(root: Path) -> None:
    """Probe tables as the probes phase writes them (a seeded random unit direction at LAYER)."""
    v = np.random.default_rng(0).normal(size=576)
    v /= np.linalg.norm(v)
    folder = root / "outputs" / "probes" / "smollm2-135m"
    write_tables(folder, stamp({
        "probes_directions": pd.DataFrame({"layer": [LAYER], "method": ["mean_diff"], "threshold": [0.0],
                                           "direction": [v.tolist()]}),
        "probes_selected": pd.DataFrame({"method": ["mean_diff"], "layer": [LAYER], "select_auroc": [1.0],
                                         "selected_on": ["validation"], "depth_frac": [0.63], "test_auroc": [1.0],
                                         "ci_low": [1.0], "ci_high": [1.0], "accuracy": [1.0]})},
        "fakeprobes00", "smollm2-135m"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("steering")
    with mini_project(root) as data:
        _fake_probes(root)
        args = ["--set", f"data.dataset={data}", *SMALL]
        yield root, args


def test_killed_sweep_resumes_then_collect_fills_every_table(workdir, monkeypatch):
    """Kill the sweep in its second unit; the rerun does only the missing units; collect then holds
    every steering table for positive, negative and task-free prompts."""
    root, args = workdir
    real, calls = steering._generate_batch, []

    def crashing(*a, **k):
        calls.append([p.prompt_id for _, p in a[3]])
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(*a, **k)

    monkeypatch.setattr(steering, "_generate_batch", crashing)
    assert main(["steering", *args]) == 1
    staging = next((root / "outputs" / ".staging").glob("steering-*"))
    done_first = set(read_table(staging, "steering_generations").prompt_id)
    assert len(done_first) == 1

    calls.clear()
    monkeypatch.setattr(steering, "_generate_batch", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert main(["steering", *args]) == 0 and main(["collect"]) == 0
    assert len(calls) == 2  # the two units left, not the one already stored
    with duckdb.connect(str(root / "outputs" / "results.duckdb"), read_only=True) as con:
        gen, scores, coh, summary, clf, runs = (con.sql(f"SELECT * FROM {t}").df() for t in (
            "steering_generations", "steering_scores", "steering_coherence", "steering_summary",
            "steering_classifier", "runs"))
    assert len(gen) == 3 * 3 * 2 and gen.generation_id.is_unique and gen.run_id.nunique() == 1
    assert set(gen.prompt_id) >= done_first and set(gen.alpha) == {-10.0, 0.0, 10.0}
    assert gen.task_free.any() and (~gen.task_free).any() and (gen.n_tokens <= 6).all()
    assert set(scores.scorer) == {"classifier", "lexicon", "vader", "judge", "forced_choice_ld"}
    assert not scores.duplicated(["generation_id", "scorer"]).any()
    assert scores.groupby("scorer").size()["forced_choice_ld"] == 2 * 3 * 2  # not for the free prompt
    assert set(coh.generation_id) == set(gen.generation_id)
    assert {"ALL:task_conflict", "ALL:task_free"} <= set(summary.family)
    assert not summary[summary.alpha == 0].success.any()
    assert set(clf.scorer) >= {"classifier", "lexicon", "vader"} and clf.test_auroc.between(0, 1).all()
    assert "steering" in set(runs.phase)
    monkeypatch.chdir(root)
    printed: list[str] = []
    print_summary(printed.append)
    steering_section = next(block for block in printed if block.startswith("\nSteering"))
    assert "ALL:task_free" in steering_section and "ALL:task_conflict" in steering_section
    sql = next(q.sql for q in views.SUMMARY if q.title.startswith("Steering"))
    with duckdb.connect(str(root / "outputs" / "results.duckdb"), read_only=True) as con:
        headline = con.sql(sql).df()
    assert set(headline.alpha) == {-10.0, 10.0}  # alpha = 0 is the reference, not a row
