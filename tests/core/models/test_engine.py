"""The engine's own contracts: per-row logits on both transformers paths, cache row selection, batching."""

from __future__ import annotations

import pytest
import torch

from core.data.prompts import prompt_ids
from core.models import engine
from core.models.capture import residual_stream


def _full_logits(model, ids):
    with torch.inference_mode():
        return model.hf(torch.tensor([ids])).logits[0]


# the 1-D path runs on every version; the per-row path exists from transformers 5.23
@pytest.mark.parametrize("per_row", [False, True] if engine.PER_ROW_KEEP else [False])
def test_logits_at_reads_each_rows_own_position(tiny, per_row):
    tok = tiny.tokenizer
    seqs = [prompt_ids(tok, "A short one."), prompt_ids(tok, "A much longer prompt, about a dog lost in town."),
            prompt_ids(tok, "A short one.")]
    width = max(len(s) for s in seqs)
    ids = torch.tensor([s + [tok.pad_token_id] * (width - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
    got = engine.logits_at(tiny, ids, mask, mask.sum(dim=1) - 1, per_row=per_row)
    assert got.shape == (3, tiny.hf.config.vocab_size)
    for row, seq in enumerate(seqs):  # right padding: each row equals its own unpadded run
        torch.testing.assert_close(got[row], _full_logits(tiny, seq)[-1], rtol=1e-4, atol=1e-4)


def test_take_rows_selects_rows_and_leaves_the_source_untouched(tiny):
    tok = tiny.tokenizer
    prefixes = [prompt_ids(tok, "One prefix."), prompt_ids(tok, "Another, longer prefix here.")]
    width = max(len(p) for p in prefixes)
    cache, mask = engine.prefix_cache(tiny, prefixes, width)
    assert mask is not None and mask.shape == (2, width)
    before = [layer.keys.clone() for layer in cache.layers]
    taken = engine.take_rows(cache, torch.tensor([1, 1, 0]))
    for layer, src, new in zip(cache.layers, before, taken.layers, strict=True):
        assert torch.equal(layer.keys, src)  # the shared cache is not modified
        assert torch.equal(new.keys, src[[1, 1, 0]])


def test_expand_broadcasts_a_one_row_prefix(tiny):
    ids = prompt_ids(tiny.tokenizer, "A prefix to share.")
    cache, mask = engine.prefix_cache(tiny, [ids])
    assert mask is None
    wide = engine.expand(cache, 4)
    for src, new in zip(cache.layers, wide.layers, strict=True):
        if getattr(src, "keys", None) is not None and src.keys.numel():
            assert new.keys.shape[0] == 4 and torch.equal(new.keys[3], src.keys[0])
            assert src.keys.shape[0] == 1


def test_hooked_residuals_equal_the_traced_ones(tiny):
    ids = torch.tensor([prompt_ids(tiny.tokenizer, "Hooks and nnsight read the same tensor.")])
    layers = list(range(tiny.n_layers))
    hooked = engine.hooked_residuals(tiny, engine.hf_inputs(tiny, ids), layers)
    traced = residual_stream(tiny, ids, torch.ones_like(ids), layers)
    for layer in layers:
        torch.testing.assert_close(hooked[layer].float(), traced[layer], atol=1e-5, rtol=1e-5)


def test_batches_group_by_key_in_first_seen_order_then_chunk():
    keys = [(3, 0), (5, 0), (3, 0), (3, 1), (3, 0), (5, 0)]
    assert engine.batches(keys, 2) == [[0, 2], [4], [1, 5], [3]]
    assert engine.batches([0] * 5, 2) == [[0, 1], [2, 3], [4]]
