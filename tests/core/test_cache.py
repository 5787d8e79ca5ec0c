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


def test_interrupted_extraction_resumes_without_duplicates(tmp_path, mini_dataset, monkeypatch):
    from core.config import ModelSpec
    from core.models.loader import load_model

    model = load_model("tiny", ModelSpec(source="tiny", hf_id="tiny-llama", family="llama"))
    texts, cfg = _texts(mini_dataset), load_params(ROOT / "params.yaml", overrides=["extract.batch_tokens=600"]).extract
    cache = ActivationCache.open(tmp_path, {"k": 1})
    real, calls = extract_mod.pooled_residuals, {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the user pressed Ctrl-C mid-run
        return real(*args, **kwargs)

    monkeypatch.setattr(extract_mod, "pooled_residuals", flaky)
    with pytest.raises(KeyboardInterrupt):
        extract_mod.extract_into(cache, model, texts, cfg, flush_every=1)
    partial = _all_ids(cache)
    assert 0 < len(partial) < len(texts)
    monkeypatch.setattr(extract_mod, "pooled_residuals", real)
    stats = extract_mod.extract_into(ActivationCache.open(tmp_path, {"k": 1}), model, texts, cfg)
    ids = _all_ids(cache)
    assert stats.n_new == len(texts) - len(partial)
    assert sorted(ids) == sorted(t.text_id for t in texts) and len(ids) == len(set(ids))
    again = extract_mod.extract_into(cache, model, texts, cfg)
    assert again.n_new == 0 and again.tokens == 0


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
