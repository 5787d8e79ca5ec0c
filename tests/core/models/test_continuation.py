"""Behaviour scorers (core/models/continuation.py) against plain HF forwards on tiny random-init models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from analyses.causal.runs import Engine, base_runs, interchange, order_lds
from core.config import ModelSpec
from core.data.prompts import combine, letter_ids, variants
from core.models.continuation import ChoiceScorer, ContinuationScorer, LetterScorer
from core.models.loader import load_model
from core.models.patch import Row, run_rows


@pytest.fixture(scope="module")
def tiny_llama():
    return load_model("tiny-llama", ModelSpec(source="tiny", hf_id="tiny-llama", family="llama"))


@pytest.fixture(scope="module")
def instance():
    from core.data import load_dataset
    from core.models.loader import load_tokenizer
    from tests.conftest import ROOT

    # the first instance whose cue and neutral prompts align under the tiny tokenizer (it aligns fewer)
    tok = load_tokenizer(ModelSpec(source="tiny", hf_id="tiny", family="llama"))
    ds = load_dataset(ROOT / "data" / "dataset_expanded.json", ROOT / "data" / "scenarios.json")
    for inst in ds.instances.values():
        try:
            variants(tok, inst, "continuation")
        except ValueError:
            continue
        return inst
    raise AssertionError("no instance aligns under the tiny tokenizer")


def _manual_logprobs(model, ids: tuple[int, ...], n: int) -> np.ndarray:
    """log p of each of the last n tokens, from one unbatched plain forward."""
    with torch.no_grad():
        logits = model.hf(torch.tensor([ids])).logits[0].double()
    lp = torch.log_softmax(logits, dim=-1)
    return np.array([float(lp[t - 1, ids[t]]) for t in range(len(ids) - n, len(ids))])


def test_continuation_score_is_the_mean_and_sum_of_token_logprobs(tiny, instance):
    pairs = variants(tiny.tokenizer, instance, "continuation")
    assert [p.option for p in pairs] == ["empathic", "task"] * 2 and all(p.answer_len > 0 for p in pairs)
    rows = [Row(ids, scored=p.answer_len) for p in pairs for ids in (p.clean_ids, p.corrupt_ids)]
    # rows of equal length but different scored spans share a batch: each row masks its own tokens
    rows += [Row(pairs[0].clean_ids, scored=2), Row(pairs[0].clean_ids, scored=pairs[0].answer_len + 3)]
    out = run_rows(tiny, rows, pairs[0].prefix_len, ContinuationScorer()).scores.double().numpy()
    for row, (mean, total) in zip(rows, out, strict=True):
        manual = _manual_logprobs(tiny, row.ids, row.scored)
        assert total == pytest.approx(manual.sum(), rel=1e-4, abs=1e-4)
        assert mean == pytest.approx(manual.mean(), rel=1e-4, abs=1e-5)
    assert out[-2, 1] != pytest.approx(out[-1, 1])  # the scored span matters


def test_letter_score_and_compliance_mass_match_a_plain_forward(tiny_llama, instance):
    pairs = variants(tiny_llama.tokenizer, instance, "letter")
    scorer = LetterScorer(letter_ids(tiny_llama.tokenizer))
    rows = [Row(p.clean_ids) for p in pairs]
    out = run_rows(tiny_llama, rows, pairs[0].prefix_len, scorer).scores.double().numpy()
    for row, (diff, mass) in zip(rows, out, strict=True):
        with torch.no_grad():
            last = tiny_llama.hf(torch.tensor([row.ids])).logits[0, -1].double()
        a, b = scorer.letters
        assert diff == pytest.approx(float(last[a] - last[b]), abs=1e-4)
        assert mass == pytest.approx(float(torch.softmax(last, -1)[[a, b]].sum()), rel=1e-4)


def test_the_continuation_scorer_needs_a_continuation_in_every_row():
    with pytest.raises(ValueError, match="continuation"):
        ContinuationScorer().keep([Row((1, 2, 3), scored=1), Row((1, 2, 3))])


def _hooked_metric(model, pairs, layer: int, positions: list[int]) -> float:
    """The continuation metric of the corrupt runs with the clean residual after `layer` written at
    `positions`, by one hooked plain forward per sequence (no cache, no batching, no block skipping)."""
    block = model.layer_modules()[layer]
    signed = []
    for pair in pairs:
        with torch.no_grad():
            clean = model.hf(torch.tensor([pair.clean_ids]), output_hidden_states=True).hidden_states[layer + 1]

        def hook(_m, _a, output, clean=clean):
            h = output[0] if isinstance(output, tuple) else output
            h = h.clone()
            h[:, positions] = clean[:, positions]
            return (h, *output[1:]) if isinstance(output, tuple) else h

        handle = block.register_forward_hook(hook)
        try:
            lp = _manual_logprobs(model, pair.corrupt_ids, pair.answer_len)
        finally:
            handle.remove()
        signed.append(pair.sign * lp.mean())
    return float(combine(signed))


def test_patching_under_the_continuation_metric_equals_a_hooked_forward(tiny_llama, instance):
    pairs = variants(tiny_llama.tokenizer, instance, "continuation")
    engine = Engine(tiny_llama, metric="continuation")
    base = base_runs(engine, pairs, range(tiny_llama.n_layers))
    for v, pair in enumerate(pairs):  # answers of different lengths: each variant keeps its own positions
        assert base.clean[v][0].shape[0] == pair.length - pair.prefix_len
    layer, positions = 1, list(range(*pairs[0].span))
    lds, _ = order_lds(engine, pairs, [[interchange(base, v, layer, positions)] for v in range(len(pairs))])
    patched = float(combine([x[0] for x in lds]))
    assert any(r.start for r in [interchange(base, 0, layer, positions)])  # the fast path skips blocks
    assert patched == pytest.approx(_hooked_metric(tiny_llama, pairs, layer, positions), abs=1e-5)
    assert patched != pytest.approx(base.value_corrupt, abs=1e-6)  # the patch does something


def test_choice_scorer_gives_both_metrics_from_the_answered_rows(tiny_llama, instance):
    """The letter columns read at each answered row's answer position equal the letter scorer's on the
    prompt alone, and the continuation columns equal the continuation scorer's."""
    answered = variants(tiny_llama.tokenizer, instance, "continuation")
    letters = letter_ids(tiny_llama.tokenizer)
    rows = [Row(p.clean_ids, scored=p.answer_len) for p in answered]
    both = run_rows(tiny_llama, rows, answered[0].prefix_len, ChoiceScorer(letters)).scores.double().numpy()
    cont = run_rows(tiny_llama, rows, answered[0].prefix_len, ContinuationScorer()).scores.double().numpy()
    prompts = [Row(p.clean_ids[:p.prompt_len]) for p in answered]
    lett = run_rows(tiny_llama, prompts, answered[0].prefix_len, LetterScorer(letters)).scores.double().numpy()
    np.testing.assert_allclose(both[:, :2], cont, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(both[:, 2:], lett, rtol=1e-4, atol=1e-4)
    assert len({len(p.clean_ids) for p in answered}) > 1 or answered[0].answer_len != answered[1].answer_len


@pytest.fixture(scope="module")
def v3_instance(tiny_llama):
    """A v3 instance whose cue, neutral and negative prompts all align under the tiny tokenizer."""
    from core.data import load_dataset
    from tests.conftest import ROOT

    ds = load_dataset(ROOT / "data" / "v3" / "dataset.json", ROOT / "data" / "v3" / "scenarios.json")
    for inst in ds.instances.values():
        try:
            for e in ("neutral", "negative"):
                variants(tiny_llama.tokenizer, inst, "continuation", e)
        except ValueError:
            continue
        return inst
    raise AssertionError("no v3 instance aligns for both events under the tiny tokenizer")


def test_choice_runs_equal_separate_base_runs_per_metric_and_event(tiny_llama, v3_instance):
    from analyses.causal.runs import choice_runs

    instance = v3_instance
    answered = {e: variants(tiny_llama.tokenizer, instance, "continuation", e) for e in ("neutral", "negative")}
    runs = choice_runs(Engine(tiny_llama, metric="continuation"), answered)
    assert set(runs) == {"neutral", "negative"}
    assert not np.allclose(runs["neutral"]["continuation"].ld_corrupt, runs["negative"]["continuation"].ld_corrupt)
    for e in answered:
        for metric in ("continuation", "letter"):
            pairs = variants(tiny_llama.tokenizer, instance, metric, e)
            alone = base_runs(Engine(tiny_llama, metric=metric), pairs, [])
            got = runs[e][metric]
            assert [p.clean_ids for p in got.pairs] == [p.clean_ids for p in alone.pairs]
            assert [p.sign for p in got.pairs] == [p.sign for p in alone.pairs]
            for a, b in ((got.ld_clean, alone.ld_clean), (got.ld_corrupt, alone.ld_corrupt),
                         (got.extra_clean, alone.extra_clean), (got.extra_corrupt, alone.extra_corrupt)):
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
