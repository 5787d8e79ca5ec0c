"""baselines: the within-pair null's pairs and tables (synthetic), and one smoke run end to end."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from analyses.__main__ import main
from analyses.baselines import pair_null, permutation_rows, train_pairs
from analyses.summary import print_summary
from core.data import load_dataset
from core.stats.nulls import pair_swaps, random_directions
from tests.analyses.conftest import probed_project
from tests.conftest import ROOT, write_mini_dataset


def test_train_pairs_are_the_train_empathy_pairs_as_train_positions(tmp_path):
    ds = load_dataset(write_mini_dataset(tmp_path / "mini.json", per_family=2), ROOT / "data" / "scenarios.json")
    train = np.array([t.split == "train" for t in ds.texts])
    pairs = train_pairs(ds, train)
    texts = [t for t in ds.texts if t.split == "train"]
    want = sum(p.kind.startswith("empathy") and p.split == "train" for p in ds.pairs)
    assert want > 0 and pairs.shape == (want, 2)
    assert len(np.unique(pairs)) == pairs.size  # disjoint: a text is in one empathy pair
    for a, b in pairs:
        assert texts[a].instance_id == texts[b].instance_id and texts[a].task == texts[b].task
        assert texts[a].empathic and not texts[b].empathic
    pair_swaps(np.array([t.empathic for t in texts]), pairs, 5, seed=0)  # accepted by the null


def _layers(n_pairs=40, d=64, signal=(0.0, 2.5), seed=0):
    """[L, 2 n_pairs, d] paired activations (text 2i empathic, 2i+1 its partner), train and test halves."""
    rng = np.random.default_rng(seed)
    y = np.arange(2 * n_pairs) % 2 == 0
    direction = random_directions(1, d, 5)[0]
    shared = rng.normal(size=(n_pairs, d)).repeat(2, axis=0)
    acts = np.stack([shared + rng.normal(size=(2 * n_pairs, d)) + np.outer(np.where(y, s, -s), direction)
                     for s in signal])
    half = n_pairs  # the first n_pairs / 2 pairs train
    return acts[:, :half], y[:half], np.arange(half).reshape(-1, 2), acts[:, half:], y[half:]


@pytest.mark.parametrize("method", ["mean_diff", "logistic"])
def test_pair_null_uses_the_same_swaps_at_every_layer(method):
    x, y, pairs, xe, ye = _layers()
    swaps = pair_swaps(y, pairs, 12, seed=1)
    twin = np.stack([x[1], x[1]])  # two identical layers: identical null columns only if the swaps are shared
    null = pair_null(method, twin, swaps, np.stack([xe[1], xe[1]]), ye, c=1.0, seed=0)
    assert null.shape == (12, 2) and np.array_equal(null[:, 0], null[:, 1])
    flipped = pair_null(method, x[1:], np.stack([y, ~y]), xe[1:], ye, c=1.0, seed=0)[:, 0]
    assert flipped[0] > 0.8 and flipped[1] == pytest.approx(1 - flipped[0])  # every pair swapped: mirrored


def test_permutation_rows_report_the_family_wise_p_and_null_quantiles():
    rng = np.random.default_rng(0)
    null = rng.uniform(0.2, 0.8, size=(499, 4))
    rows = permutation_rows(np.array([0.5, 0.75, 0.95, 0.25]), null)
    assert [r["n_family_layers"] for r in rows] == [4] * 4
    assert all(r["p_family"] >= r["p_layer"] for r in rows)
    assert rows[1]["p_family"] > rows[1]["p_layer"]  # 0.75 is often beaten by the max of four layers
    assert rows[2]["p_layer"] == rows[2]["p_family"] == pytest.approx(1 / 500)  # beyond every null value
    assert rows[0]["p_layer"] == pytest.approx(1.0)
    assert all(r["null_q05"] < r["null_q50"] < r["null_q95"] <= r["null_family_q95"] + 1e-12 for r in rows[:1])
    assert rows[0]["null_family_q95"] > max(r["null_q95"] for r in rows)  # the max over layers reaches further


@pytest.mark.slow
def test_smoke_run_tables_and_summary(probed_template, tmp_path):
    with probed_project(probed_template, tmp_path) as data:
        args = ["--set", f"data.dataset={data}", "--set", "probes.n_bootstrap=50", "--set", "baselines.n_bootstrap=200",
                "--set", "baselines.n_directions=200", "--set", "baselines.n_permutations=200"]
        assert [main(["baselines", *args]), main(["collect"])] == [0, 0]
        with duckdb.connect(str(tmp_path / "outputs" / "results.duckdb"), read_only=True) as con:
            perm = con.sql("SELECT * FROM baselines_permutation").df()
            random = con.sql("SELECT * FROM baselines_random").df()
            chosen = con.sql("SELECT method, layer FROM probes_selected").df().set_index("method").layer
        lines: list[str] = []
        print_summary(lines.append)
    md, lg = perm[perm.method == "mean_diff"], perm[perm.method == "logistic"]
    assert sorted(md.layer) == list(range(30)) and set(md.n_permutations) == {200}
    assert sorted(lg.layer) == sorted({9, 19, 29, int(chosen["logistic"])})  # the smoke grid + its chosen layer
    assert set(lg.n_permutations) == {19} and set(lg.n_family_layers) == {len(lg)}
    assert (perm.p_family >= perm.p_layer).all() and (perm.p_layer >= 1 / 201).all()
    for table in (perm, random):
        assert ((table.ci_low <= table.auroc_probe) & (table.auroc_probe <= table.ci_high)).all()
    assert (random.p_holm >= random.p_value).all()
    block = next(b for b in lines if "Nulls at the chosen layer" in b).strip().splitlines()
    assert "perm_p_family" in block[1] and len(block) == 4  # title, header, one row per method
    assert all(len(row.split()) == 10 and "nan" not in row.lower() for row in block[2:])  # every null joined
