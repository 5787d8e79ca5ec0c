"""extract -> probes -> behaviour, patching, ablation, mediation -> collect on the embedded model (mini dataset,
CPU)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from analyses.__main__ import main
from analyses.harness import FINAL, run_phase
from core.config import load_params
from core.determinism import table_digest
from tests.analyses.conftest import killer, probed_project

pytestmark = pytest.mark.slow

SMALL = ["--set", "probes.n_bootstrap=50", "--set", "patching.layers=[28]", "--set", "patching.final_positions=1",
         "--set", "patching.max_span_positions=1", "--set", "patching.n_bootstrap=50",
         "--set", "mediation.layers=[0,29]", "--set", "mediation.n_bootstrap=50",
         "--set", "ablation.layers=[10,20]", "--set", "ablation.n_bootstrap=50"]


@pytest.fixture(scope="module")
def workdir(probed_template, tmp_path_factory):
    root = tmp_path_factory.mktemp("causal")
    with probed_project(probed_template, root) as data:  # extract and probes already ran there
        args = ["--set", f"data.dataset={data}", *SMALL]
        phases = ["behaviour", "patching", "ablation", "mediation"]
        assert [main([p, *args]) for p in phases] + [main(["collect"])] == [0] * 5
        yield root, args


def _sql(root: Path, query: str):
    with duckdb.connect(str(root / "outputs" / "results.duckdb"), read_only=True) as con:
        return con.sql(query).df()


def test_every_causal_table_is_filled(workdir):
    root, _ = workdir
    for table in ("behaviour_scores", "behaviour_instances", "behaviour_effects", "patching_effects",
                  "patching_summary", "patching_attribution",
                  "ablation_auroc", "ablation_paired", "ablation_texts", "mediation_effects"):
        assert len(_sql(root, f"SELECT * FROM {table}")) > 0, table
    effects = _sql(root, "SELECT * FROM patching_effects")
    assert set(effects.kind) == {"full", "direction_only", "steering"}
    assert set(_sql(root, "SELECT variant FROM ablation_auroc").variant) >= {
        "original", "lexicon_replaced", "matched_replaced", "crossed_subset"}
    paired = _sql(root, "SELECT * FROM ablation_paired")
    assert set(paired.survives) <= {"yes", "no", "undetermined"} and (paired.extra_ci_low <= paired.extra_ci_high).all()
    summary = _sql(root, "SELECT * FROM patching_summary")
    assert (summary.delta_p_holm >= summary.delta_p - 1e-12).all() and summary.delta_p.between(0, 1).all()
    mediation = _sql(root, "SELECT * FROM mediation_effects")
    assert {"te_p", "nie_p", "nie_p_holm", "nde_p", "nde_p_holm"} <= set(mediation.columns)
    verdicts = _sql(root, "SELECT * FROM patching_verdicts UNION ALL SELECT * FROM ablation_verdicts "
                    "UNION ALL SELECT * FROM mediation_verdicts")
    assert len(verdicts) == 4 and verdicts.answer.str.len().gt(0).all()
    effects = _sql(root, "SELECT * FROM behaviour_effects").set_index("metric")
    assert set(effects.index) == {"continuation", "letter"} and (effects.ci_low <= effects.ci_high).all()
    assert effects.used_by_causal_phases.sum() == 1 and effects.loc["letter", "mass_median"] > 0
    scores = _sql(root, "SELECT * FROM behaviour_scores")
    letter = scores[scores.metric == "letter"]
    continuation = scores[scores.metric == "continuation"]
    assert letter.compliance_mass.between(0, 1).all() and continuation.logprob_sum.lt(0).all()
    assert set(_sql(root, "SELECT metric FROM patching_effects").metric) == {"continuation"}
    te = _sql(root, "SELECT te_ci_low, te_ci_high FROM mediation_effects LIMIT 1").iloc[0]
    mediated = verdicts[verdicts.question.str.contains("indirect effect")].answer.iloc[0]
    assert mediated.startswith("undetermined") == bool(te.te_ci_low <= 0 <= te.te_ci_high)
    runs = _sql(root, "SELECT * FROM runs")
    assert set(_sql(root, "SELECT run_id FROM mediation_effects").run_id) <= set(runs.run_id)


def test_summary_prints_probe_nulls_and_causal_verdicts(workdir, monkeypatch, capsys):
    root, _ = workdir
    monkeypatch.chdir(root)
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "Probe layer chosen" in out and "Test AUROC by layer" in out and "Length control" in out
    verdicts = out.split("Causal verdicts")[1]
    assert "Does the empathy cue move the forced choice (continuation metric)?" in verdicts
    assert "Nulls at the chosen layer" not in out  # baselines did not run here


def test_rerunning_ablation_extracts_nothing(workdir, monkeypatch):
    root, args = workdir
    monkeypatch.chdir(root)
    caches = sorted((root / "outputs" / "activations_ablation").rglob("part-*.npz"))
    assert caches, "the edited texts were re-extracted into their own caches"
    import core.models.loader as loader

    monkeypatch.setattr(loader, "load_model", lambda *a, **k: pytest.fail("a rerun must not load the model"))
    assert main(["ablation", *args]) == 0
    assert sorted((root / "outputs" / "activations_ablation").rglob("part-*.npz")) == caches


def _digests(root: Path, phase: str) -> dict[str, str]:
    folder = root / "outputs" / phase / "smollm2-135m"
    return {t.name: table_digest(t.name, sorted(t.glob("part-*.parquet"))) for t in sorted(folder.iterdir())
            if t.is_dir() and t.name != "runs"}


@pytest.mark.parametrize("phase", ["behaviour", "mediation", "patching"])
def test_a_killed_causal_run_resumes_only_the_instances_not_written(workdir, phase):
    """Each instance is a work unit: killed after its first, the rerun computes every other unit once, and
    publishes the tables an uninterrupted run did (the module's fixture ran one)."""
    root, args = workdir
    before = _digests(root, phase)
    params = load_params(overrides=[a for a in args if a != "--set"])
    written: list[str] = []
    with pytest.raises(RuntimeError, match="killed"):
        run_phase(phase, params, "smollm2-135m", on_unit=killer(written))
    first = written.pop()
    assert run_phase(phase, params, "smollm2-135m", on_unit=written.append)
    assert first not in written and len(written) == len(set(written)) and written[-1] == FINAL
    units = [u for u in written if u != FINAL]
    assert len(units) >= (3 if phase == "patching" else 2)  # patching: the other patches and every steering unit
    assert f"{phase}_base_runs" in before
    assert _digests(root, phase) == before
