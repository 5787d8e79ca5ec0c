"""Steering verdicts: the prompt as unit, the sign-flip test, Holm over alphas x scorers, success, elbow."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from analyses.steering.verdicts import (
    Rules,
    breakdown,
    decide,
    effects,
    group_verdicts,
    sign_flip_p,
    success,
    summarise,
)
from core.stats.estimates import mean_ci

RULES = Rules(n_boot=300, n_signflips=5000, min_prompts=5, fwer=0.05, ppl_ratio=2.0, degenerate_rate=0.2)


def _values(effect_by_alpha: dict[float, object], n_prompts: int = 8, samples: int = 1, noise: float = 0.0,
            seed: int = 0, scorer: str = "vader") -> pd.DataFrame:
    """Scores per (prompt, sample, alpha): a prompt baseline + the effect (a number or one per prompt) + noise."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=n_prompts)
    rows = []
    for alpha, eff in effect_by_alpha.items():
        per_prompt = np.broadcast_to(np.asarray(eff, dtype=float), (n_prompts,))
        for u, s in itertools.product(range(n_prompts), range(samples)):
            rows.append({"alpha": alpha, "prompt_id": f"p{u}", "sample": s, "scorer": scorer,
                         "value": base[u] + per_prompt[u] + noise * rng.normal()})
    return pd.DataFrame(rows)


def _coherence(alphas: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"alpha": alphas, "perplexity": 5.0, "degenerate": False})


def strong(n: int = 8) -> np.ndarray:
    """Every prompt moves up: the exact sign-flip p is 2 / 2^n."""
    return np.linspace(0.8, 1.2, n)


