"""Fixtures for the TUI tests: a small results store in tmp_path, never the real outputs/."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from app.review_session import ReviewSource
from core import views
from core.review import text_label
from core.store import build_database

SNAPSHOT_PYTHON = (3, 11)  # snapshots are generated on one Python (harlequin's rule)

DVC_YAML = """\
stages:
  extract:
    foreach: [m1]
    do:
      cmd: python -m analyses extract --model ${item}
      outs:
        - outputs/extract/${item}
  probes:
    foreach: [m1]
    do:
      cmd: python -m analyses probes --model ${item}
      outs:
        - outputs/probes/${item}
  collect:
    cmd: python -m analyses collect
    outs: [outputs/results.duckdb]
"""
PARAMS_YAML = "seed: 1\nprofiles:\n  paper: {gpu: true}\n  smoke: {gpu: false}\n  v0: {beside: true}\n"


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to rewrite snapshots on another Python: fonts of SVG text can shift between versions."""
    if config.getoption("--snapshot-update", default=False) and sys.version_info[:2] != SNAPSHOT_PYTHON:
        raise pytest.UsageError(f"update snapshots on Python {SNAPSHOT_PYTHON} only")


def _write(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)


def auroc_frame(model: str = "m1", layers: int = 42) -> pd.DataFrame:
    """252 deterministic rows (42 layers x 2 methods x 3 splits): three pages of 100."""
    rows = [
        {"run_id": "r-probes", "model": model, "layer": layer, "method": method, "split": split,
         "auroc": round(0.55 + 0.4 * layer / (layers - 1) - (0.05 if method == "mean_diff" else 0), 4),
         "ci_low": 0.5, "ci_high": 1.0}
        for layer in range(layers) for method in ("mean_diff", "logistic")
        for split in ("train", "validation", "test")
    ]
    return pd.DataFrame(rows)


RUN = {"git_sha": "0123456789abcdef0123456789abcdef01234567", "versions": '{"duckdb": "2.0.1", "torch": "2.13.0+cpu"}',
       "profile": "smoke", "params_hash": "eb5a0dac840bf93e", "seed": 1234, "dataset_hash": "bb390ef06e29",
       "device": "cpu", "model_id": "org/m1-instruct", "model_revision": "rev-42",
       "started_at": "2026-12-01T10:41:58+00:00", "finished_at": "2026-12-01T10:42:58+00:00"}
ALPHAS = (-5.0, 0.0, 5.0)


def runs_frame(run_id: str, phase: str, wall_s: float) -> pd.DataFrame:
    """One `runs` row with every provenance field (P7)."""
    return pd.DataFrame([{"run_id": run_id, "phase": phase, "model": "m1", **RUN, "wall_s": wall_s}])


def steering_tables() -> dict[str, pd.DataFrame]:
    """Two prompts x two samples x three alphas, with scores, coherence and the pooled summary."""
    gens, scores, coherence, summary = [], [], [], []
    for prompt, family, free in (("duel_01", "the_duel", False), ("free_01", "task_free", True)):
        for sample in (0, 1):
            for alpha in ALPHAS:
                gid = f"L2:{prompt}:{alpha:+g}:s{sample}"
                gens.append({"run_id": "r-steer", "model": "m1", "generation_id": gid, "layer": 2,
                             "alpha": alpha, "alpha_rel": alpha / 100, "prompt_id": prompt, "family": family,
                             "task_free": free, "sample": sample, "seed": sample,
                             "text": f"{prompt} sample {sample} at alpha {alpha:+g}: I stay with them.",
                             "n_tokens": 12})
                scores += [{"run_id": "r-steer", "model": "m1", "generation_id": gid, "scorer": scorer,
                            "value": 0.5 + alpha / 50} for scorer in ("classifier", "vader")]
                coherence.append({"run_id": "r-steer", "model": "m1", "generation_id": gid,
                                  "perplexity": 4.0 + abs(alpha) / 10, "repetition": 0.0,
                                  "degenerate": alpha == 5.0 and sample == 1})
    for family in ("ALL:task_conflict", "ALL:task_free"):
        for scorer in ("classifier", "vader"):
            summary += [{"run_id": "r-steer", "model": "m1", "layer": 2, "family": family, "scorer": scorer,
                         "alpha": a, "alpha_rel": a / 100, "effect": a / 50, "ci_low": a / 50 - 0.05,
                         "ci_high": a / 50 + 0.05, "n_units": 4, "success": a > 0, "elbow_alpha": 5.0,
                         "breakdown_alpha": None} for a in ALPHAS]
    return {"steering_generations": pd.DataFrame(gens), "steering_scores": pd.DataFrame(scores),
            "steering_coherence": pd.DataFrame(coherence), "steering_summary": pd.DataFrame(summary),
            "runs": runs_frame("r-steer", "steering", 30.0)}


