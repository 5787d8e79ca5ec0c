"""steering end to end on the embedded model (mini dataset, CPU), and resuming a killed sweep."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import analyses.steering as steering
from analyses.__main__ import main
from analyses.harness import FINAL, run_phase, stamp
from analyses.summary import print_summary
from core import views
from core.config import Params, load_params
from core.store import write_tables
from tests.analyses.conftest import killer, mini_project

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


def steering_prompts(params: Params) -> list[str]:
    """The prompt ids the sweep steers, in order."""
    from core.data import load_dataset

    ds = load_dataset(params.data.dataset, params.data.scenarios)
    return [p.prompt_id for p in steering.select_prompts(params.steering, ds)]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("steering")
    with mini_project(root) as data:
        _fake_probes(root)
        args = ["--set", f"data.dataset={data}", *SMALL]
        yield root, args


def test_killed_sweep_resumes_then_collect_fills_every_table(workdir, monkeypatch):
    """Kill the sweep after its first unit; the rerun does only the missing units; collect then holds
    every steering table for positive, negative and task-free prompts."""
    root, args = workdir
    params = load_params(overrides=[a for a in args if a != "--set"])
    written: list[str] = []
    with pytest.raises(RuntimeError, match="killed"):
        run_phase("steering", params, "smollm2-135m", on_unit=killer(written))
    staging = next((root / "outputs" / ".staging").glob("steering-*"))
    assert written == [f"L{LAYER}-{steering_prompts(params)[0]}"]
    done_first = set(pd.read_parquet(staging / "steering_generations").prompt_id)
    assert len(done_first) == 1

    written.clear()
    assert run_phase("steering", params, "smollm2-135m", on_unit=written.append)
    assert main(["collect"]) == 0
    swept = [u for u in written if u not in (FINAL, steering.TRANSFER_UNIT)]
    assert len(swept) == 2 and not set(swept) & {f"L{LAYER}-{p}" for p in done_first}  # not the stored one
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
    tested = summary.dropna(subset=["p_raw"])  # ALL:task_free has 2 prompts (min_units 2): tested, one family
    assert len(tested) and set(tested.family) <= {"ALL:task_free"} and summary[summary.alpha == 0].p_raw.isna().all()
    assert (tested.p_holm >= tested.p_raw - 1e-12).all() and tested.p_raw.min() >= 0.5  # 2 prompts: exact p >= 1/2
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
    assert "p_holm" in headline.columns


def test_a_transfer_only_model_runs_no_sweep_and_no_judge(workdir, monkeypatch):
    """steering.transfer_only: the model gets only steering_transfer's arms (none here: one model, no
    source), the classifier and the norms; no sweep unit, no generations, no summary, no judge."""
    from core.paths import published_parts

    root, args = workdir
    params = load_params(overrides=[a for a in args if a != "--set"] + ["steering.transfer_only=[smollm2-135m]"])
    monkeypatch.setattr(steering.judging, "load_judge", lambda *_: pytest.fail("the judge was loaded"))
    monkeypatch.setattr(steering.judging, "after_model", lambda *_: pytest.fail("the judge ran"))
    written: list[str] = []
    assert run_phase("steering", params, "smollm2-135m", on_unit=written.append)
    assert written == [FINAL]
    tables = {table for phase, model, table, _ in published_parts(root / "outputs")
              if phase == "steering" and model == "smollm2-135m"}
    assert {"steering_classifier", "steering_norms", "steering_transfer"} <= tables
    assert not tables & {"steering_generations", "steering_summary", "steering_scores"}
