"""Sentence embeddings (core/raters/embedding.py): unit vectors, and the per-text cache."""

from __future__ import annotations

import numpy as np
import pytest

from core.raters import embedding

SAME = "I stay with her until the nurse comes."
TEXTS = [SAME, "The forms are filed by noon.", SAME]


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EIA_CACHE", str(tmp_path))
    return tmp_path


def test_vectors_are_unit_and_repeats_agree(fresh_cache):
    v = embedding.embed(TEXTS)
    assert v.shape == (3, embedding.DIM) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(v[0], v[2])
    assert not np.allclose(v[0], v[1])


def test_a_cached_text_is_read_back_without_the_model(fresh_cache, monkeypatch):
    first = embedding.embed(TEXTS[:2])
    assert len(list(fresh_cache.rglob("*.npy"))) == 2

    def no_model():
        raise AssertionError("the model ran for a cached text")

    monkeypatch.setattr(embedding, "_model", no_model)
    np.testing.assert_array_equal(embedding.embed(TEXTS[:2][::-1]), first[::-1])
    assert embedding.embed([]).shape == (0, embedding.DIM)


def test_a_cached_vector_matches_a_fresh_one_up_to_rounding(fresh_cache, tmp_path_factory, monkeypatch):
    cached = embedding.embed(TEXTS[:2])  # computed as a batch of two
    monkeypatch.setenv("EIA_CACHE", str(tmp_path_factory.mktemp("other")))
    alone = np.stack([embedding.embed([t])[0] for t in TEXTS[:2]])  # one at a time, another cache
    np.testing.assert_allclose(cached, alone, atol=1e-6)