def null_tables() -> dict[str, pd.DataFrame]:
    """Nulls at the two chosen layers, and the probes chosen there."""
    selected = pd.DataFrame([
        {"run_id": "r-probes", "model": "m1", "method": "logistic", "layer": 40, "select_auroc": 0.99,
         "selected_on": "validation", "depth_frac": 0.95, "test_auroc": 0.9415, "ci_low": 0.91, "ci_high": 0.97,
         "accuracy": 0.9},
        {"run_id": "r-probes", "model": "m1", "method": "mean_diff", "layer": 20, "select_auroc": 0.97,
         "selected_on": "validation", "depth_frac": 0.48, "test_auroc": 0.7452, "ci_low": 0.70, "ci_high": 0.79,
         "accuracy": 0.8}])
    samples = pd.DataFrame([{"run_id": "r-base", "model": "m1", "layer": layer, "kind": kind,
                             "auroc": 0.5 + ((i * 37) % 41 - 20) / 200}
                            for layer in (20, 40) for kind in ("random", "permutation") for i in range(200)])
    random = pd.DataFrame([{"run_id": "r-base", "model": "m1", "layer": layer, "method": method,
                            "n_directions": 200, "auroc_probe": 0.8, "p_value": 1 / 201, "n_extreme": 0,
                            "null_mean": 0.5, "null_std": 0.05, "null_q95": 0.6 + layer / 1000}
                           for layer in range(42) for method in ("mean_diff", "logistic")])
    surface = pd.DataFrame([{"run_id": "r-probes", "model": "m1", "baseline": b, "split": "test", "auroc": a,
                             "ci_low": a - 0.02, "ci_high": a + 0.01, "chosen": b == "bow", "n_instances": 30}
                            for b, a in (("bow", 0.93), ("length", 0.55))])
    return {"probes_selected": selected, "probes_surface": surface, "baselines_null_samples": samples,
            "baselines_random": random}


def causal_tables() -> dict[str, pd.DataFrame]:
    """Patching and mediation effects by layer."""
    patching = pd.DataFrame([{"run_id": "r-patch", "model": "m1", "layer": layer, "kind": kind, "position": "span",
                              "mean": None, "ci_low": None, "ci_high": None, "n": 4, "pooled": 0.0,
                              "delta_mean": (0.3 if kind == "full" else 0.01) * (1 - layer / 41),
                              "delta_ci_low": 0.0, "delta_ci_high": 0.4, "n_instances": 4, "alpha": None}
                             for layer in range(0, 42, 5) for kind in ("full", "direction_only")])
    mediation = pd.DataFrame([{"run_id": "r-med", "model": "m1", "layer": layer, "te": 0.01, "te_ci_low": -0.01,
                               "te_ci_high": 0.03, "nie": 0.001 * layer / 40, "nie_ci_low": 0.0,
                               "nie_ci_high": 0.002, "nie_p_holm": 0.5, "nde": 0.009, "nde_ci_low": 0.0,
                               "nde_ci_high": 0.02,
                               "prop_mediated": None, "interaction": 0.0, "n": 4} for layer in range(0, 42, 10)])
    return {"patching_summary": patching, "mediation_effects": mediation}


def write_phase(out: Path, phase: str, tables: dict[str, pd.DataFrame], model: str = "m1") -> None:
    """Publish `tables` as outputs/<phase>/<model>/<table>/part-final.parquet."""
    for name, df in tables.items():
        _write(df, out / phase / model / name / "part-final.parquet")


