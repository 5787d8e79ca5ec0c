"""steering's resume plan: a rerun regenerates only the batches holding an unwritten unit, each with the
members it had in the uninterrupted sweep."""

from __future__ import annotations

import analyses.steering as steering


def _units(layers: list[int], n_prompts: int) -> list[tuple[int, steering.Prompt]]:
    prompts = [steering.Prompt(f"p{i}", "fam", False, f"text {i}", {}, None) for i in range(n_prompts)]
    return [(layer, p) for layer in layers for p in prompts]


def test_a_resumed_sweep_regenerates_only_the_batches_left_with_their_original_members():
    units = _units([3, 7], 5)
    ids = [steering.unit_id(layer, p) for layer, p in units]
    plan = steering.pending_batches(units, set(ids), rows_per_unit=4, batch_rows=8)
    assert [len(b) for b in plan] == [2, 2, 1, 2, 2, 1]  # two units per batch, never across layers
    left = set(ids[3:])  # killed after the first batch and half of the second: p3 of layer 3 onwards
    resumed = steering.pending_batches(units, left, rows_per_unit=4, batch_rows=8)
    assert resumed == plan[1:]  # the half-written batch again, whole, and every later one, unchanged
    assert steering.pending_batches(units, set(), rows_per_unit=4, batch_rows=8) == []
    # planning over the units left alone would regroup them and change the generate calls' members
    assert steering.pending_batches([u for u in units if steering.unit_id(*u) in left], left, 4, 8) != resumed
