"""Mediation: TE = NIE + NDE where the model is linear in the mediator; positions of the mediator."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from analyses.causal.common import CueEffect
from analyses.causal.runs import Engine, base_runs
from analyses.mediation import instance_effects, mediation_verdict, mediator_positions, summarise
from core.config import ModelSpec
from core.data.prompts import ChoicePair
from core.models.loader import LoadedModel

D, VOCAB, LAYERS = 16, 32, 3


class _Layer(nn.Module):
    """Linear in its input: h + W (causal running mean of h), so tokens interact, linearly."""

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Linear(D, D, bias=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        counts = torch.arange(1, h.shape[1] + 1, dtype=h.dtype).view(1, -1, 1)
        return h + self.mix(h.cumsum(dim=1) / counts)


class _LinearLM(nn.Module):
    """A toy causal LM whose logits are a linear function of every layer's residual stream."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.config = SimpleNamespace(num_hidden_layers=LAYERS, hidden_size=D)
        self.model = nn.Module()
        self.model.embed = nn.Embedding(VOCAB, D)
        self.model.layers = nn.ModuleList(_Layer() for _ in range(LAYERS))
        self.lm_head = nn.Linear(D, VOCAB, bias=False)

    def forward(self, input_ids, cache=None, use_cache=False, logits_to_keep=0):
        h = self.model.embed(input_ids)
        for layer in self.model.layers:
            h = layer(h)
        return SimpleNamespace(logits=self.lm_head(h[:, -logits_to_keep:]), cache=None)


class _Tokenizer:
    def encode(self, text, add_special_tokens=False):
        return [{"A": 1, "B": 2}[text]]


@pytest.fixture(scope="module")
def toy():
    spec = ModelSpec(source="tiny", hf_id="toy", family="llama")
    model = LoadedModel("toy", spec, _LinearLM().eval(), _Tokenizer(), "toy", "cpu")
    return Engine(model, reuse_prefix=False)  # the toy keeps no KV cache


def _pairs(seed: int) -> tuple[ChoicePair, ChoicePair]:
    g = np.random.default_rng(seed)
    ids = tuple(int(x) for x in g.integers(3, VOCAB, 12))
    swapped = ids[:8] + tuple(int(x) for x in g.integers(3, VOCAB, 4))
    out = []
    # both "orders" count letter A as empathic: a model additive in its inputs cannot tie the cue's effect
    # to the option order, so true counterbalancing would cancel every effect of the toy exactly
    for first, seq in ((True, ids), (True, swapped)):
        clean, corrupt = list(seq), list(seq)
        clean[4:6] = [3, 4]
        corrupt[4:6] = [5, 6]
        out.append(ChoicePair(f"i{seed}", first, tuple(clean), tuple(corrupt), (4, 6)))
    return out[0], out[1]


@pytest.mark.parametrize("where", ["from_cue", "after_cue"])
def test_te_equals_nie_plus_nde_in_a_model_linear_in_the_mediator(toy, where):
    dirs = {layer: nn.functional.normalize(torch.randn(D), dim=0) for layer in range(LAYERS)}
    rows = []
    for seed in range(4):
        base = base_runs(toy, _pairs(seed), range(LAYERS))
        rows += instance_effects(toy, base, list(range(LAYERS)), dirs, where)
    effects = pd.DataFrame(rows)
    assert (effects.te.abs() > 1e-3).all() and (effects.nie.abs() > 1e-6).all()
    np.testing.assert_allclose(effects.te, effects.nie + effects.nde, atol=1e-5)
    table = summarise(effects, n_boot=50, seed=0, min_effect=1e-6, n_flips=1000, alpha=0.05)
    np.testing.assert_allclose(table.interaction, 0, atol=1e-5)
    assert (table.nie_ci_low <= table.nie).all() and (table.nie <= table.nie_ci_high).all()


def test_mediator_positions():
    pair = _pairs(0)[0]
    assert mediator_positions(pair, "from_cue") == list(range(4, 12))
    assert mediator_positions(pair, "after_cue") == list(range(6, 12))


def _instances(te: np.ndarray, nie_at: dict[int, float]) -> pd.DataFrame:
    """Per instance x layer effects: the given TE everywhere, NIE nie_at[layer] (+ tiny noise), NDE the rest."""
    rng = np.random.default_rng(1)
    rows = []
    for i, t in enumerate(te):
        for layer, nie in nie_at.items():
            n = nie + 0.001 * rng.normal()
            rows.append({"instance_id": f"i{i}", "layer": layer, "te": t, "nie": n, "nde": t - n})
    return pd.DataFrame(rows)


def test_mediation_p_values_are_holm_adjusted_across_layers():
    effects = _instances(np.full(20, 0.5), {0: 0.0, 1: 0.2, 2: 0.0})
    table = summarise(effects, 200, 0, 0.1, 2000, 0.05).set_index("layer")
    assert table.te_p.iloc[0] < 0.01 and table.nie_p_holm.loc[1] < 0.05
    assert (table.nie_p_holm >= table.nie_p - 1e-12).all() and table.nie_p_holm.loc[0] > 0.05
    verdict = mediation_verdict(table.reset_index(), CueEffect.of(np.full(20, 0.5), 200, 0), 0.05)
    assert verdict["answer"].startswith("layer 1") and "significant at layers [1]" in verdict["answer"]


def test_mediation_is_undetermined_when_the_total_effect_is_zero():
    te = np.tile([0.3, -0.3], 10)  # no total effect, yet a clear "indirect effect" at layer 1
    effects = _instances(te, {0: 0.0, 1: 0.2})
    table = summarise(effects, 200, 0, 0.1, 2000, 0.05)
    assert table.nie_p_holm.min() < 0.05 and table.te_ci_low.iloc[0] < 0 < table.te_ci_high.iloc[0]
    verdict = mediation_verdict(table, CueEffect.of(te, 200, 0), 0.05)
    assert verdict["answer"].startswith("undetermined") and "significant" not in verdict["answer"]
