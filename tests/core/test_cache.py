"""The activation cache resumes after an interruption and never duplicates a text."""

from __future__ import annotations

import numpy as np
import pytest

import core.activations as extract_mod
from core.cache import ActivationCache
from core.config import load_params
from core.data import load_dataset
from tests.conftest import ROOT


def _texts(mini_dataset):
    return load_dataset(mini_dataset).texts[:12]


def _all_ids(cache):
    ids = []
    for part in cache.parts():
        with np.load(part) as data:
            ids += [str(t) for t in data["text_ids"]]
    return ids


def _tiny():
    from core.config import ModelSpec
    from core.models.loader import load_model

    return load_model("tiny", ModelSpec(source="tiny", hf_id="tiny-llama", family="llama"))


def _cfg(*overrides: str):
    return load_params(ROOT / "params.yaml", overrides=["extract.batch_tokens=600", *overrides]).extract


def test_interrupted_extraction_resumes_without_duplicates_and_equals_an_uninterrupted_run(
        tmp_path, mini_dataset, monkeypatch):
    model, texts, cfg = _tiny(), _texts(mini_dataset), _cfg("extract.flush_every_batches=1")
    clean = extract_mod.extract_into(ActivationCache.open(tmp_path / "clean", {"k": 1}), model, texts, cfg)
    cache = ActivationCache.open(tmp_path, {"k": 1})
    real, calls = extract_mod.pooled_residuals, {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the user pressed Ctrl-C mid-run
        return real(*args, **kwargs)

    monkeypatch.setattr(extract_mod, "pooled_residuals", flaky)
    with pytest.raises(KeyboardInterrupt):
        extract_mod.extract_into(cache, model, texts, cfg)
    partial = _all_ids(cache)
    assert 0 < len(partial) < len(texts) and len(cache.parts()) == 2  # a part per batch: both finished ones
    monkeypatch.setattr(extract_mod, "pooled_residuals", real)
    stats = extract_mod.extract_into(ActivationCache.open(tmp_path, {"k": 1}), model, texts, cfg)
    ids = _all_ids(cache)
    assert stats.n_new == len(texts) - len(partial)
    assert (stats.batches, stats.batches_total) == (clean.batches - 2, clean.batches) and clean.batches > 3
    assert sorted(ids) == sorted(t.text_id for t in texts) and len(ids) == len(set(ids))
    every = [t.text_id for t in texts]
    assert np.array_equal(cache.load(every), ActivationCache.at(tmp_path / "clean", {"k": 1}).load(every))
    again = extract_mod.extract_into(cache, model, texts, cfg)
    assert again.n_new == 0 and again.tokens == 0 and again.batches == 0


def test_a_part_is_flushed_every_n_batches_or_every_t_seconds_whichever_comes_first(tmp_path, mini_dataset):
    model, texts = _tiny(), _texts(mini_dataset)
    by_count = ActivationCache.open(tmp_path / "count", {"k": 1})
    stats = extract_mod.extract_into(by_count, model, texts, _cfg("extract.flush_every_batches=3"))
    assert stats.batches >= 5 and len(by_count.parts()) == -(-stats.batches // 3)
    by_clock = ActivationCache.open(tmp_path / "clock", {"k": 1})
    extract_mod.extract_into(by_clock, model, texts, _cfg("extract.flush_every_batches=1000",
                                                          "extract.flush_every_seconds=1e-9"))
    assert len(by_clock.parts()) == stats.batches  # the clock is always due: a part per batch
    every = [t.text_id for t in texts]
    assert np.array_equal(by_count.load(every), by_clock.load(every))  # boundaries never change the values


def test_texts_that_overflow_float16_go_to_a_float32_part_of_their_own(tmp_path):
    cache = ActivationCache.open(tmp_path, {"k": 3})
    acts = np.full((2, 3, 4), 1.0001, dtype=np.float32)
    acts[1, 1, 2] = 1e5  # float16 would make it inf
    cache.write_part(["a", "b", "c"], acts, "float16")
    kinds = {}
    for part in cache.parts():
        with np.load(part) as data:
            kinds.update({str(t): data["acts"].dtype for t in data["text_ids"]})
    assert kinds == {"a": np.float16, "b": np.float32, "c": np.float16}
    out = cache.load(["a", "b", "c"])
    assert out[1, 1, 2] == 1e5 and out[0, 1, 0] == np.float32(1.0001)  # b kept exactly
    assert out[0, 0, 0] == np.float32(np.float16(1.0001)) != np.float32(1.0001)  # a rounded alone


def test_cache_load_orders_rows_and_reports_missing(tmp_path):
    cache = ActivationCache.open(tmp_path, {"k": 2})
    cache.write_part(["a", "b"], np.arange(12, dtype=np.float32).reshape(2, 2, 3), "float16")
    cache.write_part(["c"], np.full((2, 1, 3), 7, dtype=np.float32), "float16")
    out = cache.load(["c", "a"])
    assert out.shape == (2, 2, 3) and out.dtype == np.float32
    assert np.allclose(out[:, 0], 7) and np.allclose(out[0, 1], [0, 1, 2])
    with pytest.raises(KeyError):
        cache.load(["zzz"])


def test_different_key_fields_give_different_caches(tmp_path):
    a = ActivationCache.open(tmp_path, {"pooling": "response_mean", "dataset_sha256": "x"})
    b = ActivationCache.open(tmp_path, {"pooling": "last_token", "dataset_sha256": "x"})
    assert a.root != b.root
