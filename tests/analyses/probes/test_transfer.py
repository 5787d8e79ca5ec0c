"""probes_transfer's model -> model rows: another model's cache, of another width and depth, is read at the
matched relative depth and carried through Procrustes; an incomplete cache yields no row."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from scipy.stats import ortho_group

from analyses.probes.frame import Frame
from analyses.probes.transfer import transfer
from core import paths
from core.activations import key_fields
from core.cache import ActivationCache
from core.config import load_params
from core.data import load_dataset
from tests.conftest import ROOT, write_mini_dataset

TINY = ["models.{m}.source=tiny", "models.{m}.hf_id=tiny-{m}", "models.{m}.family=llama"]


def _params(models: list[str]):
    sets = [s.format(m=m) for m in models for s in TINY]
    return load_params(ROOT / "params.yaml", "smoke", [*sets, f"run_models={models}"])


def _planted(ds, n_layers: int, d: int, seed: int) -> np.ndarray:
    """[layers, texts, d]: the empathy label planted along the first axis at every layer, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.array([t.empathic for t in ds.texts], dtype=float)
    acts = rng.normal(size=(n_layers, len(ds.texts), d))
    acts[:, :, 0] += 3.0 * (2 * y - 1)
    return acts


def test_other_models_cache_gives_a_model_to_model_row(in_tmp_outputs):
    ds = load_dataset(write_mini_dataset(in_tmp_outputs / "mini.json", per_family=3), ROOT / "data" / "scenarios.json")
    params = _params(["wide", "narrow"])
    target = _planted(ds, 6, 10, seed=1)  # this run: 6 layers, d = 10
    # the source: 4 layers, d = 8, an isometric image of the target's first 8 axes at every layer
    basis = ortho_group.rvs(8, random_state=2)
    source = np.stack([target[min(5, 2 * i + 1), :, :8] @ basis for i in range(4)])
    other = ActivationCache.open(paths.activations_dir("narrow"), key_fields(params, "narrow", ds))
    other.write_part([t.text_id for t in ds.texts], source, "float32")
    other.mark_complete({"resolved_revision": "random-init"})
    ctx = SimpleNamespace(alias="wide", params=params, dataset=ds)
    frame = Frame.of(ds, "families", 50, 0)
    table = transfer(ctx, target, frame, layer=3)  # type: ignore[arg-type]
    within = table[table.source_model == "wide"]
    assert len(within) == 6 and (within.target_model == "wide").all()
    (row,) = table[table.source_model == "narrow"].itertuples()
    assert row.target_model == "wide" and row.target_layer == 3
    assert row.source_layer == 2  # relative depth (3 + 1) / 6 of 4 layers, less one
    assert row.transfer_auroc > 0.9 and row.mapped_cosine_to_target_probe > 0.9 and row.score_spearman > 0.5


def test_an_incomplete_other_cache_gives_no_row(in_tmp_outputs):
    ds = load_dataset(write_mini_dataset(in_tmp_outputs / "mini.json", per_family=3), ROOT / "data" / "scenarios.json")
    params = _params(["wide", "narrow"])
    ActivationCache.open(paths.activations_dir("narrow"), key_fields(params, "narrow", ds))  # no manifest
    ctx = SimpleNamespace(alias="wide", params=params, dataset=ds)
    table = transfer(ctx, _planted(ds, 3, 6, seed=3), Frame.of(ds, "families", 50, 0), layer=1)  # type: ignore[arg-type]
    assert set(table.source_model) == {"wide"}
