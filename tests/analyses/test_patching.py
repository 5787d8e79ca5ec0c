"""Patching phase pieces: site labels, recovered-fraction guard, summaries, attribution agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyses.causal.common import CueEffect, summarise
from analyses.causal.runs import recovered
from analyses.patching import SPAN, attribution_table, direction_verdict, sites
from core.data.prompts import ChoicePair


def _pair(length: int = 20, span: tuple[int, int] = (8, 12)) -> ChoicePair:
    ids = tuple(range(length))
    return ChoicePair("i", True, ids, ids, span)


def test_sites_label_span_tokens_from_the_cue_end_and_the_final_tokens():
    s = sites(_pair(), max_span=None, n_final=3)
    assert s.span == (8, 9, 10, 11)
    assert s.single == (("span-4", 8), ("span-3", 9), ("span-2", 10), ("span-1", 11), ("last-2", 17),
                        ("last-1", 18), ("last", 19))
    capped = sites(_pair(), max_span=2, n_final=1)
    assert capped.single == (("span-2", 10), ("span-1", 11), ("last", 19))
    assert sites(_pair(13, (8, 12)), None, 3).single[-1] == ("last", 12)  # finals never re-enter the span


def test_recovered_fraction_and_its_guard():
    out = recovered(np.array([0.5, 1.0, 0.3]), np.array([1.0, 1.0, 0.05]), np.array([0.0, 0.0, 0.0]), 0.1)
    assert out[0] == 0.5 and out[1] == 1.0 and np.isnan(out[2])


def _effects() -> pd.DataFrame:
    rows = []
    for i, gap in enumerate([1.0, 2.0, 0.01]):
        for layer, frac in ((0, 0.9), (1, 0.2)):
            rows.append({"instance_id": f"i{i}", "layer": layer, "position": "span-1", "kind": "full",
                         "ld_clean": gap, "ld_corrupt": 0.0, "ld_patched": frac * gap,
                         "delta_ld": frac * gap, "recovered": recovered(np.array([frac * gap]), np.array([gap]),
                                                                         np.array([0.0]), 0.1)[0]})
    return pd.DataFrame(rows)


def test_summary_skips_undefined_fractions_but_pools_every_instance():
    table = summarise(_effects(), ["layer", "kind", "position"], 200, 0, 1000, 0.05).set_index("layer")
    assert table.loc[0, "n"] == 2 and table.loc[0, "n_instances"] == 3
    assert np.isclose(table.loc[0, "mean"], 0.9) and np.isclose(table.loc[0, "pooled"], 0.9)
    assert table.loc[1, "delta_mean"] < table.loc[0, "delta_mean"]


def test_attribution_table_correlates_estimates_with_exact_values():
    eff = _effects()
    more = eff.assign(position="last", recovered=eff.recovered / 2, delta_ld=eff.delta_ld / 2)
    eff = pd.concat([eff, more, eff.assign(position=SPAN, kind="full")], ignore_index=True)
    single = eff[eff.position != SPAN]
    attr = single[["instance_id", "layer", "position"]].assign(
        estimate=single.recovered * 1.1, estimate_delta_ld=single.delta_ld * 0.9)
    attr = pd.concat([attr, attr.assign(layer=7)])  # a layer the exact sweep skipped
    table = attribution_table(attr, eff)
    assert table.n_cells.iloc[0] == 4 and np.isclose(table.spearman.iloc[0], 1.0)
    assert np.isclose(table.spearman_delta_ld.iloc[0], 1.0)
    assert table[table.layer == 7].exact.isna().all()


def _span_effects(n: int, layers: int, shift: float) -> pd.DataFrame:
    """n instances, every layer's full and direction-only span patch moving LD by shift (+ small noise)."""
    rng = np.random.default_rng(0)
    rows = [{"instance_id": f"i{i}", "layer": layer, "position": SPAN, "kind": kind, "ld_clean": 1.0,
             "ld_corrupt": 0.0, "ld_patched": shift + 0.01 * rng.random(), "recovered": np.nan}
            for i in range(n) for layer in range(layers) for kind in ("full", "direction_only", "steering")]
    return pd.DataFrame(rows)


def test_a_layer_is_significant_only_after_holm_across_layers():
    moved = CueEffect(1.0, 0.9, 1.1)
    # 6 instances all moved: exact sign-flip p = 2/64 = 0.031 per layer, but Holm over 6 layers -> 0.19
    few = summarise(_span_effects(6, 6, 0.5), ["layer", "kind", "position"], 100, 0, 10000, 0.05)
    assert np.allclose(few.delta_p, 2 / 64) and np.allclose(few.delta_p_holm, 6 * 2 / 64)
    assert direction_verdict(few, moved, 0.05)["answer"].startswith("undetermined: full patching")
    # 8 instances: p = 2/256, Holm 6 x that = 0.047 < 0.05 at every layer
    many = summarise(_span_effects(8, 6, 0.5), ["layer", "kind", "position"], 100, 0, 10000, 0.05)
    assert np.allclose(many.delta_p_holm, 6 * 2 / 256)
    assert direction_verdict(many, moved, 0.05)["answer"].startswith("partly: the direction alone moves behaviour at "
                                                                        "layers [0, 1, 2, 3, 4, 5]")


def test_no_patching_verdict_while_the_cue_effect_includes_zero():
    many = summarise(_span_effects(8, 6, 0.5), ["layer", "kind", "position"], 100, 0, 10000, 0.05)
    verdict = direction_verdict(many, CueEffect(0.01, -0.02, 0.04), 0.05)
    assert verdict["answer"].startswith("undetermined: the cue does not significantly change behaviour")
    assert "p_holm" in verdict["evidence"]
