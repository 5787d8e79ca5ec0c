"""The success rule, elbow and breakdown of steering verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyses.steering.verdicts import breakdown, effects, success, summarise, verdict_rows


def _values(effect_by_alpha: dict[float, float], n_units: int = 8, noise: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=n_units)
    rows = []
    for alpha, eff in effect_by_alpha.items():
        for u in range(n_units):
            rows.append({"alpha": alpha, "prompt_id": f"p{u}", "sample": 0,
                         "value": base[u] + eff + noise * rng.normal()})
    return pd.DataFrame(rows)


def test_success_rule_never_counts_zero_or_wrong_sign():
    assert not success(0.0, 0.1, 0.2)  # alpha = 0 is the baseline
    assert not success(5.0, 0.0, 0.3)  # a CI touching zero
    assert not success(-5.0, -0.3, 0.0)
    assert not success(5.0, -0.3, -0.1)  # significant, but against the intended sign
    assert not success(5.0, float("nan"), float("nan"))  # no CI (too few units)
    assert success(5.0, 0.01, 0.3) and success(-5.0, -0.3, -0.01)


def test_zero_effect_is_never_success():
    table = effects(_values({-10.0: 0.0, 0.0: 0.0, 10.0: 0.0}), ["prompt_id", "sample"], 200, 0, 5)
    assert (table.effect == 0).all() and not table.success.any()


def test_too_few_units_gives_no_verdict():
    table = effects(_values({0.0: 0.0, 10.0: 1.0}, n_units=3), ["prompt_id", "sample"], 200, 0, 5)
    row = table[table.alpha == 10].iloc[0]
    assert row.effect == 1.0 and np.isnan(row.ci_low) and not row.success


def test_elbow_is_the_smallest_significant_alpha_per_sign():
    effs = {-20.0: -1.0, -5.0: -0.02, 0.0: 0.0, 5.0: 0.01, 10.0: 0.5, 20.0: 1.0}
    values = _values(effs, n_units=30, noise=0.05)
    coh = pd.DataFrame({"alpha": list(effs), "perplexity": 5.0, "degenerate": False})
    table = verdict_rows(values, coh, ["prompt_id", "sample"], 500, 0, 5, 2.0, 0.2)
    assert table.set_index("alpha").loc[20.0, "elbow_alpha"] == 10.0
    assert table.set_index("alpha").loc[-20.0, "elbow_alpha"] == -20.0
    assert table.breakdown_alpha.isna().all()


def test_breakdown_on_perplexity_or_degenerate_share():
    coh = pd.DataFrame({"alpha": [0, 0, 5, 5, 10, 10, -5, -5, -10, -10],
                        "perplexity": [4, 6, 5, 6, 20, 30, 5, 5, 5, 5],
                        "degenerate": [False] * 8 + [True, False]})
    assert breakdown(coh, 2.0, 0.2) == {1: 10.0, -1: -10.0}


def test_summary_pools_task_conflict_and_task_free_groups():
    gen = pd.DataFrame({"generation_id": [f"g{i}" for i in range(8)], "layer": 3,
                        "family": ["a", "a", "b", "b", "tf", "tf", "tf", "tf"],
                        "task_free": [False] * 4 + [True] * 4, "prompt_id": ["p1", "p1", "p2", "p2"] * 2,
                        "sample": 0, "alpha": [0.0, 5.0] * 4, "alpha_rel": [0.0, 0.5] * 4})
    gen.loc[4:, "prompt_id"] = ["q1", "q1", "q2", "q2"]
    scores = pd.DataFrame({"generation_id": gen.generation_id, "scorer": "vader", "value": np.arange(8.0)})
    coh = pd.DataFrame({"generation_id": gen.generation_id, "perplexity": 3.0, "degenerate": False})
    out = summarise(gen, scores, coh, 100, 0, 2, 2.0, 0.2)
    assert set(out.family) == {"a", "b", "tf", "ALL:task_conflict", "ALL:task_free"}
    pooled = out[(out.family == "ALL:task_conflict") & (out.alpha == 5)].iloc[0]
    assert pooled.effect == 1.0 and pooled.n_units == 2 and pooled.alpha_rel == 0.5
