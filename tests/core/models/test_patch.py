"""Patching rows (core/models/patch.py) and causal row builders on a tiny random-init Llama (oracles)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from analyses.causal.runs import Engine, attribution, base_runs, interchange, order_lds, set_projection, steer
from core.config import ModelSpec
from core.data.prompts import aligned_instances
from core.models.capture import residual_stream
from core.models.loader import load_model
from core.models.patch import Edit, Row, residual_gradients, run_rows


def first_aligned(tokenizer):
    """The counterbalanced pairs of the dataset's first instance whose cue and neutral event have
    equal token lengths under `tokenizer` (the tiny models' tokenizer aligns fewer than the embedded one)."""
    from core.data import load_dataset
    from tests.conftest import ROOT

    ds = load_dataset(ROOT / "data" / "dataset_expanded.json", ROOT / "data" / "scenarios.json")
    return next(iter(aligned_instances(tokenizer, list(ds.instances.values()))[0].values()))


@pytest.fixture(scope="module")
def tiny_llama():
    return load_model("tiny-llama", ModelSpec(source="tiny", hf_id="tiny-llama", family="llama"))


@pytest.fixture(scope="module")
def setup(tiny_llama, request):
    pairs = first_aligned(tiny_llama.tokenizer)
    engine = Engine(tiny_llama)
    return engine, pairs, base_runs(engine, pairs, range(tiny_llama.n_layers))


def test_hook_residuals_equal_nnsight_residuals(tiny_llama, setup):
    _, pairs, base = setup
    ids = torch.tensor([pairs[0].clean_ids])
    traced = residual_stream(tiny_llama, ids, torch.ones_like(ids), list(range(tiny_llama.n_layers)))
    for layer, h in enumerate(traced):
        torch.testing.assert_close(base.clean[0][layer], h[0, pairs[0].prefix_len:], atol=1e-5, rtol=1e-5)


def test_patching_clean_into_clean_changes_nothing(setup):
    engine, pairs, base = setup
    rows = []
    for o, pair in enumerate(pairs):
        positions = list(range(pair.prefix_len, pair.length))
        edits = tuple(Edit(layer, tuple(positions), values=base.residual("clean", o, layer, positions))
                      for layer in range(engine.model.n_layers))
        rows.append([Row(pair.clean_ids, edits)])
    lds, _ = order_lds(engine, pairs, rows)
    np.testing.assert_allclose([x[0] for x in lds], base.ld_clean, atol=1e-5)


def test_full_patch_at_last_layer_final_position_gives_clean_ld(setup):
    engine, pairs, base = setup
    last = engine.model.n_layers - 1
    rows = [[interchange(base, o, last, [pair.length - 1])] for o, pair in enumerate(pairs)]
    lds, _ = order_lds(engine, pairs, rows)
    np.testing.assert_allclose([x[0] for x in lds], base.ld_clean, atol=1e-5)
    assert not np.allclose(base.ld_clean, base.ld_corrupt, atol=1e-6)  # the test is not vacuous


def test_direction_only_patch_with_zero_direction_changes_nothing(setup):
    engine, pairs, base = setup
    zero = torch.zeros(engine.model.d_model)
    rows = [[set_projection(base, o, layer, list(range(*pair.span)), zero)
             for layer in range(engine.model.n_layers)] for o, pair in enumerate(pairs)]
    lds, _ = order_lds(engine, pairs, rows)
    for o in range(2):
        np.testing.assert_allclose(lds[o], base.ld_corrupt[o], atol=1e-6)


def test_direction_only_patch_sets_the_projection_and_nothing_else(setup):
    engine, pairs, base = setup
    u = torch.nn.functional.normalize(torch.randn(engine.model.d_model), dim=0)
    span = list(range(*pairs[0].span))
    row = set_projection(base, 0, 1, span, u)
    _, res = order_lds(engine, pairs, [[row], []], capture=[1])
    patched = res[0][1][0][[p - base.prefix_len for p in span]]
    torch.testing.assert_close(patched @ u, base.projection("clean", 0, 1, span, u), atol=1e-4, rtol=1e-4)
    corrupt = base.residual("corrupt", 0, 1, span)
    orth = lambda h: h - (h @ u).unsqueeze(-1) * u  # noqa: E731
    torch.testing.assert_close(orth(patched), orth(corrupt), atol=1e-4, rtol=1e-4)


def test_steering_with_zero_alpha_is_the_corrupt_run(setup):
    engine, pairs, base = setup
    u = torch.ones(engine.model.d_model) / engine.model.d_model ** 0.5
    rows = [[steer(base, o, 0, list(range(*pair.span)), u, 0.0)] for o, pair in enumerate(pairs)]
    lds, _ = order_lds(engine, pairs, rows)
    np.testing.assert_allclose([x[0] for x in lds], base.ld_corrupt, atol=1e-6)


def test_batched_prefix_cached_sweep_equals_one_pass_per_intervention(setup):
    engine, pairs, base = setup
    rows = [[interchange(base, o, layer, [p]) for layer in range(engine.model.n_layers)
             for p in list(range(*pair.span)) + [pair.length - 1]] for o, pair in enumerate(pairs)]
    fast, _ = order_lds(engine, pairs, rows)
    slow, _ = order_lds(Engine(engine.model, batch_rows=1, reuse_prefix=False), pairs, rows)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_edits_inside_the_shared_prefix_are_refused(setup):
    engine, pairs, _ = setup
    row = Row(pairs[0].corrupt_ids, (Edit(0, (0,), delta=torch.zeros(1, engine.model.d_model)),))
    with pytest.raises(ValueError, match="prefix"):
        run_rows(engine.model, [row], pairs[0].prefix_len, engine.scorer)


def test_gradients_match_a_finite_difference(setup):
    engine, pairs, base = setup
    pair, layer = pairs[0], 1
    acts, grads = residual_gradients(engine.model, [Row(pair.corrupt_ids)], pair.prefix_len, engine.scorer,
                                     [pair.sign], [layer])
    acts, grads = acts[0], grads[0]
    torch.testing.assert_close(acts[0], base.corrupt[0][layer], atol=1e-5, rtol=1e-5)
    pos = pair.length - 1
    h = base.corrupt[0][layer][pos - pair.prefix_len]
    v = torch.nn.functional.normalize(torch.randn(engine.model.d_model), dim=0) * 1e-2 * h.norm()
    rows = [Row(pair.corrupt_ids, (Edit(layer, (pos,), delta=s * v.unsqueeze(0)),)) for s in (1, -1)]
    lds, _ = order_lds(engine, pairs, [rows, []])
    central = (lds[0][0] - lds[0][1]) / 2  # second-order terms cancel
    predicted = float(grads[0, pos - pair.prefix_len] @ v)
    assert central == pytest.approx(predicted, rel=0.02, abs=1e-6)
    assert all(p.requires_grad for p in engine.model.hf.parameters())  # restored after the pass


def test_attribution_batches_both_orders_like_single_rows(setup):
    engine, pairs, base = setup
    layers = list(range(engine.model.n_layers))
    grids = attribution(engine, base, layers)
    for o, pair in enumerate(pairs):
        assert grids[o].shape == (len(layers), pair.length - pair.prefix_len)
        acts, grads = residual_gradients(engine.model, [Row(pair.corrupt_ids)], pair.prefix_len, engine.scorer,
                                         [pair.sign], layers)
        clean = torch.stack([base.clean[o][layer] for layer in layers])
        torch.testing.assert_close(grids[o], ((clean - acts[0]) * grads[0]).sum(-1), atol=1e-5, rtol=1e-4)


def test_every_family_batched_sweep_with_skipping_equals_one_pass_each(tiny):
    pairs = first_aligned(tiny.tokenizer)
    engine = Engine(tiny)
    base = base_runs(engine, pairs, range(tiny.n_layers))
    rows = [[interchange(base, o, layer, [pair.span[0], pair.length - 1]) for layer in range(tiny.n_layers)]
            for o, pair in enumerate(pairs)]
    assert any(r.start for r in rows[0])  # rows edited above block 0 do skip the blocks below
    fast, _ = order_lds(engine, pairs, rows)
    slow, _ = order_lds(Engine(tiny, batch_rows=1, reuse_prefix=False), pairs, rows)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
