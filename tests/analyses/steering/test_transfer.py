"""steering_transfer's statistics: effects paired by seed with the shared alpha = 0 twin, per-prompt
contrasts between arms, and the random arm's direction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.steering.transfer import effect_rows, per_prompt_effects, random_unit
from core.config import load_params

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def cfg():
    return load_params(ROOT / "params.yaml", "smoke", ["steering.min_units=2"]).steering


def _scored(deltas: dict[str, dict[str, float]], prompts: int = 6, samples: int = 2) -> pd.DataFrame:
    """Scores where arm a at alpha 10 adds deltas[a][prompt] to a per-(prompt, sample) base score."""
    rng = np.random.default_rng(0)
    rows = []
    for p in range(prompts):
        for s in range(samples):
            base = float(rng.normal())
            rows.append({"arm": "none", "prompt_id": f"p{p}", "alpha": 0.0, "sample": s, "scorer": "classifier",
                         "value": base})
            for arm, by_prompt in deltas.items():
                rows.append({"arm": arm, "prompt_id": f"p{p}", "alpha": 10.0, "sample": s, "scorer": "classifier",
                             "value": base + by_prompt[f"p{p}"] + (0.01 if s else -0.01)})
    return pd.DataFrame(rows)


def test_effects_pair_each_sample_with_its_own_alpha_zero_twin():
    deltas = {"mapped": {f"p{i}": 0.1 * i for i in range(6)}, "own": {f"p{i}": 0.5 for i in range(6)},
              "random": {f"p{i}": 0.0 for i in range(6)}}
    effects = per_prompt_effects(_scored(deltas))
    assert set(effects.arm) == {"mapped", "own", "random"} and set(effects.alpha) == {10.0}
    got = effects.set_index(["arm", "prompt_id"]).delta
    for arm, by_prompt in deltas.items():  # the +-0.01 sample noise averages out; the base cancels exactly
        for prompt, want in by_prompt.items():
            assert got[(arm, prompt)] == pytest.approx(want, abs=1e-12)


def test_rows_report_each_arm_and_its_contrasts_with_cis(cfg):
    deltas = {"mapped": {f"p{i}": 0.3 + 0.05 * i for i in range(6)}, "own": {f"p{i}": 0.6 for i in range(6)},
              "random": {f"p{i}": 0.02 * (-1) ** i for i in range(6)}}
    rows = pd.DataFrame(effect_rows(per_prompt_effects(_scored(deltas)), cfg, seed=1)).set_index("arm")
    mapped = np.array(list(deltas["mapped"].values()))
    assert rows.loc["mapped", "effect"] == pytest.approx(mapped.mean())
    assert rows.loc["mapped", "minus_random"] == pytest.approx(mapped.mean() - 0.0)
    assert rows.loc["mapped", "minus_own"] == pytest.approx(mapped.mean() - 0.6)
    assert rows.loc["mapped", "minus_random_ci_low"] > 0  # every prompt: mapped beats random
    assert rows.loc["mapped", "minus_own_ci_high"] < 0    # ... and loses to own
    assert (rows.ci_low <= rows.effect + 1e-12).all() and (rows.effect <= rows.ci_high + 1e-12).all()
    assert np.isnan(rows.loc["random", "minus_random"]) and (rows.n_prompts == 6).all()


def test_too_few_prompts_give_no_interval(cfg):
    one = {"mapped": {"p0": 0.4}, "own": {"p0": 0.5}, "random": {"p0": 0.0}}
    rows = pd.DataFrame(effect_rows(per_prompt_effects(_scored(one, prompts=1)), cfg, seed=1))
    assert rows.ci_low.isna().all() and rows.effect.notna().all()


def test_random_arm_is_a_seeded_unit_direction():
    a, b, c = random_unit(640, 7), random_unit(640, 7), random_unit(640, 8)
    assert np.linalg.norm(a) == pytest.approx(1.0) and np.array_equal(a, b) and not np.allclose(a, c)
    assert abs(a @ c) < 0.2  # two random directions in 640 dimensions are nearly orthogonal


def test_arms_share_seeds_so_a_mapped_direction_equal_to_own_steers_identically(monkeypatch):
    # the same direction under the same prompts and seeds gives the same generations: mapped - own is 0
    from types import SimpleNamespace

    import analyses.steering.transfer as transfer
    from core.config import ModelSpec
    from core.data.lexicon import Lexicon
    from core.models.loader import load_model

    params = load_params(ROOT / "params.yaml", "smoke", ["steering.max_new_tokens=4", "steering.min_units=2",
                                                         "steering.temperature=0.7"])
    model = load_model("tiny-llama", ModelSpec(source="tiny", hf_id="tiny-llama", family="llama"))
    own = random_unit(model.d_model, 3)
    arms = (transfer.Arm("mapped", own.copy()), transfer.Arm("own", own),
            transfer.Arm("random", random_unit(model.d_model, 4)))
    monkeypatch.setattr(transfer, "sources", lambda *_: [transfer.Source("other", 1, arms)])
    ctx = SimpleNamespace(model=model, alias="tiny-llama", seed=1, params=params)
    prompts = [SimpleNamespace(prompt_id=f"p{i}", text=f"A stranger drops a bag, case {i}. What now?")
               for i in range(3)]
    out = transfer.transfer_table(params.steering, ctx, prompts, 1, own, lambda t: np.array([len(x) / 50 for x in t]),
                                  Lexicon.load(params.data.lexicon), lambda pid, s: 11 * s + len(pid), norm=250.0)
    # smoke's transfer alphas are relative: alpha_rel 0.07 of a median norm of 250 adds alpha 17.5
    assert set(out.arm) == {"mapped", "own", "random"} and set(out.alpha) == {17.5} and set(out.alpha_rel) == {0.07}
    assert set(out.target_model) == {"tiny-llama"} and set(out.scorer) == {"classifier", "lexicon", "vader"}
    mapped = out[out.arm == "mapped"].set_index("scorer")
    assert (mapped.minus_own.abs() < 1e-12).all() and np.allclose(mapped.cosine_to_own, 1.0)