def null(n: int = 8) -> np.ndarray:
    """Prompts move both ways and cancel exactly: p = 1."""
    return np.repeat(np.linspace(0.5, 1.5, n // 2), 2) * np.tile([1.0, -1.0], n // 2)


STRONG, NULL = strong(), null()


def test_success_needs_a_holm_rejection_in_alphas_sign():
    assert not success(0.0, 0.5, True)  # alpha = 0 is the reference
    assert not success(5.0, 0.5, False)  # not rejected
    assert not success(5.0, -0.5, True)  # significant, but against the intended sign
    assert not success(5.0, float("nan"), True)
    assert success(5.0, 0.5, True) and success(-5.0, -0.5, True)


def test_sign_flip_p_equals_brute_force_enumeration():
    d = np.array([1.0, 2.0, 3.0, -0.5, 0.25])
    null = [abs(np.dot(s, d)) for s in itertools.product([-1, 1], repeat=d.size)]
    expected = np.mean(np.array(null) >= abs(d.sum()) - 1e-12)
    assert sign_flip_p(d, 5000, 0) == pytest.approx(expected)
    assert sign_flip_p(np.ones(8), 5000, 0) == pytest.approx(2 / 256)  # the smallest exact p with 8 prompts
    assert sign_flip_p(np.zeros(6), 5000, 0) == 1.0  # no change is never evidence


def test_sign_flip_monte_carlo_is_calibrated_under_the_null():
    rng = np.random.default_rng(1)
    p = np.array([sign_flip_p(rng.normal(size=20), 999, k) for k in range(300)])  # 2^20 > 999: random flips
    assert p.min() >= 1 / 1000
    assert 0.02 <= np.mean(p <= 0.05) <= 0.10 and 0.4 <= np.median(p) <= 0.6


def test_samples_of_one_prompt_are_not_independent_units():
    # Twenty identical samples per prompt carry no more evidence than one: CI, p and n_prompts are the same
    # (resampling (prompt, sample) pairs would narrow the CI by sqrt(20)).
    one = effects(_values({0.0: 0.0, 5.0: STRONG}, samples=1, seed=3), RULES, 0)
    many = effects(_values({0.0: 0.0, 5.0: STRONG}, samples=20, seed=3), RULES, 0)
    pd.testing.assert_frame_equal(one, many)
    row = many[many.alpha == 5].iloc[0]
    assert row.n_prompts == 8 and row.effect == pytest.approx(1.0)


def test_effect_is_the_mean_of_prompt_means_and_its_ci_resamples_prompts():
    values = _values({0.0: 0.0, 5.0: STRONG}, samples=3, noise=0.2, seed=4)
    row = effects(values, RULES, 7).set_index("alpha").loc[5.0]
    per = values.pivot_table(index=["prompt_id", "sample"], columns="alpha", values="value")
    prompt = (per[5.0] - per[0.0]).groupby("prompt_id").mean().to_numpy()
    assert row.effect == pytest.approx(prompt.mean())
    assert (row.ci_low, row.ci_high) == pytest.approx(mean_ci(prompt, RULES.n_boot, 7, RULES.min_prompts))


def test_too_few_prompts_gives_no_ci_and_no_test():
    table = effects(_values({0.0: 0.0, 10.0: 1.0}, n_prompts=3, samples=4), RULES, 0)
    row = table[table.alpha == 10].iloc[0]
    assert row.effect == pytest.approx(1.0) and row.n_prompts == 3
    assert np.isnan(row.ci_low) and np.isnan(row.p_raw)


def test_holm_adjusts_every_alpha_and_scorer_of_a_group_together():
    alone = group_verdicts(_values({0.0: 0.0, 10.0: STRONG}), _coherence([0, 10]), RULES, 0, 18, "g")
    assert alone.set_index("alpha").loc[10.0, "success"]  # m = 1: p = 2/256 passes
    nulls = [_values({0.0: 0.0, 10.0: NULL}, scorer=f"null{k}") for k in range(7)]
    crowd = group_verdicts(pd.concat([_values({0.0: 0.0, 10.0: STRONG}), *nulls]), _coherence([0, 10]), RULES, 0,
                           18, "g")
    strong = crowd[(crowd.scorer == "vader") & (crowd.alpha == 10)].iloc[0]
    assert strong.p_raw == pytest.approx(2 / 256) and strong.p_holm == pytest.approx(8 * 2 / 256)
    assert not strong.success and strong.verdict == "undetermined"  # 8 tests: 0.0625 > 0.05
    assert crowd[crowd.alpha == 0].p_raw.isna().all() and (crowd[crowd.alpha == 0].verdict == "reference").all()


def test_decide_marks_opposite_and_keeps_untested_rows_out_of_the_family():
    table = pd.DataFrame({"alpha": [0.0, 5.0, 10.0, -5.0, 20.0], "effect": [0.0, 0.4, -0.6, -0.3, 0.1],
                          "p_raw": [np.nan, 0.01, 0.012, 0.02, np.nan]})
    out = decide(table, 0.05)
    assert out.p_holm.tolist()[1:4] == pytest.approx([0.03, 0.03, 0.03]) and np.isnan(out.p_holm.iloc[4])
    assert out.verdict.tolist() == ["reference", "success", "opposite", "success", "undetermined"]
    assert out.success.tolist() == [False, True, False, True, False]


def test_zero_effect_is_never_success():
    table = group_verdicts(_values({-10.0: 0.0, 0.0: 0.0, 10.0: 0.0}), _coherence([-10, 0, 10]), RULES, 0, 1, "g")
    assert (table.effect == 0).all() and not table.success.any() and (table[table.alpha != 0].p_raw == 1).all()


def test_elbow_is_the_start_of_the_run_of_successes_reaching_the_grid_end():
    up, flat = strong(10), null(10)
    effs = {-20.0: -up, -10.0: -up, -5.0: flat, 0.0: 0.0, 2.0: up, 5.0: flat, 10.0: up, 20.0: up}
    table = group_verdicts(_values(effs, n_prompts=10), _coherence(list(effs)), RULES, 0, 18, "g").set_index("alpha")
    assert table.loc[2.0, "success"] and not table.loc[5.0, "success"]  # 7 tests x 2/1024 < 0.05
    assert table.loc[20.0, "elbow_alpha"] == 10.0  # the isolated success at alpha = 2 is not the elbow
    assert table.loc[-20.0, "elbow_alpha"] == -10.0
    assert table.breakdown_alpha.isna().all()


def test_no_elbow_when_the_largest_alpha_is_undetermined():
    effs = {0.0: 0.0, 5.0: STRONG, 10.0: STRONG, 20.0: NULL}
    table = group_verdicts(_values(effs), _coherence(list(effs)), RULES, 0, 18, "g")
    assert table[table.alpha == 5].success.all() and table.elbow_alpha.isna().all()


def test_breakdown_on_perplexity_or_degenerate_share():
    coh = pd.DataFrame({"alpha": [0, 0, 5, 5, 10, 10, -5, -5, -10, -10],
                        "perplexity": [4, 6, 5, 6, 20, 30, 5, 5, 5, 5],
                        "degenerate": [False] * 8 + [True, False]})
    assert breakdown(coh, 2.0, 0.2) == {1: 10.0, -1: -10.0}


def _generations(layers: list[int]) -> pd.DataFrame:
    gen = pd.DataFrame({"layer": 3, "family": ["a", "a", "b", "b", "tf", "tf", "tf", "tf"],
                        "task_free": [False] * 4 + [True] * 4, "prompt_id": ["p1", "p1", "p2", "p2"] * 2,
                        "sample": 0, "alpha": [0.0, 5.0] * 4, "alpha_rel": [0.0, 0.5] * 4})
    gen.loc[4:, "prompt_id"] = ["q1", "q1", "q2", "q2"]
    gen = pd.concat([gen.assign(layer=layer) for layer in layers], ignore_index=True)
    return gen.assign(generation_id=[f"g{i}" for i in range(len(gen))])


def test_summary_pools_task_conflict_and_task_free_groups():
    gen = _generations([3])
    scores = pd.DataFrame({"generation_id": gen.generation_id, "scorer": "vader", "value": np.arange(8.0)})
    coh = pd.DataFrame({"generation_id": gen.generation_id, "perplexity": 3.0, "degenerate": False})
    out = summarise(gen, scores, coh, Rules(100, 1000, 2, 0.05, 2.0, 0.2), 0)
    assert set(out.family) == {"a", "b", "tf", "ALL:task_conflict", "ALL:task_free"}
    pooled = out[(out.family == "ALL:task_conflict") & (out.alpha == 5)].iloc[0]
    assert pooled.effect == 1.0 and pooled.n_prompts == 2 and pooled.alpha_rel == 0.5
    assert pooled.p_raw == 0.5 and not pooled.success  # two prompts: the exact p cannot go below 1/2


def test_each_layer_is_its_own_holm_family():
    # Six prompts: p >= 2/64 exactly; Holm over 2 tests gives 0.0625, over both layers' 4 tests it would give 0.125.
    gen = pd.DataFrame([{"layer": layer, "family": "a", "task_free": False, "prompt_id": f"p{u}", "sample": 0,
                         "alpha": a, "alpha_rel": a / 10} for layer in (3, 7) for u in range(6) for a in (0.0, 5.0)])
    gen["generation_id"] = [f"g{i}" for i in range(len(gen))]
    lift = gen.alpha * np.tile(np.repeat(strong(6), 2), 2)
    scores = pd.concat([pd.DataFrame({"generation_id": gen.generation_id, "scorer": "vader", "value": lift}),
                        pd.DataFrame({"generation_id": gen.generation_id, "scorer": "lexicon", "value": 0.0})])
    coh = pd.DataFrame({"generation_id": gen.generation_id, "perplexity": 3.0, "degenerate": False})
    rules = Rules(100, 1000, 2, 0.05, 2.0, 0.2)
    both = summarise(gen, scores, coh, rules, 0)
    only3 = gen.layer == 3
    alone = summarise(gen[only3], scores[scores.generation_id.isin(gen.generation_id[only3])], coh, rules, 0)
    pd.testing.assert_frame_equal(both[both.layer == 3].reset_index(drop=True), alone)
    row = alone[(alone.family == "a") & (alone.scorer == "vader") & (alone.alpha == 5)].iloc[0]
    assert row.p_raw == pytest.approx(2 / 64) and row.p_holm == pytest.approx(2 * 2 / 64)