# The fixture study's claims (tests only: the app reads whatever claims.yaml the repository holds).
CLAIMS_YAML = """\
claims:
  - id: logistic_auroc
    question: Is empathy decodable on held-out families (logistic probe)?
    source: probes_selected
    where: {method: logistic}
    value: test_auroc
    ci: [ci_low, ci_high]
    published: 0.942
    tolerance: 0.005
    verdict: Test AUROC {value} {ci}.
  - id: mean_diff_layer
    question: Which layer does validation choose for the mean-difference probe?
    source: probes_selected
    where: {method: mean_diff}
    value: layer
    published: 18
    tolerance: 0
    digits: 0
    verdict: Layer {value}.
  - id: words_alone
    question: How well does the best surface baseline do on the test families?
    source: probes_surface
    where: {split: test, baseline: bow}
    value: auroc
    ci: [ci_low, ci_high]
    published: 0.93
    tolerance: 0.005
    verdict: Bag of words reaches {value} {ci}.
  - id: leace
    question: What is left after LEACE erasure?
    source: probes_erased
    value: auroc
    published: 0.765
    verdict: LEACE leaves {value}.
"""


def review_pairs_frame() -> pd.DataFrame:
    """24 pairs over 6 families x 2 kinds, each with its situation (the sheet's pair columns)."""
    rows = [{"pair_id": f"fam{f}_{i:02d}:{kind}", "source": "authored", "family": f"fam{f}", "pair_kind": kind,
             "label_a": text_label(True, "completed"), "text_a": f"A text of fam{f} {kind} {i}: I listen first.",
             "label_b": text_label(kind == "task_empathic", "abandoned"), "text_b": f"B text of fam{f} {i}.",
             "situation": f"Situation of fam{f} instance {i}: someone is upset."}
            for f in range(6) for kind in ("empathy_task_completed", "task_empathic") for i in range(2)]
    return pd.DataFrame(rows)


def fixture_review_source(root: Path, profile: str) -> ReviewSource:
    """The review screen's pairs in tests (instead of params.yaml's dataset)."""
    return ReviewSource(review_pairs_frame(), seed=7, min_realism=3, n=20)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fake repository root: dvc.yaml, params.yaml and outputs/ with a few published tables."""
    (tmp_path / "dvc.yaml").write_text(DVC_YAML)
    (tmp_path / "params.yaml").write_text(PARAMS_YAML)
    out = tmp_path / "outputs"
    _write(auroc_frame(), out / "probes/m1/probes_auroc/part-final.parquet")
    _write(runs_frame("r-probes", "probes", 5.0), out / "probes/m1/runs/part-final.parquet")
    _write(runs_frame("r-extract", "extract", 200.0), out / "extract/m1/runs/part-final.parquet")
    _write(pd.DataFrame({"run_id": ["r-extract"], "model": ["m1"], "n_texts": [468], "tokens": [100213]}),
           out / "extract/m1/extract_summary/part-final.parquet")
    # Unpublished work that must never show up: a staging run and a swapped-out old folder.
    _write(auroc_frame(layers=2), out / ".staging/probes-m1-abc/probes_auroc/part-0.parquet")
    _write(auroc_frame(layers=2), out / "probes/.m1.old/probes_auroc/part-final.parquet")
    _write(pd.DataFrame({"x": [1]}), out / "collect/.hidden/staged_only/part-final.parquet")
    return tmp_path


@pytest.fixture
def study(repo: Path) -> Path:
    """`repo` plus what the workbench screens read: nulls, steering, patching and mediation, and the
    results.duckdb that collect would build (for the Findings screen)."""
    out = repo / "outputs"
    probes = null_tables()
    write_phase(out, "probes", {k: v for k, v in probes.items() if k.startswith("probes_")})
    write_phase(out, "baselines", {**{k: v for k, v in probes.items() if k.startswith("baselines_")},
                                   "runs": runs_frame("r-base", "baselines", 3.0)})
    write_phase(out, "steering", steering_tables())
    causal = causal_tables()
    write_phase(out, "patching", {"patching_summary": causal["patching_summary"],
                                  "runs": runs_frame("r-patch", "patching", 9.0)})
    write_phase(out, "mediation", {"mediation_effects": causal["mediation_effects"],
                                   "runs": runs_frame("r-med", "mediation", 8.0)})
    build_database(out, out / "results.duckdb", views.DERIVED)
    (repo / "claims.yaml").write_text(CLAIMS_YAML)
    return repo
