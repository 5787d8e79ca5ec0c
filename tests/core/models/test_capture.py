"""Oracles for the residual stream we capture (DESIGN §7)."""

from __future__ import annotations

import pytest
import torch

from core.models.capture import pooled_embeddings, pooled_residuals, residual_stream
from core.models.families import FAMILIES, get_path
from core.models.text import collate, encode

TEXTS = ["I stop and ask whether she is all right before I carry on.", "Done. Next delivery."]


def _batch(model, texts=TEXTS):
    items = [encode(model.tokenizer, "What do you do?", t, "response_mean", True, 256) for t in texts]
    return items, collate(items, model.tokenizer.pad_token_id)


def _hf_hidden(model, ids, mask):
    with torch.inference_mode():
        return model.hf(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states


def _check_oracle(model):
    _, (ids, mask, _) = _batch(model)
    layers = list(range(model.n_layers))
    ours = residual_stream(model, ids, mask, layers)
    ref = _hf_hidden(model, ids, mask)
    for layer in layers[:-1]:  # layer L is HF hidden_states[L+1]
        torch.testing.assert_close(ours[layer], ref[layer + 1], rtol=1e-5, atol=1e-4)
    # HF stores the last entry after the final norm; ours is the raw block output
    norm = get_path(model.hf, FAMILIES[model.spec.family].final_norm_path)
    with torch.inference_mode():
        torch.testing.assert_close(norm(ours[-1]), ref[-1], rtol=1e-5, atol=1e-4)


def test_residual_matches_hf_hidden_states_tiny(tiny):
    _check_oracle(tiny)


@pytest.mark.slow
def test_residual_matches_hf_hidden_states_embedded(embedded):
    _check_oracle(embedded)


@pytest.mark.slow
def test_residual_matches_hf_hidden_states_embedded_gemma3(embedded_gemma3):
    # the real Gemma-3-270M weights: sliding-window and global layers, sqrt(d)-scaled tied embeddings
    _check_oracle(embedded_gemma3)


def test_gemma3_oracle_holds_where_the_sliding_window_acts():
    # an 8-token window, shorter than the test texts: sliding layers then see less than global ones
    from core.config import ModelSpec
    from core.models.loader import LoadedModel
    from core.models.tiny import build_tiny

    hf, tok = build_tiny("gemma3", overrides={"sliding_window": 8})
    tok.pad_token = tok.pad_token or tok.eos_token
    spec = ModelSpec(source="tiny", hf_id="tiny-gemma3-window8", family="gemma3")
    model = LoadedModel("tiny-gemma3-window8", spec, hf, tok, "random-init", "cpu")
    _, (ids, _, _) = _batch(model)
    assert ids.shape[1] > 8
    _check_oracle(model)


def test_pooled_equals_weighted_mean_of_residuals(tiny):
    items, (ids, mask, weights) = _batch(tiny)
    layers = [0, tiny.n_layers - 1]
    pooled = pooled_residuals(tiny, ids, mask, weights, layers)
    full = residual_stream(tiny, ids, mask, layers)
    for k in range(len(layers)):
        for row, item in enumerate(items):
            keep = torch.tensor(item.weights) > 0
            expected = full[k][row, : len(item.ids)][keep].mean(dim=0)
            torch.testing.assert_close(pooled[k, row], expected, rtol=1e-4, atol=1e-4)


def test_pooled_embeddings_equal_pooled_hf_hidden_states_0(tiny):
    # hidden_states[0] is the embedding output after any family scaling (gemma2 multiplies by sqrt(d)),
    # so the oracle holds only if the scale is read from the model, not assumed
    items, (ids, mask, weights) = _batch(tiny)
    pooled = pooled_embeddings(tiny, ids, mask, weights)
    ref = _hf_hidden(tiny, ids, mask)[0]
    assert pooled.shape == (1, len(items), tiny.d_model)
    for row, item in enumerate(items):
        expected = (ref[row, : len(item.ids)] * torch.tensor(item.weights)[:, None]).sum(dim=0)
        torch.testing.assert_close(pooled[0, row], expected, rtol=1e-5, atol=1e-5)


def test_right_padding_leaves_each_text_unchanged(tiny):
    items, (ids, mask, weights) = _batch(tiny)
    batched = pooled_residuals(tiny, ids, mask, weights, [1])
    for row, item in enumerate(items):
        i, m, w = collate([item], tiny.tokenizer.pad_token_id)
        alone = pooled_residuals(tiny, i, m, w, [1])
        torch.testing.assert_close(batched[0, row], alone[0, 0], rtol=1e-4, atol=1e-4)


def test_extraction_runs_no_block_after_the_last_read_and_no_lm_head(tiny):
    # a 256k vocabulary at 16k batch tokens is ~8 GB of logits that nobody reads: the trace stops after
    # the last layer read, so the later blocks, the final norm and the LM head never run
    _, (ids, mask, weights) = _batch(tiny)
    ran: list[str] = []
    blocks = tiny.layer_modules()
    later = [(f"block {i}", b) for i, b in enumerate(blocks) if i > 0]
    watched = [*later, ("final norm", get_path(tiny.hf, FAMILIES[tiny.spec.family].final_norm_path)),
               ("lm head", tiny.hf.get_output_embeddings())]
    handles = [m.register_forward_pre_hook(lambda *_, name=name: ran.append(name)) for name, m in watched]
    try:
        pooled = pooled_residuals(tiny, ids, mask, weights, [0])
        assert ran == [] and pooled.shape == (1, 2, tiny.d_model)
        pooled_residuals(tiny, ids, mask, weights, list(range(tiny.n_layers)))
        assert ran == [name for name, _ in later]  # every block started; the norm and the head did not
    finally:
        for h in handles:
            h.remove()
