"""NDIF (issue 11, item 14): the traced code runs through nnsight's offline dry run of the remote path
(`remote="local"`: serialise, deserialise with local modules hidden, run here) and gives the local
results; the remote spec needs NDIF_API_KEY and never writes it."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from core.config import ModelSpec, load_params
from core.errors import InputError
from core.models.capture import pooled_embeddings, pooled_residuals
from core.models.continuation import ContinuationScorer, LetterScorer
from core.models.loader import load_model
from core.models.patch import Edit, Row, residual_gradients, run_rows
from core.models.remote import dry_run, ndif_api_key
from core.models.text import collate, encode
from tests.conftest import ROOT

TEXTS = [("What do you do?", "I stop and ask whether she is all right."), ("Next?", "Done. Next delivery.")]


@pytest.fixture(scope="module")
def tiny_llama():
    return load_model("tiny-llama", ModelSpec(source="tiny", hf_id="tiny-llama", family="llama"))


def test_traced_extraction_serialises_and_equals_the_local_run(tiny_llama):
    items = [encode(tiny_llama.tokenizer, p, r, "response_mean", True, 128) for p, r in TEXTS]
    batch = collate(items, tiny_llama.tokenizer.pad_token_id)
    layers = list(range(tiny_llama.n_layers))
    remote = dry_run(tiny_llama)
    assert remote.remote == "local" and tiny_llama.remote is False
    torch.testing.assert_close(pooled_residuals(remote, *batch, layers), pooled_residuals(tiny_llama, *batch, layers),
                               rtol=0, atol=0)
    torch.testing.assert_close(pooled_embeddings(remote, *batch), pooled_embeddings(tiny_llama, *batch), rtol=0, atol=0)


def test_traced_patching_rows_equal_the_hook_path(tiny_llama):
    """Interchanges and shifts at several layers through one serialised trace per batch equal the hook
    path with its prefix cache and skipped blocks (core/models/patch.py)."""
    g = torch.Generator().manual_seed(0)
    ids = tuple(torch.randint(3, len(tiny_llama.tokenizer), (12,), generator=g).tolist())
    d = tiny_llama.d_model
    rows = [Row(ids), Row(ids, (Edit(1, (6, 11), values=torch.randn(2, d, generator=g)),)),
            Row(ids, (Edit(0, (7,), delta=torch.randn(d, generator=g)),
                      Edit(2, (9, 10), delta=torch.randn(2, d, generator=g)))),
            Row(ids, (Edit(2, (11,), values=torch.randn(1, d, generator=g), delta=torch.randn(d, generator=g)),))]
    scored = [replace(r, scored=3) for r in rows]  # the last 3 tokens as an answer continuation
    for batch, scorer in ((rows, LetterScorer((35, 36))), (scored, ContinuationScorer())):
        local = run_rows(tiny_llama, batch, 5, scorer, capture=[1, 2])
        traced = run_rows(dry_run(tiny_llama), batch, 5, scorer, capture=[1, 2])
        torch.testing.assert_close(traced.scores, local.scores, rtol=1e-5, atol=1e-5)
        for layer in (1, 2):
            torch.testing.assert_close(traced.residuals[layer], local.residuals[layer], rtol=1e-5, atol=1e-5)
        assert not torch.allclose(local.scores[0], local.scores[1])  # the edits do change the scores
    with pytest.raises(ValueError, match="attribution"):
        residual_gradients(dry_run(tiny_llama), [Row(ids)], 5, LetterScorer((35, 36)), [1.0], [1])


def test_the_remote_spec_needs_the_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NDIF_API_KEY", raising=False)
    spec = load_params(ROOT / "params.yaml").model("llama3.1-70b-ndif")
    assert spec.remote == "ndif" and spec.hf_id == "meta-llama/Llama-3.1-70B-Instruct"
    with pytest.raises(InputError, match="NDIF_API_KEY"):
        load_model("llama3.1-70b-ndif", spec)
    monkeypatch.setenv("NDIF_API_KEY", "  key-123 ")
    assert ndif_api_key() == "key-123"


def test_loading_the_remote_model_keeps_the_key_in_memory(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """With nnsight's model and the hub tokenizer faked (no network), loading sets the key on nnsight's
    in-memory config, builds no weights (dispatch=False) and writes no nnsight config file."""
    import nnsight
    import transformers

    made = {}

    class FakeWrapper:
        def __init__(self, repo_id, **kwargs):
            made.update(repo_id=repo_id, **kwargs)
            self._module = torch.nn.Linear(1, 1)

    monkeypatch.setattr(nnsight, "TransformersModel", FakeWrapper)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: _FakeTok())
    monkeypatch.setattr(type(nnsight.CONFIG), "save", lambda self: pytest.fail("the API key must never be written"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("NDIF_API_KEY", "key-456")
    spec = load_params(ROOT / "params.yaml").model("llama3.1-70b-ndif")
    model = load_model("llama3.1-70b-ndif", spec)
    assert model.remote is True and made["dispatch"] is False and made["repo_id"] == spec.hf_id
    assert nnsight.CONFIG.API.APIKEY == "key-456" and not any(tmp_path.rglob("*"))


class _FakeTok:
    pad_token, eos_token = None, "</s>"
